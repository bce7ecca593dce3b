"""Suggestions for the user: persons that are probably one (:func:`suggest_merges`) and how a person
would split in two (:func:`propose_split`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InvalidParameterError
from .constraints import same_photo_pairs
from .faces import THRESHOLD_RANGE, check_encodings, check_pairs, codes
from .graph import BLOCK
from .grouping import FIRST_PASS_GAP, Grouping, group_faces
from .passes import Groups

# --------------------------------------------------------------------------- helping the user correct


@dataclass(frozen=True)
class MergeSuggestion:
    """Two persons that may be one: ``distance`` is the RMS encoding distance over all their face pairs."""

    a: int
    b: int
    distance: float


def suggest_merges(
    encodings: np.ndarray,
    grouping: Grouping,
    photo_ids: Sequence | np.ndarray,
    cannot_link: Sequence[tuple[int, int]] | np.ndarray = (),
    top: int = 10,
) -> tuple[MergeSuggestion, ...]:
    """The ``top`` closest pairs of persons that may still merge, closest first.

    Distance is the linkage the grouping merges on (RMS over all face pairs
    across both persons), so the first suggestions are the pairs just above
    the threshold. Pairs sharing a photo or a ``cannot_link`` pair ("different
    people") are left out. Persons are compared in blocks: no persons x persons matrix.
    """
    x = check_encodings(encodings)
    if not isinstance(top, (int, np.integer)) or top < 1:
        raise InvalidParameterError(f"top={top!r} must be a positive integer.")
    p = grouping.n_persons
    if p < 2:
        return ()
    labels = grouping.labels.astype(np.int64)
    inside = labels >= 0
    stats = Groups(x[inside], labels[inside])
    conflicts = np.concatenate([check_pairs(cannot_link, len(x), "cannot_link"), same_photo_pairs(codes(photo_ids))])
    la, lb = labels[conflicts[:, 0]], labels[conflicts[:, 1]]
    ok = (la >= 0) & (lb >= 0) & (la != lb)
    banned = np.unique(np.minimum(la, lb)[ok] * p + np.maximum(la, lb)[ok])
    found = []
    for s in range(0, p, BLOCK):
        rows = np.arange(s, min(p, s + BLOCK))
        d2 = (stats.sq[rows] / stats.count[rows])[:, None] + (stats.sq / stats.count)[None, :]
        d2 -= 2.0 * (stats.sum[rows] / stats.count[rows, None]) @ (stats.sum / stats.count[:, None]).T
        d2[np.arange(p)[None, :] <= rows[:, None]] = np.inf  # each pair once, a < b
        flat = np.flatnonzero(np.isin(rows[:, None] * p + np.arange(p)[None, :], banned))
        d2.flat[flat] = np.inf
        k = min(top, p)
        best = np.argpartition(d2, k - 1, axis=1)[:, :k]
        for r, cols in zip(rows, best, strict=True):
            found.extend((float(d2[r - s, c]), int(r), int(c)) for c in cols if np.isfinite(d2[r - s, c]))
    found.sort()
    return tuple(MergeSuggestion(a, b, float(np.sqrt(max(d, 0.0)))) for d, a, b in found[:top])


def propose_split(
    encodings: np.ndarray,
    grouping: Grouping,
    person: int,
    photo_ids: Sequence | np.ndarray,
    threshold: float | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, ...]:
    """Regroup one person's faces at a tighter threshold; return the face rows of each part, largest first.

    ``threshold`` defaults to the grouping's minus ``FIRST_PASS_GAP`` (at
    least 0.3). Every face lands in a part (no minimum size). One part back
    means the person does not split at that threshold. Recording the split
    is :func:`.corrections.split_person`.
    """
    rows = grouping.members(person)
    t = max(THRESHOLD_RANGE[0], grouping.threshold - FIRST_PASS_GAP) if threshold is None else threshold
    x = check_encodings(encodings)
    photos = codes(photo_ids)
    if len(photos) != len(x):
        raise InvalidParameterError(f"photo_ids has {len(photos)} entries but encodings has {len(x)} rows.")
    sub = group_faces(x[rows], photos[rows], t, min_size=1, seed=seed)
    return tuple(rows[sub.labels == k] for k in range(sub.n_persons))
