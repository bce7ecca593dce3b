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
from PIL import Image, ImageDraw, UnidentifiedImageError

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


def photo_with_box(folder: str, name: str, box: tuple[int, int, int, int], side: int = 900) -> bytes | None:
    """The photo ``name`` of the server ``folder`` as a JPEG (longest side ``side`` px) with the face ``box``
    drawn on it; None when the file is not a readable photo inside that folder any more."""
    root = Path(folder).resolve()
    path = (root / name).resolve()
    if root not in path.parents or not path.is_file():
        return None
    try:
        rgb = decode_image(ImageRef(name, path=str(path)).read_bytes())
    except FaceCoreError:
        return None
    im = Image.fromarray(rgb)
    top, right, bottom, left = box
    width = max(2, round(max(im.size) / 250))
    ImageDraw.Draw(im).rectangle((left, top, right, bottom), outline=(37, 99, 235), width=width)
    im.thumbnail((side, side), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=85)
    return buf.getvalue()


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

    root = Path(folder).resolve()
    rel = Path(name)
    if rel.is_absolute() or ".." in rel.parts:
        return None
    path = (root / rel).resolve()
    inside = [root, *(Path(a).resolve() for a in allowed)]
    if not any(path == r or r in path.parents for r in inside) or not path.is_file():
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
