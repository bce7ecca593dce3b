"""Encodings in and out of files: the ``.npz`` export that the app and the CLI offer.

One home for the file format, so what is written here is what an import of
encodings reads back.
"""

from __future__ import annotations

import io

import numpy as np

from .faceset import FaceSet


def encodings_npz(faceset: FaceSet) -> bytes:
    """The encodings with their names as a compressed ``.npz``.

    Arrays: ``encodings`` (n, 128) float32, ``path`` (the photo's name in
    the set), ``person``, ``digest`` (sha256 of the photo), ``face`` (0 for
    the largest face of its photo, 1 for the next...) and ``box`` (n, 4) int
    (top, right, bottom, left) px.
    """
    buf = io.BytesIO()
    np.savez_compressed(
        buf,
        encodings=np.asarray(faceset.encodings, dtype=np.float32),
        path=np.array([f.name for f in faceset.faces], dtype=str),
        person=np.array([f.person or "" for f in faceset.faces], dtype=str),
        digest=np.array([f.digest for f in faceset.faces], dtype=str),
        face=np.array([f.in_photo for f in faceset.faces], dtype=np.int64),
        box=np.array([f.box for f in faceset.faces], dtype=np.int64).reshape(-1, 4),
    )
    return buf.getvalue()
