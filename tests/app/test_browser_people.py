"""The People page in a real browser: load the six people's folder, name a person, move one of its faces out,
merge another person into it, undo the merge, reload; the ids and names are checked at each step.

`streamlit run app.py` driven by Debian's chromium through Playwright, on a
copy of the test session's cache (so the corrections made here stay here).
After the reload (a new session) the folder comes back from the page
address and the names from the cache file. Screenshots go to
artifacts/screenshots/ (gitignored).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from facecore import EncodingStore, typical_first
from facecore.people.identities import persons_for
from facecore.storage.person_facts import list_corrections
from tests.app.browser_support import (
    _images_load,
    _no_exception,
    _shot,
    encode_folder,
    launch,
    requests_outside,
    serve,
)

pytestmark = pytest.mark.browser

NAME = "Ada Lovelace"


def lists(persons) -> dict[int, frozenset[int]]:
    """Each person's id -> its face rows."""
    fid = persons.face_ids()
    return {int(i): frozenset(np.flatnonzero(fid == i).tolist()) for i in persons.ids}


@pytest.fixture
def people_cache(session_cache: Path, small_every, tmp_path: Path) -> Path:
    """A copy of the session's cache (the six people's encodings and crops, every face), without corrections."""
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


def _caption(page, text: str):
    """A gallery picture's caption (a paragraph), exactly ``text``: not a picker's chip of the same words."""
    return page.locator("p", has_text=re.compile(rf"^{re.escape(text)}$"))


def test_name_move_out_merge_undo_then_reload(server: str, small_dataset: Path, small_every, people_cache) -> None:
    from playwright.sync_api import expect, sync_playwright

    fs = small_every  # the People page groups every face
    before = persons_for(EncodingStore(people_cache), fs)  # what the page will find: the same file, the same ids
    start = lists(before)
    n, s1, s2 = before.n_persons, len(start[1]), len(start[2])
    labels = before.grouping.labels
    order = typical_first(fs.encodings, labels)
    moved = int(order[labels[order] == 0][1])  # face number 2 of Person 1 (most typical first)
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            outside = requests_outside(page, server)  # "processing is local"
            page.set_default_timeout(60_000)
            expect.set_options(timeout=60_000)
            page.goto(server)

            # --- load the folder (from the cache: no encoding), then open People
            encode_folder(page, small_dataset)
            page.get_by_role("link", name="People").first.click()
            expect(page.get_by_text("Persons, largest first")).to_be_visible()
            expect(_metric(page, "Persons")).to_have_text(str(n))
            assert _images_load(page.get_by_test_id("stImage").locator("img")), "a face picture did not load"
            expect(_caption(page, f"Person 1 · {s1}")).to_be_visible()
            expect(_caption(page, f"Person 2 · {s2}")).to_be_visible()
            _drawn(page)
            _shot(page, "people-1-persons")

            # --- name Person 1
            name = page.get_by_role("textbox", name="Name")
            name.fill(NAME)
            name.press("Enter")
            page.get_by_role("button", name="Save the name").click()
            expect(page.get_by_text(f"Saved: named Person 1 '{NAME}'")).to_be_visible()
            expect(_caption(page, f"{NAME} · {s1}")).to_be_visible()  # the gallery caption
            expect(page.get_by_role("combobox", name="Person")).to_have_value(f"{NAME} · Person 1 · {s1} faces")

            # --- move its face number 2 out: "Nobody: not this person (unsorted)"
            page.get_by_role("tab", name="Move faces").click()
            page.get_by_role("combobox", name="Faces (numbers as in the pictures above)").click()
            page.get_by_role("option", name=re.compile(r"^2 · ")).click()
            page.keyboard.press("Escape")
            target = page.get_by_role("combobox", name="Move them to")
            target.click()
            target.fill("Nobody")
            page.get_by_role("option", name="Nobody: not this person (unsorted)").click()
            page.get_by_role("button", name="Move", exact=True).click()
            expect(page.get_by_text("Saved: moved 1 face(s) to nobody (unsorted)")).to_be_visible()
            expect(_metric(page, "Persons")).to_have_text(str(n))  # no new person
            expect(_metric(page, "Unsorted faces")).to_have_text(str(len(before.grouping.unsorted) + 1))
            expect(_caption(page, f"{NAME} · {s1 - 1}")).to_be_visible()
            expect(_caption(page, f"Person 2 · {s2}")).to_be_visible()
            expect(page.get_by_role("combobox", name="Person")).to_have_value(f"{NAME} · Person 1 · {s1 - 1} faces")

            # --- merge Person 2 into it: typed as written, "Person 2" finds Person 2 (not Person 12)
            page.get_by_role("tab", name="Merge").click()
            others = page.get_by_role("combobox", name="The same person as")
            others.click()
            others.fill("Person 2")
            page.get_by_role("option", name=f"Person 2 · {s2} faces", exact=True).click()
            page.keyboard.press("Escape")
            expect(_caption(page, f"Person 2 · {s2} faces")).to_be_visible()  # its typical face beside the picker
            page.get_by_role("button", name="Merge into one person").click()
            expect(page.get_by_text("Saved: merged Person 2 into Person 1")).to_be_visible()
            expect(_metric(page, "Persons")).to_have_text(str(n - 1))
            expect(_caption(page, f"{NAME} · {s1 - 1 + s2}")).to_be_visible()
            expect(page.get_by_role("combobox", name="The same person as")).to_have_value("")  # picks cleared
            _drawn(page)
            _shot(page, "people-2-named-moved-merged")

            # --- undo the merge: Person 2 is back with its own id and faces; the name and the move stay
            page.get_by_role("button", name="Undo: merged Person 2 into Person 1").click()
            expect(page.get_by_text("Undone: merged Person 2 into Person 1")).to_be_visible()
            expect(_metric(page, "Persons")).to_have_text(str(n))
            expect(_caption(page, f"Person 2 · {s2}")).to_be_visible()
            expect(_caption(page, f"{NAME} · {s1 - 1}")).to_be_visible()

            # --- a reload is a new session: the folder comes back from the address, ids and names from the cache
            assert "folder=" in page.url and "/people" in page.url, page.url
            page.reload()
            expect(_caption(page, f"{NAME} · {s1 - 1}")).to_be_visible()
            expect(_caption(page, f"Person 2 · {s2}")).to_be_visible()
            largest = f"Person 2 · {s2} faces" if s2 > s1 - 1 else f"{NAME} · Person 1 · {s1 - 1} faces"
            expect(page.get_by_role("combobox", name="Person")).to_have_value(largest)  # a new session: the largest
            expect(_metric(page, "Persons")).to_have_text(str(n))
            assert _images_load(page.get_by_test_id("stImage").locator("img"))
            _drawn(page)
            _shot(page, "people-3-after-reload")
            assert outside == [], f"the page fetched from outside this server: {outside[:5]}"
        finally:
            browser.close()

    # what the browser showed is what the cache file holds
    store = EncodingStore(people_cache)
    assert [a.kind for a in list_corrections(store, fs.settings_key)] == ["not_person", "name"]
    after = persons_for(store, fs)
    assert after.label(after.index(1)) == NAME and moved in after.grouping.unsorted
    assert lists(after) == {**start, 1: start[1] - {moved}}  # nothing else moved, every id kept
