"""The People and Clusters pages' first loads at scale, from a warm cache file, in a real browser.

Usage:
    .venv/bin/python -m bench.first_loads --cache CACHE --key KEY --root DIR [--warm] [--app-dir DIR]

``--warm`` first visits the set as a user would, on a server of its own (the Clusters page until its
similarity map is drawn, which keeps the map, the PCA and K-means fits and starts the set's measurements;
then the People page, which keeps the grouping), and stops that server: the cache file then holds what an
earlier visit leaves. Then, in headless Debian chromium (Playwright), each timed from the address typed
until the page is drawn:

- server 1, started fresh: the Clusters page (until its scatter and "faces in 10 groups" are drawn; ``_whole_s``:
  until the caption above its first gallery is drawn too; ``--open-after S``: opened S seconds after the server
  answers, as a tab reloaded some time after a restart), the same page in ``--sessions - 1`` new sessions (the
  set in memory already; each a new browser profile, its HTTP cache empty; ``--tabs N``: then N new tabs of one
  profile that opened the page once, its cache warm), then the People page in a new session (until "How good is
  this grouping" is drawn);
- server 2, started fresh: the People page first (the set read from the cache file too).

The Clusters page shows every face of the set (``faces=all`` in its address, the Photos page's "every face"
toggle; ``--faces largest``: the largest face of each photo, the pages' default since every face is encoded:
2,338 of the 100,000 imported faces here). ``--app-dir`` runs another checkout's app (e.g. the main branch,
for a before/after on the same file).
Screenshots of each page go to ``--shots``. The load average before and after is part of the output.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from bench.browser_scale import CHROMIUM
from bench.serve import ROOT, Server

#: What a drawn page shows last: the Clusters page's scatter caption and the People page's quality heading.
CLUSTERS_DRAWN, PEOPLE_DRAWN, ON_MAP = "faces in 10 groups", "How good is this grouping", "On this map, faces"
#: A warming visit waits this long at most for the map (t-SNE of 10^5 faces: 2-4 min here) and the grouping.
WARM_TIMEOUT_MS = 1_500_000


def _browser(p):
    return p.chromium.launch(executable_path=CHROMIUM, args=[
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])  # fmt: skip


def _page(browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(600_000)
    return page


#: The faces the Clusters page shows (the address's ``faces``): "all" or "largest"; set by ``--faces``.
FACES = {"faces": "all"}


#: The caption above the Clusters page's first gallery, below its table of groups: the whole page is drawn.
CLUSTERS_WHOLE = "Most typical first"


def _clusters(page, url: str, key: str) -> tuple[float, float]:
    """Seconds from typing the Clusters page's address until its scatter is drawn, and until the whole page is
    (:data:`CLUSTERS_WHOLE`)."""
    t = time.perf_counter()
    page.goto(f"{url}clusters?imported={key}&faces={FACES['faces']}")
    page.get_by_text(CLUSTERS_DRAWN).wait_for()
    page.wait_for_function("() => document.querySelector('.st-key-scatter .js-plotly-plot')")  # as bench.browser_scale
    first = round(time.perf_counter() - t, 2)
    page.get_by_text(CLUSTERS_WHOLE).wait_for(timeout=60_000)
    return first, round(time.perf_counter() - t, 2)


def _people(page, url: str, key: str, timeout_ms: float = 600_000) -> float:
    """Seconds from typing the People page's address until it is drawn down to its quality section."""
    t = time.perf_counter()
    page.goto(f"{url}people?imported={key}")
    page.get_by_text(PEOPLE_DRAWN).first.wait_for(timeout=timeout_ms)
    return round(time.perf_counter() - t, 2)


def _shot(page, path: Path) -> None:
    """The whole page (Streamlit scrolls inside its main block: the viewport grows to hold it first)."""
    page.wait_for_timeout(1500)  # what is drawn below the timed text
    height = page.evaluate("() => Math.max(...Array.from(document.querySelectorAll("
                           "'[data-testid=stMain], [data-testid=stMainBlockContainer]')).map(e => e.scrollHeight))")
    page.set_viewport_size({"width": 1400, "height": max(1000, min(int(height) + 80, 14000))})
    page.wait_for_timeout(1500)  # pictures come after the text
    page.screenshot(path=path, full_page=True)
    page.set_viewport_size({"width": 1400, "height": 1000})


def warm(cache: Path, root: Path, key: str, app_dir: Path) -> dict:
    """An earlier visit: the Clusters page until the map is drawn, then the People page; seconds of each."""
    from playwright.sync_api import sync_playwright

    out = {}
    with Server(cache, root, app_dir=app_dir) as server, sync_playwright() as p:
        browser = _browser(p)
        page = _page(browser)
        t = time.perf_counter()
        out["clusters_s"] = _clusters(page, server.url, key)[0]
        page.get_by_text(ON_MAP).wait_for(timeout=WARM_TIMEOUT_MS)  # the map replaced the PCA axes
        out["map_drawn_s"] = round(time.perf_counter() - t, 1)
        out["people_s"] = _people(page, server.url, key, WARM_TIMEOUT_MS)
        page.wait_for_timeout(30_000)  # the set's background measurements, started by the Clusters page
        browser.close()
    return out


def _tabs(browser, url: str, key: str, count: int) -> list[float]:
    """The Clusters page in ``count`` new tabs of one browser profile (new sessions, the profile's HTTP cache warm
    from a first visit, as in a browser that has opened the app before); seconds to each first drawing."""
    profile = browser.new_context(viewport={"width": 1400, "height": 1000})
    profile.set_default_timeout(600_000)
    seconds = []
    for i in range(count + 1):
        tab = profile.new_page()
        first = _clusters(tab, url, key)[0]
        tab.close()
        if i:  # the profile's first visit fills its cache: not timed
            seconds.append(first)
    profile.close()
    return seconds


def first_loads(cache: Path, root: Path, key: str, app_dir: Path, sessions: int, shots: Path,
                open_after: float = 0.0, tabs: int = 0) -> dict:  # fmt: skip
    """The timed first loads on two fresh servers (see the module's docstring)."""
    from playwright.sync_api import sync_playwright

    out: dict = {"load_before": os.getloadavg()}
    with sync_playwright() as p:
        browser = _browser(p)
        with Server(cache, root, app_dir=app_dir) as server:
            page = _page(browser)
            out["server_ready_s"] = server.ready_s  # from `python app.py` until it answers (the timing starts then)
            time.sleep(open_after)  # a tab reloaded some seconds after a restart (default: at once)
            out["opened_after_s"] = open_after
            out["clusters_fresh_server_s"], out["clusters_fresh_server_whole_s"] = _clusters(page, server.url, key)
            page.wait_for_timeout(3000)  # the captions below the chart, and any rerun the first drawing would cause
            out["clusters_on_map"] = page.get_by_text(ON_MAP).count() > 0
            out["clusters_drawn_caption"] = page.get_by_text("The chart draws").first.inner_text()[:60]
            _shot(page, shots / "clusters.png")
            timed = [_clusters(_page(browser), server.url, key) for _ in range(sessions - 1)]
            out["clusters_new_session_s"] = [first for first, _ in timed]
            out["clusters_new_session_whole_s"] = [whole for _, whole in timed]
            if tabs:
                out["clusters_new_tab_s"] = _tabs(browser, server.url, key, tabs)
            people = _page(browser)
            out["people_new_session_s"] = _people(people, server.url, key)
            people.get_by_role("button", name="All persons (CSV)").wait_for()  # the page's last part, for the picture
            _shot(people, shots / "people.png")
            out["rss_mib"] = server.rss_mib()
        with Server(cache, root, app_dir=app_dir) as server:
            out["people_fresh_server_s"] = _people(_page(browser), server.url, key)
            out["rss_people_only_mib"] = server.rss_mib()
        browser.close()
    out["load_after"] = os.getloadavg()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", required=True, type=Path)
    ap.add_argument("--key", required=True)
    ap.add_argument("--root", required=True, type=Path)
    ap.add_argument("--sessions", type=int, default=2)
    ap.add_argument("--warm", action="store_true", help="visit the set once first, on a server of its own")
    ap.add_argument("--app-dir", type=Path, default=ROOT, help="the checkout whose app.py is served")
    ap.add_argument("--shots", type=Path, default=Path("/tmp/first-loads-shots"))
    ap.add_argument("--faces", choices=("all", "largest"), default="all", help="the Clusters page's faces")
    ap.add_argument("--open-after", type=float, default=0.0,
                    help="seconds between the first server answering and the first visit (a tab reloaded later)")
    ap.add_argument("--tabs", type=int, default=0, help="also time this many new tabs of one browser profile")
    a = ap.parse_args()
    FACES["faces"] = a.faces
    a.shots.mkdir(parents=True, exist_ok=True)
    out = {"app_dir": str(a.app_dir), "faces": a.faces, "started_utc": time.strftime("%H:%M:%S", time.gmtime())}
    if a.warm:
        out["warming_visit"] = warm(a.cache, a.root, a.key, a.app_dir)
        print(json.dumps(out), flush=True)
    out.update(first_loads(a.cache, a.root, a.key, a.app_dir, a.sessions, a.shots, a.open_after, a.tabs))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
