"""Face thumbnails of imported faces, cropped from the photo on demand (not at import: importing stays a
validation and one write, the cache does not grow by ~3.5 KB per face for pictures nobody looks at,
and a photo that is offline at import time still gives its picture once it is back). A crop once cut is
kept with its face in the cache file, like an encoded photo's: the next server process reads it instead of
decoding the photo again (50 gallery crops took ~0.5 s of CPU on a new server's first Clusters page).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from ..errors import UnreadableImageError
from ..faceset import FaceSet
from ..storage.encodings import EncodingStore
from .exchange import inside_roots, path_digest
from .imaging import Box, decode_image, face_thumbnail
from .refs import ImageRef, content_digest

# --------------------------------------------------------------------------- pictures


def face_thumbnails(
    faceset: FaceSet,
    rows: Sequence[int] | np.ndarray,
    store: EncodingStore | None = None,
    allowed_roots: Iterable[str | os.PathLike[str]] | None = None,
) -> dict[tuple[str, int], bytes]:
    """JPEG thumbnails of the faces at ``rows``, keyed like :meth:`EncodingStore.thumbnails` (digest, face).

    Those in the cache come from it; the others (imported faces) are cropped
    from their photo when ``Face.name`` is a readable file inside
    ``allowed_roots`` (None: anywhere) whose content is still the one the
    digest names, and kept in ``store``. Each photo is decoded once per call. Faces without a box
    give a thumbnail of the whole photo.
    """
    keys = faceset.thumb_keys(rows)
    out = dict(store.thumbnails(keys, faceset.settings_key)) if store is not None else {}
    roots = None if allowed_roots is None else [Path(r).expanduser().resolve() for r in allowed_roots]
    todo: dict[str, list[int]] = {}
    for i in rows:
        face = faceset.faces[int(i)]
        if (face.digest, face.in_photo) not in out:
            todo.setdefault(face.name, []).append(int(i))
    cut: dict[tuple[str, int], bytes] = {}
    for path, photo_rows in todo.items():
        rgb = _photo(path, faceset.faces[photo_rows[0]].digest, roots)
        if rgb is None:
            continue
        h, w = rgb.shape[:2]
        for i in photo_rows:
            face = faceset.faces[i]
            box: Box = face.box if face.box[2] > face.box[0] else (0, w, h, 0)
            cut[(face.digest, face.in_photo)] = face_thumbnail(rgb, box)
    if store is not None:
        store.keep_thumbnails(cut, faceset.settings_key)
    return out | cut


def _photo(path: str, digest: str, roots: list[Path] | None) -> np.ndarray | None:
    """The decoded photo at ``path`` if it may be read and still holds the photo ``digest`` names, else None."""
    p = Path(path)
    if not p.is_absolute():
        return None
    try:
        real = p.resolve()
        if roots is not None and not inside_roots(real, roots):
            return None
        data = ImageRef(path, path=str(real)).read_bytes()
        if digest not in (content_digest(data), path_digest(path)):
            return None  # the photo changed since its encodings were made: its boxes no longer apply
        return decode_image(data)
    except (OSError, UnreadableImageError):
        return None
