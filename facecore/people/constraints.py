"""The user's corrections as grouping sees them: must-link and cannot-link face rows and named anchors
(:class:`Constraints`). Two faces of one photo never share a person, nor do ``cannot_link`` pairs: a
pass-1 group holding such a pair is broken into single faces. ``must_link`` pairs always share a
person: after pass 2 the groups of the two faces are joined, or, when that would put a conflicting pair
together, only the linked faces move.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from ..errors import InvalidParameterError

# --------------------------------------------------------------------------- constraints


def same_photo_pairs(photos: np.ndarray) -> np.ndarray:
    """``(c, 2)`` every pair of faces that share a photo (photos with several faces only)."""
    order = np.argsort(photos, kind="stable")
    sorted_ids = photos[order]
    starts = np.flatnonzero(np.concatenate([[True], sorted_ids[1:] != sorted_ids[:-1]]))
    ends = np.concatenate([starts[1:], [len(photos)]])
    pairs = []
    for s, e in zip(starts[ends - starts > 1], ends[ends - starts > 1], strict=True):
        rows = order[s:e]
        i, j = np.triu_indices(len(rows), 1)
        pairs.append(np.stack([rows[i], rows[j]], axis=1))
    return np.concatenate(pairs) if pairs else np.zeros((0, 2), np.int64)


def components(n: int, must: np.ndarray, conflicts: np.ndarray) -> np.ndarray:
    """``(n,)`` must-link component of each face; raise if a component holds a conflicting pair."""
    if not len(must):
        return np.arange(n)
    g = sparse.coo_matrix((np.ones(len(must)), (must[:, 0], must[:, 1])), shape=(n, n))
    _, comp = connected_components(g, directed=False)
    clash = comp[conflicts[:, 0]] == comp[conflicts[:, 1]] if len(conflicts) else np.zeros(0, bool)
    if clash.any():
        a, b = conflicts[np.flatnonzero(clash)[0]]
        raise InvalidParameterError(
            f"faces {a} and {b} must be together (must_link) and apart (cannot_link or the same photo): "
            "undo one of those corrections."
        )
    return comp.astype(np.int64)


def dissolve_conflicts(labels: np.ndarray, conflicts: np.ndarray) -> np.ndarray:
    """Break every group that holds a conflicting pair into single faces (pass 2 rebuilds it, apart)."""
    if not len(conflicts):
        return labels
    bad = np.unique(labels[conflicts[:, 0]][labels[conflicts[:, 0]] == labels[conflicts[:, 1]]])
    if not len(bad):
        return labels
    hit = np.isin(labels, bad)
    out = labels.copy()
    out[hit] = labels.max() + 1 + np.flatnonzero(hit)
    return out


def _clash(inside: np.ndarray, conflicts: np.ndarray) -> bool:
    """True when a conflicting pair has both faces where ``inside`` ((n,) bool) is True."""
    return bool(len(conflicts)) and bool((inside[conflicts[:, 0]] & inside[conflicts[:, 1]]).any())


def join_must_links(labels: np.ndarray, comp: np.ndarray, conflicts: np.ndarray) -> np.ndarray:
    """Join the groups of each must-link component ("same person": their groups are one person).

    When joining whole groups would put a conflicting pair together, only the
    component's faces move, to the group holding most of them (or to a group
    of their own if even that conflicts). Largest components first.
    """
    sizes = np.bincount(comp)
    multi = np.flatnonzero(sizes >= 2)
    labels = labels.copy()
    order = np.argsort(comp, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    for c in multi[np.argsort(-sizes[multi], kind="stable")]:
        rows = order[bounds[c] : bounds[c + 1]]
        groups, counts = np.unique(labels[rows], return_counts=True)
        if len(groups) == 1:
            continue
        joined = np.isin(labels, groups)
        if not _clash(joined, conflicts):
            labels[joined] = groups[0]
            continue
        home = groups[np.argmax(counts)]
        trial = labels.copy()
        trial[rows] = home
        if _clash(trial == home, conflicts):
            trial[rows] = labels.max() + 1  # a component never holds a conflict (checked up front)
        labels = trial
    return labels


# --------------------------------------------------------------------------- corrections as constraints


@dataclass(frozen=True, eq=False)
class Constraints:
    """The user's corrections as face rows of one FaceSet.

    ``must_link`` and ``cannot_link`` are ``(k, 2)`` int64 rows;
    ``names`` maps a person's name to the rows of its anchor faces;
    ``ignored`` counts corrections dropped because a later one contradicts them.
    """

    must_link: np.ndarray
    cannot_link: np.ndarray
    names: Mapping[str, np.ndarray]
    ignored: int = 0

    @classmethod
    def none(cls) -> Constraints:
        empty = np.zeros((0, 2), np.int64)
        return cls(empty, empty, {})

    @property
    def keep(self) -> np.ndarray:
        """Rows of every named anchor: their group is a person whatever its size."""
        rows = [np.asarray(r, np.int64) for r in self.names.values()]
        return np.unique(np.concatenate(rows)) if rows else np.zeros(0, np.int64)
