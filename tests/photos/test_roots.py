"""facecore.photos.roots: which folders the app may read, from the server's address, a password and the
environment, and the folder picker's listing of an allowed folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from facecore import AllowedRoots, UnsafeInputError, check_folder, decide_roots, list_subfolders, scan_folder
from facecore.photos.folders import allowed_roots_from_env
from facecore.photos.roots import is_local_address


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    (h / "Pictures" / "family").mkdir(parents=True)
    (h / "Pictures" / "family" / "a.jpg").write_bytes(b"x")
    return h


@pytest.fixture
def shared(tmp_path: Path) -> Path:
    s = tmp_path / "datasets" / "celeba"
    s.mkdir(parents=True)
    return s


def test_localhost_without_password_allows_home_and_the_shared_set(home: Path, shared: Path) -> None:
    for address in ("localhost", "127.0.0.1", "::1"):
        got = decide_roots(address, False, None, home, shared)
        assert got.roots == (home.resolve(), shared.parent.resolve()) and got.home, address
        assert check_folder(home / "Pictures" / "family", got.roots) == (home / "Pictures" / "family").resolve()


def test_an_exposed_server_or_a_password_allows_only_configured_folders(home: Path, shared: Path) -> None:
    for address, password in (("0.0.0.0", False), ("192.168.1.5", False), ("", False), ("localhost", True)):
        got = decide_roots(address, password, None, home, shared)
        assert got.roots == (shared.parent.resolve(),) and not got.home, (address, password)
        with pytest.raises(UnsafeInputError, match="outside the allowed folders"):
            check_folder(home / "Pictures" / "family", got.roots)
    assert "password" in decide_roots("localhost", True, None, home, shared).why
    assert "0.0.0.0" in decide_roots("0.0.0.0", False, None, home, shared).why


def test_configured_roots_replace_the_home_default_and_an_empty_value_closes_it(
    home: Path, shared: Path, tmp_path: Path
) -> None:
    other = tmp_path / "photos"
    other.mkdir()
    for address in ("localhost", "0.0.0.0"):
        got = decide_roots(address, False, f"{other}{os.pathsep}{other}/../photos", home, shared)
        assert got.roots == (other.resolve(), shared.parent.resolve()) and not got.home
        closed = decide_roots(address, False, "", home, shared)
        assert closed.roots == (shared.parent.resolve(),) and "empty" in closed.why


def test_no_server_address_keeps_the_command_lines_rule(home: Path, shared: Path) -> None:
    assert decide_roots(None, False, None, home, shared).roots == (shared.parent.resolve(),)
    assert decide_roots("localhost", False, None, home, None) == AllowedRoots((home.resolve(),), True,
                                                                           decide_roots("localhost", False, None,
                                                                                        home, None).why)
    assert not is_local_address(None) and not is_local_address("0.0.0.0") and is_local_address("LOCALHOST")


def test_the_environment_is_read(monkeypatch: pytest.MonkeyPatch, home: Path, shared: Path) -> None:
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("FACECORE_DATASET", str(shared))
    monkeypatch.delenv("FACECORE_ALLOWED_ROOTS", raising=False)
    assert allowed_roots_from_env("localhost") == [home.resolve(), shared.parent.resolve()]
    assert allowed_roots_from_env() == [shared.parent.resolve()]  # the CLI: as before
    monkeypatch.setenv("FACECORE_ALLOWED_ROOTS", "")
    assert allowed_roots_from_env("localhost") == [shared.parent.resolve()]


def test_a_link_inside_home_that_leads_outside_is_refused(home: Path, shared: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.jpg").write_bytes(b"x")
    (home / "escape").symlink_to(outside)
    (home / "Pictures" / "family" / "leak.jpg").symlink_to(outside / "secret.jpg")
    roots = decide_roots("localhost", False, None, home, shared).roots
    with pytest.raises(UnsafeInputError, match="outside the allowed folders"):
        check_folder(home / "escape", roots)
    images, skipped = scan_folder(home / "Pictures" / "family", roots)
    assert [i.name for i in images] == ["a.jpg"]
    assert [(s.path, s.reason) for s in skipped] == [("leak.jpg", "outside allowed folders")]


def test_a_home_that_is_itself_a_link_still_holds_its_folders(tmp_path: Path, home: Path) -> None:
    link = tmp_path / "home-link"
    link.symlink_to(home)
    roots = decide_roots("localhost", False, None, link, None).roots
    assert check_folder(link / "Pictures", roots) == (home / "Pictures").resolve()


def test_the_picker_lists_visible_subfolders_with_capped_photo_counts(home: Path, tmp_path: Path) -> None:
    pics = home / "Pictures"
    (pics / "holiday" / "day1").mkdir(parents=True)
    for i in range(7):
        (pics / "holiday" / "day1" / f"{i}.png").write_bytes(b"x")
    (pics / "holiday" / "notes.txt").write_text("not a photo")
    (pics / ".hidden").mkdir()
    (pics / "empty").mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (pics / "linked").symlink_to(outside)
    subs = list_subfolders(pics)
    assert [(s.path.name, s.photos, s.capped) for s in subs] == [
        ("empty", 0, False), ("family", 1, False), ("holiday", 7, False)]  # fmt: skip
    capped = {s.path.name: (s.photos, s.capped) for s in list_subfolders(pics, cap=5)}
    assert capped["holiday"] == (5, True)
    timed_out = list_subfolders(pics, time_limit_s=0.0)
    assert all(s.capped for s in timed_out) and [s.path.name for s in timed_out] == ["empty", "family", "holiday"]
