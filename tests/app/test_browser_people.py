"""The People page in a real browser: load the six people's folder, name a person, merge two, reload.

`streamlit run app.py` driven by Debian's chromium through Playwright, on a
copy of the test session's cache (so the corrections made here stay here).
After the reload (a new session) the folder comes back from the page
address and the name from the cache file. Screenshots go to
artifacts/screenshots/ (gitignored).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from facecore import EncodingStore
from facecore.people.corrections import load_corrections
from facecore.people.grouping import group_faceset
from facecore.people.names import name_persons
from facecore.storage.person_facts import list_corrections
from tests.app.browser_support import CHROMIUM, ENCODE_TIMEOUT_MS, _images_load, _no_exception, _shot, serve

pytestmark = pytest.mark.browser

NAME = "Ada Lovelace"


@pytest.fixture
def people_cache(session_cache: Path, small_faceset, tmp_path: Path) -> Path:
    """A copy of the session's cache (the six people's encodings and crops), without corrections."""
    path = tmp_path / "people.sqlite"
    with sqlite3.connect(session_cache) as src, sqlite3.connect(path) as dst:
        src.backup(dst)
    return path


@pytest.fixture
def server(small_dataset: Path, people_cache: Path, tmp_path: Path) -> Iterator[str]:
    yield from serve(small_dataset, people_cache, tmp_path)


def _drawn(page) -> None:
    """Wait until the page is drawn to its end: the export button below the quality chart, and no spinner."""
    from playwright.sync_api import expect

    expect(page.get_by_role("button", name="All persons (CSV)")).to_be_visible()
    expect(page.locator(".js-plotly-plot")).to_have_count(1)
    expect(page.get_by_test_id("stSpinner")).to_have_count(0)
    _no_exception(page)


def _metric(page, label: str):
    """The value of the metric labelled exactly ``label``."""
    named = page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True)
    return page.get_by_test_id("stMetric").filter(has=named).get_by_test_id("stMetricValue")


def test_name_and_merge_persons_then_reload(server: str, small_dataset: Path, small_faceset, people_cache) -> None:
    from playwright.sync_api import expect, sync_playwright

    before = group_faceset(small_faceset)
    sizes = before.sizes
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=os.fspath(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            outside: list[str] = []
            local = (server, "data:", "blob:")
            page.on("request", lambda r: None if r.url.startswith(local) else outside.append(r.url))
            page.set_default_timeout(60_000)
            expect.set_options(timeout=60_000)
            page.goto(server)

            # --- load the folder (from the cache: no encoding), then open People
            box = page.get_by_role("textbox", name="Folder path")
            box.fill(os.fspath(small_dataset))
            box.press("Enter")
            page.get_by_role("button", name="Encode this folder").click()
            expect(page.get_by_text("Faces found")).to_be_visible(timeout=ENCODE_TIMEOUT_MS)
            page.get_by_role("link", name="People").first.click()
            expect(page.get_by_text("Persons, largest first")).to_be_visible()
            expect(_metric(page, "Persons")).to_have_text(str(before.n_persons))
            gallery = page.get_by_test_id("stImage").locator("img")
            assert _images_load(gallery), "a face picture did not load"
            expect(page.get_by_text(f"Person 1 · {sizes[0]}", exact=True)).to_be_visible()
            _drawn(page)
            _shot(page, "people-1-persons")

            # --- name Person 1
            name = page.get_by_role("textbox", name="Name")
            name.fill(NAME)
            name.press("Enter")
            page.get_by_role("button", name="Save the name").click()
            expect(page.get_by_text("Saved: named a person")).to_be_visible()
            expect(page.get_by_text(f"{NAME} · {sizes[0]}", exact=True)).to_be_visible()  # the gallery caption

            # --- merge Person 2 into it
            page.get_by_role("tab", name="Merge").click()
            others = page.get_by_role("combobox", name="The same person as")
            others.click()
            others.fill("Person 2")
            page.get_by_role("option", name=f"Person 2 · {sizes[1]} faces", exact=True).click()
            page.keyboard.press("Escape")
            expect(page.get_by_role("button", name="Merge into one person")).to_be_enabled()
            page.get_by_role("button", name="Merge into one person").click()
            expect(page.get_by_text("Saved: merged 2 persons")).to_be_visible()
            expect(_metric(page, "Persons")).to_have_text(str(before.n_persons - 1))
            merged = sizes[0] + sizes[1]
            expect(page.get_by_text(f"{NAME} · {merged}", exact=True)).to_be_visible()
            expect(page.get_by_role("button", name="Undo: merged 2 persons")).to_be_visible()
            expect(page.get_by_role("combobox", name="The same person as")).to_have_value("")  # picks cleared
            expect(page.get_by_role("button", name="Merge into one person")).to_be_disabled()
            _drawn(page)
            _shot(page, "people-2-named-and-merged")

            # --- a reload is a new session: the folder comes back from the address, the name from the cache
            assert "folder=" in page.url and "/people" in page.url, page.url
            page.reload()
            expect(page.get_by_text(f"{NAME} · {merged}", exact=True)).to_be_visible()
            expect(page.get_by_role("combobox", name="Person")).to_have_value(f"{NAME} · {merged} faces")
            expect(_metric(page, "Persons")).to_have_text(str(before.n_persons - 1))
            assert _images_load(page.get_by_test_id("stImage").locator("img"))
            _drawn(page)
            _shot(page, "people-3-after-reload")
            assert outside == [], f"the page fetched from outside this server: {outside[:5]}"
        finally:
            browser.close()

    # what the browser showed is what the cache file holds
    store = EncodingStore(people_cache)
    assert [a.kind for a in list_corrections(store, small_faceset.settings_key)] == ["merge", "name"]
    c = load_corrections(store, small_faceset)
    after = group_faceset(small_faceset, constraints=c)
    assert name_persons(after, c.names)[0] == NAME and after.sizes[0] == merged
