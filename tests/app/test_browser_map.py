"""The similarity map in a real browser: the Clusters page opens on the map, hovering a face shows its picture,
file, group and person (the People page's grouping), and one click switches to the article's PCA axes."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

import pytest

import tests.app.browser_support as browser_support
from tests.app.browser_support import ENCODE_TIMEOUT_MS, SHOTS, _no_exception, isolated_point, launch

pytestmark = pytest.mark.browser
server = browser_support.server  # the fixture, found by pytest in this module


def _axis(page) -> dict:
    """The scatter's x axis: its title and whether it shows tick labels."""
    return page.evaluate("""() => { const ax = document.querySelector('.js-plotly-plot')._fullLayout.xaxis;
                                    return {title: (ax.title || {}).text || "", ticks: ax.showticklabels}; }""")


def test_the_map_is_drawn_and_hover_names_the_person(server: str, small_dataset: Path, small_every) -> None:
    from playwright.sync_api import expect, sync_playwright

    from pages._people.cached import people_for
    from pages._shared.views import person_label

    view = small_every.largest()  # the Clusters page's faces: each photo's largest, persons of every face
    grouping, names = people_for(view)
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(ENCODE_TIMEOUT_MS)
            expect.set_options(timeout=120_000)
            page.goto(f"{server}clusters?folder={quote(os.fspath(small_dataset))}")
            expect(page.get_by_text(f"{len(view):,} faces in 10 groups")).to_be_visible(
                timeout=ENCODE_TIMEOUT_MS)  # fmt: skip
            expect(page.get_by_text("Faces that look alike lie together", exact=True)).to_be_visible()
            expect(page.locator(".js-plotly-plot .legendtext", has_text="group 9")).to_have_count(1)
            assert _axis(page) == {"title": "", "ticks": False}  # the map: no units on its axes
            point = isolated_point(page)  # on the map a person's faces lie on top of each other
            face = point["face"]
            tip = page.locator("#facecore-hover-face")
            page.mouse.move(point["x"] - 30, point["y"] - 30)
            page.mouse.move(point["x"], point["y"], steps=5)
            expect(tip).to_be_visible()
            expect(tip).to_contain_text(view.faces[face].name)
            person = int(grouping.labels[face])
            expect(tip).to_contain_text(f"person: {person_label(person, names)}" if person >= 0 else "person: not")
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=os.fspath(SHOTS / "browser-map-hover.png"))
            page.mouse.move(5, 5)

            page.get_by_text("PCA axes, as in the article", exact=True).click()
            expect(page.get_by_text("PC1 and PC2: the two directions")).to_be_visible()
            assert _axis(page)["title"] == "PC1"
            _no_exception(page)
            page.screenshot(path=os.fspath(SHOTS / "browser-map-pca.png"))
        finally:
            browser.close()
