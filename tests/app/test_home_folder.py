"""Your own photos without a restart: on a localhost server with no password and no FACECORE_ALLOWED_ROOTS, a
folder in the home folder loads through the folder box and through the page address (in chromium); with a
password set, or the server open to the network (--server.address 0.0.0.0), it does not (AppTest).

The home folder is a temporary one holding hard links to a few shared photos (the same files, not copies and
not symbolic links, which would lead outside the home folder and be refused); the shared dataset setting points
to an empty folder, so the home default is the only way in.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

import pytest
from streamlit import config
from streamlit.testing.v1 import AppTest

from pages._shared import auth as _auth
from tests.app.browser_support import _no_exception, _shot, launch, serve

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app.py"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def home(tmp_path: Path, small_people: list[Path]) -> Path:
    family = tmp_path / "home" / "Pictures" / "family"
    for person in small_people[:2]:
        (family / person.name).mkdir(parents=True)
        for photo in sorted(person.iterdir())[:4]:
            try:
                os.link(photo.resolve(), family / person.name / photo.name)
            except OSError as exc:
                pytest.skip(f"cannot hard-link the shared photos into {tmp_path} ({exc.strerror}): this test needs "
                            "them on the same file system as the temporary folder")  # fmt: skip
    (tmp_path / "shared" / "no-shared-photos").mkdir(parents=True)  # its parent is allowed: not the home's
    return tmp_path / "home"


@pytest.fixture
def home_env(home: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str | None]:
    """The environment of `make app` with no variables set, but this home folder and no shared photos."""
    env = {"HOME": os.fspath(home), "FACECORE_ALLOWED_ROOTS": None,
           "FACECORE_DATASET": os.fspath(home.parent / "shared" / "no-shared-photos"),
           "FACECORE_MODEL_DIR": os.environ.get("FACECORE_MODEL_DIR", os.path.expanduser("~/.cache/facecore"))}
    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    return env


@pytest.mark.browser
def test_a_home_folder_loads_through_the_box_and_the_address(home: Path, home_env, session_cache: Path,
                                                             tmp_path: Path, small_faceset) -> None:  # fmt: skip
    from playwright.sync_api import expect, sync_playwright

    family = home / "Pictures" / "family"
    for url in serve(family, session_cache, tmp_path, env=home_env):
        with sync_playwright() as p:
            browser = launch(p)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                expect.set_options(timeout=120_000)
                page.goto(url)
                expect(page.get_by_text("your home folder").first).to_be_visible()
                box = page.get_by_role("textbox", name="Folder path")
                box.fill(os.fspath(family))
                box.press("Enter")
                page.get_by_role("button", name="Encode this folder").click()
                expect(page.get_by_text("Faces found")).to_be_visible()
                _no_exception(page)
                _shot(page, "home-folder-box")
                other = browser.new_page(viewport={"width": 1400, "height": 900})  # a new session, by address
                other.goto(f"{url}?folder={quote(os.fspath(family))}")
                expect(other.get_by_text("Faces found")).to_be_visible()
                expect(other.get_by_text("outside the allowed folders")).to_have_count(0)
                _no_exception(other)
            finally:
                browser.close()


def _app_with_address(family: Path, address: str) -> AppTest:
    old = config.get_option("server.address")
    config.set_option("server.address", address)
    try:
        at = AppTest.from_file(os.fspath(APP), default_timeout=120)
        at.query_params["folder"] = os.fspath(family)
        return at.run()
    finally:
        config.set_option("server.address", old)


def _refused(at: AppTest) -> bool:
    said = [e.value for e in (*at.error, *at.warning)]
    return any("outside the allowed folders" in s for s in said)


def test_on_localhost_the_address_loads_it_and_open_to_the_network_it_is_refused(home: Path, home_env) -> None:
    family = home / "Pictures" / "family"
    at = _app_with_address(family, "localhost")
    assert not at.exception and not _refused(at)
    assert any("your home folder" in c.value for c in at.caption)
    at = _app_with_address(family, "0.0.0.0")
    assert not at.exception and _refused(at), [e.value for e in (*at.error, *at.warning, *at.caption)]
    assert any("open to the network" in c.value for c in at.caption)


def test_with_a_password_the_home_folder_is_refused(home: Path, home_env) -> None:
    _auth.SESSIONS.reset()
    _auth.SERVER.reset()
    family = home / "Pictures" / "family"
    old = config.get_option("server.address")
    config.set_option("server.address", "localhost")
    try:
        at = AppTest.from_file(os.fspath(APP), default_timeout=120)
        at.secrets["auth"] = {"password": PASSWORD}
        at.query_params["folder"] = os.fspath(family)
        at.run()
        at.text_input(key="auth_password").set_value(PASSWORD)
        at = at.button(key="auth_submit").click().run()
    finally:
        config.set_option("server.address", old)
    assert not at.exception and _refused(at)


def test_the_picker_lists_home_subfolders_with_counts_and_fills_the_folder_box(home: Path, home_env) -> None:
    old = config.get_option("server.address")
    config.set_option("server.address", "localhost")
    try:
        at = AppTest.from_file(os.fspath(APP), default_timeout=120).run()
        assert at.text_input(key="folder_path").value == ""  # no shared photos: nothing prefilled
        at.selectbox(key=f"picker_sub_{home.resolve()}").select_index(0)
        at = at.button(key="picker_open").click().run()  # into Pictures
        pictures = (home / "Pictures").resolve()
        box = at.selectbox(key=f"picker_sub_{pictures}")
        assert box.options == ["family  (8 photos)"]
        at = at.button(key="picker_use").click().run()
    finally:
        config.set_option("server.address", old)
    assert at.text_input(key="folder_path").value == os.fspath(pictures / "family")
    assert not at.exception
