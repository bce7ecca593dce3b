"""Keep one photo of each near-duplicate group: the groups of a set, found once, and the photos to hide.

:func:`duplicate_groups` finds a set's near-duplicate groups (:mod:`.near_duplicates`) with each photo's
hash read from the cache file when it was hashed before (:mod:`facecore.storage.photo_hashes`), so a page
reload or another session hashes nothing. :func:`photos_to_hide` says which photos to hide to keep one of
each group (the largest, unless the user chose); :func:`facecore.storage.hidden_photos.hide_photos` records them
and :meth:`FaceSet.without` gives the set of what is kept. Nothing is ever deleted from disk.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..errors import InvalidParameterError
from ..faceset import FaceSet
from ..storage.encodings import EncodingStore
from ..storage.photo_hashes import get_photo_hashes, put_photo_hashes
from .near_duplicates import PhotoHashes, near_duplicate_groups, photo_hashes


def cached_photo_hashes(faceset: FaceSet, store: EncodingStore, refs: Sequence = (), workers: int = 2) -> PhotoHashes:
    """The hashes of every photo ``faceset`` read (:attr:`FaceSet.read`, in order), from the cache file where it
    has them; the others are hashed from ``refs`` (ImageRefs of the same photos, matched by name) and written to
    the cache. Photos neither cached nor among ``refs`` (uploads reopened without their bytes) are left out, and
    so is a file whose bytes changed since it was encoded."""
    found = get_photo_hashes(store, (d for _, d in faceset.read))
    missing = {name for name, digest in faceset.read if digest not in found}
    todo = [r for r in refs if r.name in missing]
    if todo:
        fresh = photo_hashes(todo, workers=workers)
        rows = {d: (fresh.bits[i], int(fresh.pixels[i]), int(fresh.nbytes[i])) for i, d in enumerate(fresh.digests)}
        put_photo_hashes(store, rows)
        found |= rows
    read = [(name, digest) for name, digest in faceset.read if digest in found]
    return PhotoHashes(
        names=tuple(name for name, _ in read),
        bits=np.array([found[d][0] for _, d in read], dtype=bool).reshape(len(read), 128),
        pixels=np.array([found[d][1] for _, d in read], dtype=np.int64),
        nbytes=np.array([found[d][2] for _, d in read], dtype=np.int64),
        digests=tuple(d for _, d in read),
    )


def duplicate_groups(faceset: FaceSet, store: EncodingStore, refs: Sequence = (), workers: int = 2) -> list[list[str]]:
    """The near-duplicate groups of ``faceset``'s photos (lists of names, the largest photo first), with the
    photos' hashes kept in the cache file (:func:`cached_photo_hashes`). Pass the whole set, hidden photos
    included, so a group stays visible (and can be undone) after some of its photos were hidden."""
    return near_duplicate_groups(cached_photo_hashes(faceset, store, refs, workers), faceset)


def photos_to_hide(
    faceset: FaceSet, groups: Sequence[Sequence[str]], keep: Mapping[int, str] | None = None
) -> list[str]:
    """The content digests to hide so that one photo of each group is kept: ``keep[g]`` (a name of group ``g``)
    where given, else the group's first photo (the largest). A photo with the same bytes as the kept one is not
    hidden (it is the same photo; the encoder already skipped it as a repeat). Names not in ``faceset`` are ignored.
    """
    digest = dict(faceset.read)
    hide: list[str] = []
    for g, names in enumerate(groups):
        kept = (keep or {}).get(g, names[0])
        if kept not in names:
            raise InvalidParameterError(f"{kept!r} is not a photo of near-duplicate group {g}: keep one of {names}")
        hide += [digest[n] for n in names if n in digest and digest[n] != digest.get(kept)]
    return list(dict.fromkeys(hide))
