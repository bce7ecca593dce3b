"""The app at scale, measured in a real browser: load, slider move, hover picture, query, People, the grid.

Usage:
    .venv/bin/python -m facecore import FILE.npz --root DIR --cache CACHE      # e.g. bench/scale.py's 100k file
    .venv/bin/python -m bench.browser_scale --cache CACHE --key KEY --root DIR [--sessions 3] [--json]

Starts the app on a free localhost port with CACHE and DIR as the only allowed
folder, opens the imported set KEY in headless Debian chromium (Playwright),
and times what a user waits for, in the page itself (performance.now()):
the Clusters page's first drawing, a move of the number of groups until the
scatter is redrawn, the face picture after the mouse rests on a point, a
click to the Similar page's results and a change of query, the People page
and its strictness slider, the Photos page's second grid page. Then it opens
more sessions on the same set and reads the server's resident memory. The Clusters and Similar
pages show every face of the set (``--faces largest``: the largest face of each photo, their default
since every face is encoded).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

from bench.serve import Server

CHROMIUM = "/usr/bin/chromium"

# A move of the number of groups redraws the scatter with one more group in its legend; at 10^5 points Streamlit
# mounts a new Plotly element for it (a listener on the old one never hears the new drawing), so the wait is on
# the page's text and the legend of whatever chart is there now.
_WAIT_TEXT = """async ([text, legend]) => { const t0 = performance.now(); let drawn = legend ? 0 : t0;
  while (performance.now() - t0 < 120000) {
    if (!drawn && [...document.querySelectorAll('.st-key-scatter .legendtext')]
        .some(e => (e.textContent || '').startsWith(legend))) drawn = performance.now();
    if (drawn && (document.body.innerText || '').includes(text)) return [drawn, performance.now()];
    await new Promise(r => setTimeout(r, 10)); }
  return [-1, -1]; }"""

# A point of the i-th group's trace, on screen, from its middle on: the first one clear of the group centres'
# rings (within ~16 px of a centre, Plotly's hover goes to the centre and its label, and the card rightly hides).
_POINT = """(i) => { const gd = document.querySelector('.st-key-scatter .js-plotly-plot');
  const groups = gd._fullData.filter(t => (t.name || '').startsWith('group '));
  const centres = gd._fullData.filter(t => t.name === 'centroids')[0];
  const fl = gd._fullLayout, tr = groups[i % groups.length], box = gd.getBoundingClientRect();
  const px = (x, y) => [box.left + fl._size.l + fl.xaxis.l2p(x), box.top + fl._size.t + fl.yaxis.l2p(y)];
  const rings = centres ? Array.from(centres.x, (x, c) => px(x, centres.y[c])) : [];
  for (let step = 0; step < tr.x.length; step++) {
    const j = (Math.floor(tr.x.length / 2) + step) % tr.x.length, [x, y] = px(tr.x[j], tr.y[j]);
    if (rings.every(([cx, cy]) => Math.hypot(cx - x, cy - y) > 16)) return {x, y}; }
  const [x, y] = px(tr.x[0], tr.y[0]); return {x, y}; }"""

_WAIT_PICTURE = """async (t0) => { while (performance.now() - t0 < 30000) {
    const tip = document.getElementById('facecore-hover-face');
    const img = tip && tip.querySelector('img');
    if (tip && tip.style.display !== 'none' && img && img.src.startsWith('data:image') && img.complete
        && img.naturalWidth > 0 && img.style.visibility !== 'hidden') return performance.now() - t0;
    await new Promise(r => setTimeout(r, 5)); }
  return -1; }"""


def _now(page) -> float:
    return page.evaluate("performance.now()")


def _until(page, text: str, since: float, legend: str | None = None) -> tuple[float, float]:
    """Milliseconds from ``since`` until ``legend`` is in the scatter's legend (the chart redrawn), and until
    ``text`` is on the page too (the page settled: the parts below the chart are drawn after it)."""
    drawn, done = page.evaluate(_WAIT_TEXT, [text, legend])
    return (drawn - since if drawn > 0 else float("nan")), (done - since if done > 0 else float("nan"))


def _slider_moves(page, n_faces: int, k0: int, moves: int) -> tuple[list[float], list[float]]:
    slider = page.get_by_role("slider", name="Number of groups")
    chart, settled = [], []
    for i in range(1, moves + 1):
        slider.focus()
        t0 = _now(page)
        slider.press("ArrowRight")
        k = k0 + i
        drawn, done = _until(page, f"{n_faces:,} faces in {k} groups", t0, legend=f"group {k - 1} (")
        chart.append(drawn)
        settled.append(done)
    return chart, settled


def _hovers(page, count: int) -> list[float]:
    page.evaluate("document.querySelector('.st-key-scatter').scrollIntoView({block: 'center'})")  # all on screen
    page.wait_for_timeout(500)
    times = []
    for i in range(count):
        pt = page.evaluate(_POINT, i * 7 + 3)
        page.mouse.move(pt["x"] - 40, pt["y"] - 40)
        page.wait_for_timeout(300)
        t0 = _now(page)
        page.mouse.move(pt["x"], pt["y"], steps=2)
        times.append(page.evaluate(_WAIT_PICTURE, t0))
    page.mouse.move(5, 5)
    return times


_FIRST_FILE = """() => { const cells = document.querySelectorAll(
  '[data-testid=stColumn] [role=gridcell][aria-colindex="5"]'); return cells.length ? cells[0].textContent : ''; }"""


def _wait_change(page, before: str, t0: float) -> float:
    """Milliseconds from ``t0`` until the first result's file differs from ``before``."""
    done = page.evaluate("""async ([before, t0, script]) => { const first = eval(script);
        while (performance.now() - t0 < 120000) {
          const now = first(); if (now && now !== before) return performance.now();
          await new Promise(r => setTimeout(r, 10)); } return -1; }""", [before, t0, _FIRST_FILE])
    return done - t0 if done > 0 else float("nan")


def _query(page) -> dict:
    """The click's face on the Similar page, then three other queries found by name.

    Above a few thousand faces the page has a search box whose matches fill the Face list; below, the Face list
    itself filters what is typed. Timed: from the pick in the list to the first result changing.
    """
    import re

    t0 = _now(page)
    page.get_by_role("link", name="Find similar faces").click()
    first = _wait_change(page, "", t0)
    page.get_by_text("Same person?").first.wait_for()  # the answer's heading, drawn with the first results
    answer = _now(page) - t0
    box = page.get_by_role("combobox", name="Face", exact=True)
    search = page.get_by_role("textbox", name="Find a face: part of its file or folder name")
    times, searches = [], []
    for name_part in ("person_7258", "person_7362", "person_7458"):  # three of the shared folders
        before = page.evaluate(_FIRST_FILE)
        if search.count():
            t1 = _now(page)
            search.fill(name_part)
            search.press("Enter")
            box.click()
            option = page.get_by_role("option", name=re.compile(name_part)).first
            option.wait_for()
            searches.append(_now(page) - t1)
        else:
            box.click()
            box.fill(name_part)
            option = page.get_by_role("option").first
            option.wait_for()
        t1 = _now(page)
        option.click()
        times.append(_wait_change(page, before, t1))
    return {"first_ms": round(first) if first == first else None, "first_answer_ms": round(answer),
            "change": _stats(times),
            "search_to_list": _stats(searches)}  # fmt: skip


def _stats(values: list[float]) -> dict:
    ok = [v for v in values if v == v and v >= 0]
    if not ok:
        return {"median_ms": None, "max_ms": None, "n": 0}
    return {"median_ms": round(statistics.median(ok)), "max_ms": round(max(ok)), "n": len(ok)}


def _more_sessions(browser, url: str, count: int) -> tuple[list, list[float]]:
    """``count`` new sessions on the Clusters page of a warm server (the set and its fits already in memory): the
    pages, and seconds until each drew its scatter."""
    pages, warm = [], []
    for _ in range(count):
        other = browser.new_page(viewport={"width": 1400, "height": 1000})
        other.set_default_timeout(180_000)
        t = time.perf_counter()
        other.goto(url)
        other.get_by_text("faces in 10 groups").wait_for()
        other.wait_for_function("() => document.querySelector('.st-key-scatter .js-plotly-plot')")
        warm.append(time.perf_counter() - t)
        pages.append(other)
    return pages, warm


def run(url: str, key: str, sessions: int, server: Server, shots: Path, skip_people: bool = False,
        faces: str = "all") -> dict:  # fmt: skip
    """The measurements (see the module's docstring); ``faces``: the Clusters and Similar pages' faces, "all" (the
    address's ``faces=all``) or "largest" (the largest face of each photo, their default)."""
    from playwright.sync_api import sync_playwright

    out: dict = {"load_before": os.getloadavg()}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])  # fmt: skip
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(180_000)
        t = time.perf_counter()
        page.goto(f"{url}clusters?imported={key}&faces={faces}")
        page.get_by_text("faces in 10 groups").wait_for()
        page.wait_for_function("() => document.querySelector('.st-key-scatter .js-plotly-plot')")
        out["clusters_first_load_s"] = round(time.perf_counter() - t, 1)
        n = int(page.get_by_text("faces in 10 groups").inner_text().split()[0].replace(",", ""))
        out["faces"] = n
        page.screenshot(path=shots / "clusters.png", full_page=True)
        chart, settled = _slider_moves(page, n, 10, 5)
        out["slider_move_chart_redrawn"] = _stats(chart)
        out["slider_move_page_settled"] = _stats(settled)
        out["hover_picture"] = _stats(_hovers(page, 8))
        pt = page.evaluate(_POINT, 1)
        t0 = _now(page)
        page.mouse.click(pt["x"], pt["y"])
        page.get_by_role("link", name="Find similar faces").wait_for()
        out["click_to_query_ms"] = round(_now(page) - t0)
        out["query"] = _query(page)
        page.screenshot(path=shots / "similar.png", full_page=True)
        out["rss_one_session_mib"] = server.rss_mib()
        extra, warm = _more_sessions(browser, f"{url}clusters?imported={key}&faces={faces}", sessions - 1)
        if warm:
            out["clusters_new_session_load_s"] = [round(v, 1) for v in warm]
        out[f"rss_{sessions}_sessions_mib"] = server.rss_mib()
        if skip_people:
            browser.close()
            out["load_after"] = os.getloadavg()
            return out
        t = time.perf_counter()
        print(json.dumps(out), flush=True)  # what is measured so far, should the People page time out
        page.goto(f"{url}people?imported={key}")
        page.get_by_text("How good is this grouping").first.wait_for(timeout=900_000)  # grouping 10^5 faces
        out["people_first_load_s"] = round(time.perf_counter() - t, 1)
        page.screenshot(path=shots / "people.png", full_page=True)
        t = time.perf_counter()
        page.goto(f"{url}?imported={key}")  # the Photos page is the home page: it has no path of its own
        page.get_by_text("Faces found").wait_for()
        page.get_by_role("spinbutton").fill("2")
        page.get_by_role("spinbutton").press("Enter")
        page.get_by_text("Faces 61–120").wait_for()
        out["photos_page_and_grid_page_2_s"] = round(time.perf_counter() - t, 1)
        page.screenshot(path=shots / "photos.png", full_page=True)
        browser.close()
    out["rss_end_mib"] = server.rss_mib()
    out["load_after"] = os.getloadavg()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--sessions", type=int, default=3)
    ap.add_argument("--shots", default="/tmp/scale-shots", help="folder for a screenshot of each page")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--skip-people", action="store_true", help="stop before the People page (minutes at 10^5 faces)")
    ap.add_argument("--faces", choices=("all", "largest"), default="all",
                    help="the Clusters and Similar pages' faces: every face, or the largest of each photo")  # fmt: skip
    a = ap.parse_args()
    shots = Path(a.shots)
    shots.mkdir(parents=True, exist_ok=True)
    with Server(Path(a.cache), Path(a.root)) as server:
        out = run(server.url, a.key, a.sessions, server, shots, a.skip_people, a.faces)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
