"""A group photo uploaded as the query in a real browser: its faces boxed and numbered on the Similar faces page,
face 2 picked (screenshot in artifacts/screenshots/, not blurred: artifacts are not published)."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

import pytest

import tests.app.browser_support as browser_support
from tests.app.browser_support import ENCODE_TIMEOUT_MS, _images_load, _no_exception, _shot, launch
from tests.app.group_support import GROUP_PEOPLE, compose

pytestmark = pytest.mark.browser
server = browser_support.server  # the fixture, found by pytest in this module


def test_a_group_photo_is_boxed_numbered_and_face_2_searched(server: str, small_dataset: Path, small_faceset,
                                                              tmp_path: Path) -> None:  # fmt: skip
    from playwright.sync_api import expect, sync_playwright

    sources = {}
    for face in small_faceset.faces:
        if face.person in GROUP_PEOPLE and face.person not in sources:
            sources[face.person] = (face.person, small_dataset / face.name, face.box)
    compose(list(sources.values()), tmp_path / "group.jpg")
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.set_default_timeout(120_000)
            expect.set_options(timeout=120_000)
            page.goto(f"{server}similar?folder={quote(os.fspath(small_dataset))}")
            expect(page.get_by_text("shortcut cost").first).to_be_visible(timeout=ENCODE_TIMEOUT_MS)
            page.get_by_text("A new photo").click()
            page.locator("[data-testid=stFileUploader] input[type=file]").set_input_files(tmp_path / "group.jpg")
            expect(page.get_by_text("4 faces found; the one searched with in orange")).to_be_visible()
            picker = page.locator("[data-testid=stRadio]").filter(has_text="Face to search with")
            expect(picker.get_by_role("radio")).to_have_count(4)
            expect(picker.get_by_role("radio").nth(0)).to_be_checked()  # the largest by default
            picker.get_by_text("2", exact=True).click()
            expect(picker.get_by_role("radio").nth(1)).to_be_checked()
            expect(page.get_by_text("shortcut cost").first).to_be_visible()
            page.wait_for_load_state("networkidle")
            photo = page.locator("[data-testid=stMain] img")
            assert _images_load(photo)
            widths = photo.evaluate_all("imgs => imgs.map(i => i.naturalWidth)")
            assert max(widths) >= 400  # the numbered group photo, beside the 150 px face crop
            _no_exception(page)
            _shot(page, "browser-similar-group-photo")
        finally:
            browser.close()
