"""Screenshots of every page for the README, with the faces blurred.

Usage: .venv/bin/python tools/screenshots.py [--dataset DIR] [--cache PATH] [--out docs/screenshots]

Starts the app on a free localhost port, loads the photo folder (default:
the shared CelebA folder) through the page address, and saves a full-page
PNG of each page, then the Clusters page's scatter as the similarity map and as
the PCA axes. Every picture is blurred in the page before the shot: the
shared photos are CelebA's, for research, and not ours to redistribute; the
layout, the numbers and the charts are what the README shows.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.serve import Server  # noqa: E402
from facecore import default_dataset_path  # noqa: E402

BLUR = "img, canvas { filter: blur(9px) !important; }"  # the tables are canvases with faces in them
PAGES = (("dataset", "Faces found"), ("clusters", "faces in 10 groups"), ("similar", "shortcut cost"),
         ("people", "How good is this grouping"))  # fmt: skip


def shoot(page, name: str, out: Path) -> Path:
    """A full-page screenshot: Streamlit scrolls inside its main block, so the viewport grows first."""
    height = page.evaluate("() => Math.max(...Array.from(document.querySelectorAll("
                           "'[data-testid=stMain], [data-testid=stMainBlockContainer]')).map(e => e.scrollHeight))")
    page.set_viewport_size({"width": 1400, "height": max(900, min(int(height) + 80, 9000))})
    page.wait_for_timeout(1500)
    # widgets whose code has not reached a fresh browser yet are drawn as grey placeholders: wait them out
    page.wait_for_function("() => !document.querySelector('[data-testid*=Skeleton], [class*=Skeleton]')",
                           timeout=60_000)  # fmt: skip
    page.add_style_tag(content=BLUR)
    path = out / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size({"width": 1400, "height": 900})
    return path


def shoot_scatters(page, url: str, out: Path) -> list[Path]:
    """The Clusters page's scatter alone, as the similarity map (its default) and as the article's PCA axes:
    docs/screenshots/map.png and map-pca.png, side by side in the README."""
    page.goto(url)
    page.get_by_text("faces in 10 groups").first.wait_for()
    page.get_by_text("On this map, faces that look alike lie together").first.wait_for()  # the map is drawn
    shots = []
    for name, view, ready in (("map", None, "On this map"), ("map-pca", "PCA axes, as in the article", "PC1 and PC2")):
        if view:
            page.get_by_text(view, exact=True).click()
            page.get_by_text(ready).first.wait_for()
        page.wait_for_timeout(2500)
        page.add_style_tag(content=BLUR)
        chart = page.locator(".st-key-scatter")
        chart.scroll_into_view_if_needed()
        shots.append(out / f"{name}.png")
        chart.screenshot(path=str(shots[-1]))
    return shots


def main() -> None:
    from playwright.sync_api import sync_playwright

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default=str(default_dataset_path()))
    ap.add_argument("--cache", default=os.environ.get("FACECORE_CACHE", "/tmp/screenshots.sqlite"))
    ap.add_argument("--out", default="docs/screenshots")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    folder = Path(a.dataset).resolve()
    with Server(Path(a.cache), folder.parent) as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])  # fmt: skip
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(900_000)
        for name, ready in PAGES:
            page.goto(f"{server.url}{name}?folder={quote(str(folder))}&face={quote('person_7203/007200.jpg')}")
            page.get_by_text(ready).first.wait_for()
            print(shoot(page, name, out))
        print(*shoot_scatters(page, f"{server.url}clusters?folder={quote(str(folder))}", out), sep="\n")
        browser.close()


if __name__ == "__main__":
    main()
