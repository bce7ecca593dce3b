"""The README's screenshot of a group photo on the Similar faces page: its faces boxed and numbered, face 2 picked.

Usage: .venv/bin/python tools/group_screenshot.py [--dataset DIR] [--cache PATH] [--out docs/screenshots]

Pastes four shared people's photos side by side into one group photo (written to a temporary folder, never into
the project), starts the app on the shared folder (its encodings come from ``--cache``), uploads the group photo as
the query, picks face 2 and saves ``similar_group.png``. As in :mod:`tools.screenshots`, every picture is blurred:
the face crops and tables by CSS, and the numbered photo is swapped, in the page, for the same drawing
(:func:`pages._shared.pictures.photo_with_faces`, the page's boxes) made on a blurred copy of the photo, so the
boxes and numbers stay sharp and no CelebA face is readable.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from base64 import b64encode
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from PIL import Image, ImageFilter  # noqa: E402

from bench.serve import Server  # noqa: E402
from facecore import decode_image, default_cache_path, default_dataset_path, encode_bytes, encode_query  # noqa: E402
from pages._shared.pictures import photo_with_faces  # noqa: E402

PEOPLE = ("person_7203", "person_7204", "person_7205", "person_7207")
HEIGHTS = (320, 240, 200, 280)
PICKED = 1  # face 2
#: every picture but the swapped photo (``data-keep``) is blurred; the tables are canvases with faces in them
BLUR = "img:not([data-keep]), canvas { filter: blur(9px) !important; }"


def group_photo(dataset: Path, out: Path) -> bytes:
    """Four people's first photos, each cropped around its largest face and scaled to its height, side by side."""
    pieces = []
    for person, height in zip(PEOPLE, HEIGHTS, strict=True):
        path = sorted((dataset / person).glob("*.jpg"))[0]
        t, r, b, lf = encode_bytes(path.read_bytes()).boxes[0]
        im = Image.open(path).convert("RGB")
        m = int(0.6 * (b - t))
        crop = im.crop((max(0, lf - m), max(0, t - m), min(im.width, r + m), min(im.height, b + m)))
        pieces.append(crop.resize((round(crop.width * height / crop.height), height), Image.Resampling.LANCZOS))
    canvas = Image.new("RGB", (sum(p.width + 40 for p in pieces) + 20, max(HEIGHTS) + 40), (245, 245, 240))
    x = 30
    for piece in pieces:
        canvas.paste(piece, (x, 20 + (max(HEIGHTS) - piece.height) // 2))
        x += piece.width + 40
    canvas.save(out, quality=95)
    return out.read_bytes()


def blurred_drawing(data: bytes) -> str:
    """The page's numbered photo drawn on a blurred copy of ``data``, as a data URI."""
    boxes = encode_query(data).boxes
    blurred = Image.fromarray(decode_image(data)).filter(ImageFilter.GaussianBlur(20))
    jpeg = photo_with_faces(np.asarray(blurred), boxes, PICKED)
    return "data:image/jpeg;base64," + b64encode(jpeg).decode("ascii")


def shoot(page, data: bytes, path: Path) -> None:
    page.get_by_text("A new photo").click()
    page.locator("[data-testid=stFileUploader] input[type=file]").set_input_files(
        files=[{"name": "group.jpg", "mimeType": "image/jpeg", "buffer": data}])  # fmt: skip
    page.get_by_text("faces found; the one searched with in orange").wait_for()
    page.locator("[data-testid=stRadio]").filter(has_text="Face to search with").get_by_text("2", exact=True).click()
    page.wait_for_timeout(2000)
    page.wait_for_function("() => !document.querySelector('[data-testid=stStatusWidget]')", timeout=300_000)
    page.get_by_text("shortcut cost").first.wait_for()
    page.wait_for_timeout(1500)
    swapped = page.evaluate("""uri => {
        const img = [...document.querySelectorAll('[data-testid=stMain] img')].find(i => i.naturalWidth >= 400);
        if (!img) return false;
        img.src = uri; img.setAttribute('data-keep', '1'); return true; }""", blurred_drawing(data))  # fmt: skip
    if not swapped:
        raise SystemExit("the numbered photo is not on the page")
    page.add_style_tag(content=BLUR)
    page.wait_for_timeout(1000)
    page.screenshot(path=str(path))


def main() -> None:
    from playwright.sync_api import sync_playwright

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default=str(default_dataset_path()))
    ap.add_argument("--cache", default=str(default_cache_path()))
    ap.add_argument("--out", default="docs/screenshots")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    folder = Path(a.dataset).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        data = group_photo(folder, Path(tmp) / "group.jpg")
        with Server(Path(a.cache), folder.parent) as server, sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])  # fmt: skip
            page = browser.new_page(viewport={"width": 1400, "height": 1250})
            page.set_default_timeout(900_000)
            page.goto(f"{server.url}similar?folder={quote(str(folder))}")
            page.get_by_text("shortcut cost").first.wait_for()
            shoot(page, data, out / "similar_group.png")
            browser.close()
    print(out / "similar_group.png")


if __name__ == "__main__":
    main()
