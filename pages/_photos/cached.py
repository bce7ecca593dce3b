"""The Photos page's cached getters: near-duplicate groups, whole-photo thumbnails and wrong-folder suspects
(see :mod:`pages._shared.cached` for how the caches are keyed and forgotten)."""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
import streamlit as st
from PIL import Image

from facecore import (
    FaceCoreError,
    FaceSet,
    ImageRef,
    Suspect,
    anchor_rows,
    decode_image,
    duplicate_groups,
    find_suspects,
    from_uploads,
    scan_folder,
)
from pages._shared.cached import derived, store
from pages._shared.pictures import photo_in_folder
from pages._shared.roots import allowed_roots

#: Side (px) of the whole-photo thumbnails of a near-duplicate group.
PHOTO_SIDE = 200
#: Suspects shown are the faces at least this much nearer another folder's centre than their own (score = own
#: distance / nearest other distance; 1.0: as near one as the other).
MIN_SUSPECT_SCORE = 1.0
#: Typical faces shown for a folder next to a suspect.
TYPICAL = 4
#: Sets of more photos look for near-duplicates only when asked: the first time, every photo is read and hashed
#: (3-9 ms a photo on this machine; afterwards the hashes come from the cache file).
DUPLICATES_AUTO_UP_TO = 5_000
#: Sets of more faces look for wrong-folder suspects only when asked (faces x folders distances).
SUSPECTS_AUTO_UP_TO = 20_000


@derived
@st.cache_resource(max_entries=4, show_spinner="Listing the photos…")
def refs_for(folder: str, key: str) -> dict[str, ImageRef]:
    """The photos of the server ``folder`` by name (the set ``key``'s), read under the allowed folders; empty
    when the folder cannot be read any more."""
    try:
        refs, _ = scan_folder(folder, allowed_roots())
    except FaceCoreError:
        return {}
    return {r.name: r for r in refs}


def photo_refs(folder: str | None, token: str | None, key: str) -> list[ImageRef]:
    """The photos of a set that can still be read: a server folder's, or this session's uploads (while the upload
    widget holds them); else none (the cache's hashes and crops are then all there is)."""
    if folder:
        return list(refs_for(folder, key).values())
    files = st.session_state.get("uploads") or []
    if token and files:
        try:
            return from_uploads([(f.name, f) for f in files])[0]
        except FaceCoreError:
            return []
    return []


@derived
@st.cache_data(max_entries=8, show_spinner="Looking for near-duplicate photos…")
def groups_for(key: str, photos: int, _fs: FaceSet, _refs: Callable[[], list[ImageRef]]) -> list[list[str]]:
    """The near-duplicate groups of the whole set ``key`` (``photos`` photos read, hidden ones included), the
    photos' hashes kept in the cache file: only photos never hashed are read (from ``_refs()``, listed only
    when the groups are not kept here already)."""
    return duplicate_groups(_fs, store(), _refs())


@derived
@st.cache_data(max_entries=256, show_spinner=False)
def photo_thumb(folder: str, name: str, digest: str) -> tuple[bytes, str] | None:
    """A JPEG thumbnail (longest side PHOTO_SIDE px) of the whole photo ``name`` of ``folder`` and its size
    ``"W × H"``; None when the file is not safely the same photo any more."""
    data = photo_in_folder(folder, name, digest, allowed_roots())
    if data is None:
        return None
    try:
        rgb = decode_image(data, max_side=2 * PHOTO_SIDE)
        with Image.open(io.BytesIO(data)) as im:
            size = f"{im.size[0]} × {im.size[1]}"
    except (FaceCoreError, OSError):
        return None
    im = Image.fromarray(rgb)
    im.thumbnail((PHOTO_SIDE, PHOTO_SIDE), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=85)
    return buf.getvalue(), size


@derived
@st.cache_data(max_entries=8, show_spinner="Comparing each face with its folder…")
def suspects_for(key: str, _fs: FaceSet) -> list[tuple[int, Suspect]]:
    """``(row, suspect)`` of the faces of the set ``key`` nearer another folder than their own, most suspicious
    first (:func:`facecore.find_suspects`)."""
    row = {f.name: i for i, f in enumerate(_fs.faces) if f.in_photo == 0}
    return [(row[s.path], s) for s in find_suspects(_fs, min_score=MIN_SUSPECT_SCORE)]


@derived
@st.cache_data(max_entries=8, show_spinner=False)
def typical_for(key: str, _fs: FaceSet) -> dict[str, list[int]]:
    """The TYPICAL most typical faces (rows) of each folder of the set ``key`` (nearest their folder's mean)."""
    persons = np.array([f.person or "" for f in _fs.faces])
    names, label = np.unique(persons, return_inverse=True)
    order = np.argsort(label, kind="stable")
    bounds = np.searchsorted(label[order], np.arange(len(names) + 1))
    return {
        str(p): [int(r) for r in anchor_rows(_fs.encodings, order[bounds[i] : bounds[i + 1]], TYPICAL)]
        for i, p in enumerate(names) if p
    }  # fmt: skip
