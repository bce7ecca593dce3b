"""The first visit after the server starts: no "Page not found", no program files in the menu, for any page.

Streamlit runs a new server's first session in its old pages/ folder mode, where every file of pages/ is a
page and a mistyped address shows "Page not found" before app.py runs; `python app.py` (what `make app` and these
tests run) starts the server with that mode off, and the app draws its own menu and each page its own frame, so
the first visit looks like every other one. A script injected before the page loads records every text and menu
entry the browser ever shows, so even a notice that flashes for a moment is caught. Each test starts its own
fresh server.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.app.browser_support import launch, serve

pytestmark = pytest.mark.browser

MENU = {"Photos", "Clusters", "Similar faces", "People"}

_RECORDER = r"""
window.__seen = { notFound: false, menu: new Set(), texts: 0 };
new MutationObserver(() => {
  const body = document.body;
  if (!body) return;
  if (/page not found/i.test(body.innerText || "")) window.__seen.notFound = true;
  for (const a of document.querySelectorAll('[data-testid=stSidebar] a')) {
    const parts = (a.innerText || "").split("\n").map((t) => t.trim()).filter(Boolean);
    if (parts.length) window.__seen.menu.add(parts[parts.length - 1]);  // the label, after the icon's name
  }
}).observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
"""


@pytest.fixture
def fresh_server(small_dataset: Path, session_cache: Path, tmp_path: Path):
    yield from serve(small_dataset, session_cache, tmp_path)


@pytest.mark.parametrize("address", ["clusters?folder={folder}&k=6", "similar", "", "dataset", "no-such-page"])
def test_the_first_visit_after_a_start_shows_the_page_and_nothing_else(
    fresh_server: str, small_dataset: Path, address: str
) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.add_init_script(_RECORDER)
            expect.set_options(timeout=90_000)
            page.goto(fresh_server + address.format(folder=os.fspath(small_dataset)))
            heading = {"clusters": "Groups of look-alike faces", "similar": "Similar faces"}
            main = page.get_by_test_id("stMain")
            title = heading.get(address.split("?")[0], "Photos")  # an old or mistyped address opens Photos
            expect(main.get_by_role("heading", name=title, exact=True)).to_be_visible()
            if address.startswith("clusters"):
                expect(page.get_by_text("faces in 6 groups")).to_be_visible()  # the folder came from the address
            page.wait_for_timeout(1500)  # a late notice would show by now
            seen = page.evaluate("() => ({notFound: window.__seen.notFound, menu: [...window.__seen.menu]})")
            assert not seen["notFound"], "a 'Page not found' notice was shown"
            assert set(seen["menu"]) <= MENU, f"the menu showed {sorted(seen['menu'])}"  # never a program file
            sidebar = page.get_by_test_id("stSidebar")
            expect(sidebar.get_by_role("link", name="People")).to_be_visible()
            shown = {a.inner_text().split("\n")[-1].strip() for a in sidebar.locator("a").all()}
            assert shown == MENU, f"the menu shows {sorted(shown)}"
            assert page.locator("[data-testid=stException]").count() == 0
        finally:
            browser.close()


def test_old_and_mistyped_addresses_land_on_the_photos_page(fresh_server: str) -> None:
    """/dataset was the Photos page's address; it and a mistyped one open the Photos page, with no "Page not
    found", in sessions after the server's first (whose old pages/ folder mode would hide the problem)."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        try:
            expect.set_options(timeout=90_000)
            first = browser.new_page(viewport={"width": 1400, "height": 900})
            first.goto(fresh_server)
            expect(first.get_by_test_id("stMain").get_by_role("heading", name="Photos", exact=True)).to_be_visible()
            for address in ("dataset", "dataset?k=6", "no-such-page"):
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                page.add_init_script(_RECORDER)
                page.goto(fresh_server + address)
                main = page.get_by_test_id("stMain")
                expect(main.get_by_role("heading", name="Photos", exact=True)).to_be_visible()
                page.wait_for_timeout(1500)  # a late notice would show by now
                assert not page.evaluate("() => window.__seen.notFound"), f"/{address}: 'Page not found' shown"
                assert page.locator("[data-testid=stException]").count() == 0
                page.close()
        finally:
            browser.close()
