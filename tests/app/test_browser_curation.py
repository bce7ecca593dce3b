"""The Photos page's curation sections in a real browser (Debian's chromium through Playwright): a near-duplicate
group is shown side by side, keeping one of each hides the others and the face count drops; the wrong-folder
suspects show. Screenshots of both sections go to artifacts/screenshots/ (gitignored)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.app.browser_support import (
    SHOTS,
    _images_load,
    _no_exception,
    encode_folder,
    launch,
    serve,
)
from tests.app.test_photos_curation import collection  # noqa: F401  (the fixture)

pytestmark = pytest.mark.browser


@pytest.fixture
def curation_server(collection, tmp_path: Path):  # noqa: F811
    root = collection[0]
    yield from serve(root, Path(os.environ["FACECORE_CACHE"]), tmp_path)


def _section_shot(page, heading: str, name: str) -> None:
    """A screenshot of the section under ``heading``: from it to the next section's heading (a tall viewport,
    so the section is drawn whole)."""
    page.set_viewport_size({"width": 1400, "height": 2400})
    page.wait_for_load_state("networkidle")
    top = page.get_by_role("heading", name=heading)
    top.scroll_into_view_if_needed()
    start = top.bounding_box()["y"] - 10
    below = page.locator("h2").evaluate_all(
        "(hs, y) => hs.map(h => h.getBoundingClientRect().top).filter(t => t > y + 20)", start
    )
    end = min(below) if below else start + 1200
    clip = {"x": 300, "y": start, "width": 1100, "height": end - start}
    page.screenshot(path=os.fspath(SHOTS / f"{name}.png"), clip=clip)
    page.set_viewport_size({"width": 1400, "height": 1000})


def test_keep_one_of_each_group_in_a_real_browser(curation_server: str, collection) -> None:  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    root, copy, original, moved, source = collection
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(60_000)
            expect.set_options(timeout=60_000)
            page.goto(curation_server)
            encode_folder(page, root)
            faces = page.get_by_test_id("stMetricValue").nth(1)
            before = int(faces.inner_text().replace(",", ""))
            # the group: the copy and its original side by side, each a loaded picture
            expect(page.get_by_role("heading", name="Near-duplicate photos")).to_be_visible()
            group = page.get_by_test_id("stVerticalBlock").filter(has_text=copy).filter(has_text=original).last
            expect(group.get_by_test_id("stImageCaption").filter(has_text=original)).to_be_visible()
            expect(group.locator("img")).to_have_count(2)
            assert _images_load(group.locator("img")), "the group's pictures did not load"
            _no_exception(page)
            _section_shot(page, "Near-duplicate photos", "browser-curation-1-duplicates")
            page.get_by_role("button", name="Keep one of each group").click()
            expect(page.get_by_text("Faces in the set:")).to_be_visible()
            expect(faces).to_have_text(f"{before - 1:,}")
            expect(group.get_by_text("hidden").first).to_be_visible()
            _no_exception(page)
            _section_shot(page, "Near-duplicate photos", "browser-curation-2-hidden")
            # the suspects: the moved photo among them
            expect(page.get_by_role("heading", name="Photos that may be filed under the wrong person")).to_be_visible()
            expect(page.get_by_text(moved).first).to_be_visible()
            _no_exception(page)
            _section_shot(page, "Photos that may be filed under the wrong person", "browser-curation-3-suspects")
        finally:
            browser.close()
