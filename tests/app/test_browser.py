"""One real-browser run: `streamlit run app.py` driven by Debian's chromium through Playwright.

Loads the six-person folder by typing its path, waits for the encoding,
moves the K slider with the keyboard, hovers a face in the scatter (its picture
shows beside the mouse), clicks it, and checks
that the Similar faces page shows cluster mates as images; then reloads the
page and checks the folder comes back. Screenshots of each
page go to artifacts/screenshots/ (gitignored).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

import tests.app.browser_support as browser_support
from facecore import fit_model
from tests.app.browser_support import (
    ENCODE_TIMEOUT_MS,
    SHOTS,
    _no_exception,
    _shot,
    isolated_point,
    launch,
    requests_outside,
)

pytestmark = pytest.mark.browser
server = browser_support.server  # the fixture, found by pytest in this module


def test_load_cluster_and_search_in_a_real_browser(server: str, small_dataset: Path, small_every) -> None:
    from playwright.sync_api import expect, sync_playwright

    view = small_every.largest()  # every face is encoded; the Clusters and Similar pages use each photo's largest

    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            outside = requests_outside(page, server)  # "processing is local"
            page.set_default_timeout(60_000)
            expect.set_options(timeout=60_000)  # two shared cores: a rerun can take seconds
            page.goto(server)

            # --- Dataset: type the folder, encode, wait for the summary
            encode = page.get_by_role("button", name="Encode this folder")
            expect(encode).to_be_visible()
            expect(page.get_by_text("No photos loaded yet").first).to_be_visible()
            _shot(page, "browser-1-dataset-empty")
            box = page.get_by_role("textbox", name="Folder path")
            box.fill(os.fspath(small_dataset))
            box.press("Enter")
            encode.click()
            expect(page.get_by_text("Faces found")).to_be_visible(timeout=ENCODE_TIMEOUT_MS)
            expect(page.get_by_test_id("stMetricValue").nth(1)).to_have_text(f"{len(small_every):,}")  # faces
            expect(page.locator("[data-testid=stImage] img")).to_have_count(min(60, len(small_every)))
            _no_exception(page)
            _shot(page, "browser-2-dataset-loaded")

            # --- Clusters: move K with the keyboard, click a face in the scatter
            page.get_by_role("link", name="Clusters").first.click()
            expect(page.get_by_text(f"{len(view):,} faces in 10 groups")).to_be_visible()
            k_slider = page.get_by_role("slider", name="Number of groups")
            k_slider.focus()
            k_slider.press("ArrowRight")
            k_slider.press("ArrowRight")
            expect(page.get_by_text(f"{len(view):,} faces in 12 groups")).to_be_visible()
            expect(page.locator(".js-plotly-plot .legendtext", has_text="group 11")).to_have_count(1)
            point = isolated_point(page)
            # hovering a point shows that face's picture and name beside the mouse
            hovered = view.faces[point["face"]]
            tip = page.locator("#facecore-hover-face")
            page.mouse.move(point["x"] - 30, point["y"] - 30)
            page.mouse.move(point["x"], point["y"], steps=5)
            expect(tip).to_be_visible()
            expect(tip).to_contain_text(hovered.name)
            expect(tip).to_contain_text("group")
            expect(tip).to_contain_text("person: ")  # the People page's grouping, on a set this small
            shown = tip.locator("img").evaluate(
                "i => i.complete && i.naturalWidth > 0 && i.src.startsWith('data:image/jpeg;base64,')"
            )
            assert shown, "the hovered face's picture did not load"
            # the viewport only: resizing the page would make Plotly redraw under the mouse
            page.screenshot(path=os.fspath(SHOTS / "browser-3a-hover.png"))
            page.mouse.click(point["x"], point["y"])
            query = point["face"]
            expect(page.get_by_role("link", name="Find similar faces")).to_be_visible()
            page.mouse.move(5, 5)  # leaving the point hides its picture
            expect(tip).to_be_hidden()
            point = isolated_point(page)  # the chart was redrawn with the query's star
            page.mouse.move(point["x"] - 30, point["y"] - 30)
            page.mouse.move(point["x"], point["y"], steps=5)
            expect(tip).to_be_visible()  # and coming back shows it again, on the redrawn chart
            page.mouse.move(5, 5)
            _no_exception(page)
            _shot(page, "browser-3-clusters")

            # --- Similar faces: the clicked face is the query; cluster mates appear as images
            page.get_by_role("link", name="Find similar faces").click()
            expect(page.get_by_text("shortcut cost")).to_be_visible()
            expect(page.get_by_text("K = 12 groups")).to_be_visible()
            clicked = view.faces[query].name
            expect(page.get_by_role("combobox", name="Face")).to_have_value(clicked)
            mates = page.get_by_test_id("stColumn").filter(has_text="Group mates")
            expect(mates.get_by_test_id("stDataFrame")).to_be_visible()
            # the table is drawn on a canvas; its cells are also in the page for screen readers
            pictures = mates.locator('[role=gridcell][aria-colindex="1"]')
            expect(pictures.first).to_have_text(re.compile(r"^data:image/jpeg;base64,"))
            assert pictures.count() >= 5
            expect(page.get_by_text("Exact ranking over all faces", exact=True)).to_be_visible()
            expect(page.get_by_text("Same person?", exact=True)).to_be_visible()
            _no_exception(page)
            _shot(page, "browser-4-similar")

            # --- pick another query by typing its name in the select box
            # a face of another person in a group of at least five (K = 12 on 103 faces leaves groups of one)
            labels = fit_model(view.encodings, 20, 12, seed=0).labels
            sizes = np.bincount(labels)
            other = next(f for f, g in zip(view.faces, labels, strict=True)
                         if f.person != view.faces[query].person and sizes[g] >= 5)  # fmt: skip
            face_box = page.get_by_role("combobox", name="Face")
            face_box.click()
            face_box.fill(other.name)
            page.get_by_role("option", name=other.name, exact=True).click()
            expect(face_box).to_have_value(other.name)
            files = mates.locator('[role=gridcell][aria-colindex="5"]')  # the nearest is usually the same person
            expect(files.first).to_have_text(re.compile(rf"^{re.escape(other.person)}/"))
            _no_exception(page)

            # --- a click on a result row makes that face the query
            exact = page.get_by_test_id("stColumn").filter(has_text="Exact ranking over all faces")
            first_hit = exact.locator('[role=gridcell][aria-colindex="5"]').first.text_content()
            exact.get_by_test_id("stDataFrame").scroll_into_view_if_needed()
            grid = exact.get_by_test_id("stDataFrame").bounding_box()
            page.mouse.click(grid["x"] + 14, grid["y"] + 36 + 32)  # the first row's selection box
            expect(face_box).to_have_value(first_hit)
            _no_exception(page)

            # --- a reload is a new session: the folder named in the address comes back from the cache
            assert "folder=" in page.url, page.url
            page.reload()
            expect(page.get_by_text("shortcut cost")).to_be_visible()
            expect(page.get_by_text("No photos loaded yet")).to_have_count(0)
            assert "folder=" in page.url, page.url
            _no_exception(page)
            _shot(page, "browser-5-after-reload")
            assert outside == [], f"the page fetched from outside this server: {outside[:5]}"
        finally:
            browser.close()
