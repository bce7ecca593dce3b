"""The first load of a whole folder in the app, timed in a real browser: from the click to the faces shown.

Usage: .venv/bin/python -m bench.browser_encode [--dataset DIR]

Starts the app with a fresh, empty cache (a temporary file), types the folder
on the Photos page in headless Debian chromium, clicks "Encode this folder"
and waits until the summary and the face grid are on screen. Prints the wait,
the photos/s the progress line showed last, and the load average.
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
import time
from pathlib import Path

from bench.serve import Server
from facecore import default_dataset_path


def main() -> None:
    from playwright.sync_api import sync_playwright

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default=str(default_dataset_path()))
    a = ap.parse_args()
    folder = Path(a.dataset).resolve()
    print(f"load before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="browser-encode-") as tmp, \
            Server(Path(tmp) / "fresh.sqlite", folder.parent) as server, sync_playwright() as p:  # fmt: skip
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])  # fmt: skip
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(900_000)
        page.goto(server.url)
        box = page.get_by_role("textbox", name="Folder path")
        box.fill(str(folder))
        box.press("Enter")
        page.wait_for_timeout(500)
        t = time.perf_counter()
        page.get_by_role("button", name="Encode this folder").click()
        rates = []
        while not page.get_by_text("Faces found").is_visible():
            text = page.locator("[data-testid=stProgress]").first.inner_text() if page.locator(
                "[data-testid=stProgress]").count() else ""  # fmt: skip
            rates += [float(r) for r in re.findall(r"([\d.]+) photos/s", text)]
            page.wait_for_timeout(1000)
        page.locator("[data-testid=stImage] img").first.wait_for()
        waited = time.perf_counter() - t
        faces = page.get_by_test_id("stMetricValue").nth(1).inner_text()
        browser.close()
    print(f"{folder.name}: {waited:.1f} s from the click to the faces on screen, {faces} faces; "
          f"progress line last said {rates[-1] if rates else '-'} photos/s; "
          f"load after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
