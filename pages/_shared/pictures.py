"""Pictures and archives the pages hand out: face crops as small data URIs, a photo with its face boxed, zips
of faces and of one person's photos. Presentation only, no Streamlit calls.
"""

from __future__ import annotations

import io
import zipfile
from base64 import b64encode
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError

from facecore import FaceCoreError, FaceSet, ImageRef, decode_image
from facecore import settings as S


def _placeholder() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (S.THUMB_SIDE, S.THUMB_SIDE), (226, 229, 235)).save(buf, format="JPEG")
    return buf.getvalue()


PLACEHOLDER = _placeholder()


def faces_zip(names: Sequence[str], jpegs: Sequence[bytes]) -> bytes:
    """A zip of face crops, one ``NNNN_<file name>.jpg`` per face (numbered: two faces may share a photo)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:  # JPEGs do not compress further
        for i, (name, data) in enumerate(zip(names, jpegs, strict=True)):
            stem = PurePosixPath(name).stem.replace("#", "face") or "face"
            zf.writestr(f"{i + 1:04d}_{stem}.jpg", data)
    return buf.getvalue()


def face_uris(jpegs: Sequence[bytes], side: int = 64, quality: int = 75) -> list[str]:
    """Small ``data:image/jpeg;base64,…`` URIs of face crops, for showing a face where the mouse hovers.

    Each crop is shrunk to at most ``side`` px: about 2 KB per face, so the
    browser gets one page-sized payload for a few thousand faces. A crop
    Pillow cannot read becomes an empty string (no picture on hover).
    """
    uris = []
    for data in jpegs:
        try:
            with Image.open(io.BytesIO(data)) as im:
                im = im.convert("RGB")
                im.thumbnail((side, side), Image.Resampling.LANCZOS)
                buf = io.BytesIO()
                im.save(buf, format="JPEG", quality=quality)
        except (UnidentifiedImageError, OSError):
            uris.append("")
            continue
        uris.append("data:image/jpeg;base64," + b64encode(buf.getvalue()).decode("ascii"))
    return uris


def photo_path(folder: str, name: str, allowed: Sequence[Path] = ()) -> Path | None:
    """The file of photo ``name`` of the server ``folder``, or None when it is not safely inside.

    Refused: a name that leaves the folder (``..``, absolute), and a file whose real path (after links) lies
    neither inside the folder nor under one of the ``allowed`` roots (the rule the folder was read with).
    """
    root = Path(folder).resolve()
    rel = Path(name)
    if rel.is_absolute() or ".." in rel.parts:
        return None
    path = (root / rel).resolve()
    inside = [root, *(Path(a).resolve() for a in allowed)]
    if not any(path == r or r in path.parents for r in inside) or not path.is_file():
        return None
    return path


def read_photo(folder: str, name: str, allowed: Sequence[Path] = ()) -> np.ndarray | None:
    """The photo ``name`` of the server ``folder`` as ``(h, w, 3)`` uint8 RGB after EXIF rotation (the pixels the
    face boxes are in); None when the file is not a readable photo safely inside (:func:`photo_path`)."""
    path = photo_path(folder, name, allowed)
    if path is None:
        return None
    try:
        return decode_image(ImageRef(name, path=str(path)).read_bytes())
    except FaceCoreError:
        return None


def _jpeg(im: Image.Image, side: int) -> bytes:
    im.thumbnail((side, side), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=85)
    return buf.getvalue()


def photo_with_box(folder: str, name: str, box: tuple[int, int, int, int], side: int = 900,
                   allowed: Sequence[Path] = ()) -> bytes | None:  # fmt: skip
    """The photo ``name`` of the server ``folder`` as a JPEG (longest side ``side`` px) with the face ``box``
    drawn on it; None when the file is not a readable photo safely inside (:func:`photo_path`)."""
    rgb = read_photo(folder, name, allowed)
    if rgb is None:
        return None
    im = Image.fromarray(rgb)
    top, right, bottom, left = box
    width = max(2, round(max(im.size) / 250))
    ImageDraw.Draw(im).rectangle((left, top, right, bottom), outline=BOX_COLOUR, width=width)
    return _jpeg(im, side)


BOX_COLOUR, CHOSEN_COLOUR = (37, 99, 235), (234, 88, 12)


def photo_with_faces(rgb: np.ndarray, boxes: Sequence[tuple[int, int, int, int]], chosen: int,
                     side: int = 900) -> bytes:  # fmt: skip
    """A photo's faces boxed and numbered 1, 2, … (largest first, as ``boxes`` come), the ``chosen`` one (an index
    into ``boxes``) in orange and thicker, as a JPEG with its longest side at most ``side`` px.

    ``rgb``: ``(h, w, 3)`` uint8 after EXIF rotation; ``boxes``: (top, right, bottom, left) px in it.
    """
    im = Image.fromarray(np.ascontiguousarray(rgb, np.uint8))
    scale = min(1.0, side / max(im.size))
    if scale < 1.0:  # draw on the shown size, so lines and numbers keep their size whatever the photo's
        im = im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))), Image.Resampling.LANCZOS)
    draw = ImageDraw.Draw(im)
    # numbers readable where the photo is shown in a narrow column (a 900 px group photo at about 300 px)
    font = ImageFont.load_default(size=max(16, round(max(im.size) / 18)))
    line = max(2, round(max(im.size) / 300))
    for i, (top, right, bottom, left) in enumerate(boxes):
        t, r, b, lf = (round(v * scale) for v in (top, right, bottom, left))
        colour, width = (CHOSEN_COLOUR, 2 * line) if i == chosen else (BOX_COLOUR, line)
        draw.rectangle((lf, t, r, b), outline=colour, width=width)
        label = str(i + 1)
        x0, y0, x1, y1 = draw.textbbox((0, 0), label, font=font)
        tag_w, tag_h = x1 - x0 + 8, y1 - y0 + 8
        ty = t - tag_h if t - tag_h >= 0 else min(b, im.height - tag_h)  # above the box, or below at the top edge
        draw.rectangle((lf, ty, lf + tag_w, ty + tag_h), fill=colour)
        draw.text((lf + 4 - x0, ty + 4 - y0), label, fill=(255, 255, 255), font=font)
    return _jpeg(im, side)


def _safe_entry(name: str) -> str:
    """A zip entry name for a photo's display name: its parts without empty, ``.`` or ``..``."""
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".", "..")]
    return "/".join(parts) or "photo"


def photo_in_folder(folder: str, name: str, digest: str, allowed: Sequence[Path] = ()) -> bytes | None:
    """The bytes of photo ``name`` of the server ``folder``, or None when it is not safely the same photo.

    Refused: a name that leaves the folder (``..``, absolute), a file whose
    real path (after links) lies neither inside the folder nor under one of
    the ``allowed`` roots (the rule the folder was read with), and a file whose
    content no longer has ``digest`` (replaced since it was encoded).
    """
    from facecore import content_digest

    path = photo_path(folder, name, allowed)
    if path is None:
        return None
    try:
        data = path.read_bytes()
    except OSError:
        return None
    return data if content_digest(data) == digest else None


def person_zip(
    faceset: FaceSet,
    rows: Sequence[int] | np.ndarray,
    crops: Sequence[bytes],
    folder: str | None = None,
    allowed: Sequence[Path] = (),
) -> tuple[bytes, int]:
    """A zip of one person: ``faces/NNN_<photo>.jpg`` (one crop per row, in order) and, for a server
    ``folder``, ``photos/<path>`` (each photo once, see :func:`photo_in_folder`). Returns ``(zip, photos added)``."""
    buf = io.BytesIO()
    added: set[str] = set()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, (r, crop) in enumerate(zip(rows, crops, strict=True)):
            face = faceset.faces[int(r)]
            stem = _safe_entry(face.name).replace("/", "_").rsplit(".", 1)[0]
            zf.writestr(f"faces/{n + 1:03d}_{stem}_{face.in_photo}.jpg", crop)
            entry = f"photos/{_safe_entry(face.name)}"
            if folder is None or entry in added:
                continue
            data = photo_in_folder(folder, face.name, face.digest, allowed)
            if data is not None:
                zf.writestr(entry, data)
                added.add(entry)
    return buf.getvalue(), len(added)
