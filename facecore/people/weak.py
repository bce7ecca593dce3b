"""Faces of doubtful quality (blurred: :data:`facecore.curation.face_quality.LINK_BAR`) do not build persons: the
others are grouped first, then each doubtful face joins the person whose faces are nearest to it on average
(RMS distance, as pass 2 merges groups), when that is below the threshold and no face of its photo (or a
cannot-link) is in that person; otherwise it stays unsorted. A blurred face lies between people and, when it
takes part, chains them together or splits a person around it.

Measured by ``bench/face_quality.py`` on 300 group photos with tiny and blurred faces, sharpness below 6: pairwise
F 0.908 -> 0.919 and 0.899 -> 0.918 on the development people (seeds 5, 11), 0.859 -> 0.881 and 0.868 -> 0.870 on
the held-out people (seeds 6, 12); on plain group photos nothing moves by more than 0.001, and none of the 2,338
shared portraits is that blurred.
"""

from __future__ import annotations

import numpy as np

from .passes import Groups

#: Doubtful faces compared with every person at once, this many at a time (bounds a (block, persons) matrix).
_BLOCK = 1024


def join_nearest(x: np.ndarray, labels: np.ndarray, weak: np.ndarray, conflicts: np.ndarray, threshold: float):
    """``(n,)`` labels where each ``weak`` row (``(k,)`` int64, unsorted in ``labels``) has joined its nearest person.

    ``x`` ``(n, 128)`` float32 encodings; ``labels`` ``(n,)`` persons of the other faces (-1 unsorted);
    ``conflicts`` ``(c, 2)`` face pairs that never share a person. A person is "nearest" by the RMS distance
    over all its faces; it must be below ``threshold``. Two weak faces of one photo never join one person:
    the nearer joins.
    """
    out = labels.copy()
    n_persons = int(labels.max(initial=-1)) + 1
    if not len(weak) or n_persons == 0:
        return out
    inside = np.flatnonzero(labels >= 0)
    persons = Groups(x[inside], labels[inside])  # count, sum and sum of squares per person, as pass 2 keeps them
    mean = persons.sum / persons.count[:, None]
    mean_sq = persons.sq / persons.count
    banned = _banned(weak, labels, conflicts)
    best = np.full(len(weak), -1, np.int64)
    dist = np.full(len(weak), np.inf)
    for s in range(0, len(weak), _BLOCK):
        w = x[weak[s : s + _BLOCK]].astype(np.float64)
        d2 = np.einsum("ij,ij->i", w, w)[:, None] + mean_sq[None, :] - 2.0 * (w @ mean.T)
        for i, p in banned.get_block(s, len(w)):
            d2[i, p] = np.inf
        at = np.argmin(d2, axis=1)
        near = d2[np.arange(len(w)), at]
        ok = near < threshold * threshold
        best[s : s + len(w)] = np.where(ok, at, -1)
        dist[s : s + len(w)] = np.where(ok, near, np.inf)
    best = _one_per_photo(weak, best, dist, conflicts)
    out[weak] = best
    return out


class _Bans:
    """``(weak position, person)`` pairs a weak face may not join, grouped by weak position."""

    def __init__(self, pos: np.ndarray, person: np.ndarray) -> None:
        order = np.argsort(pos, kind="stable")
        self.pos, self.person = pos[order], person[order]

    def get_block(self, start: int, size: int):
        lo, hi = np.searchsorted(self.pos, [start, start + size])
        return [(self.pos[lo:hi] - start, self.person[lo:hi])] if hi > lo else []


def _banned(weak: np.ndarray, labels: np.ndarray, conflicts: np.ndarray) -> _Bans:
    """The persons each weak face conflicts with (a face of its photo, or a cannot-link, is in them)."""
    pos_of = np.full(len(labels), -1, np.int64)
    pos_of[weak] = np.arange(len(weak))
    if not len(conflicts):
        return _Bans(np.zeros(0, np.int64), np.zeros(0, np.int64))
    a, b = conflicts[:, 0], conflicts[:, 1]
    pos = np.concatenate([pos_of[a], pos_of[b]])
    other = np.concatenate([labels[b], labels[a]])
    keep = (pos >= 0) & (other >= 0)
    return _Bans(pos[keep], other[keep])


def _one_per_photo(weak: np.ndarray, best: np.ndarray, dist: np.ndarray, conflicts: np.ndarray) -> np.ndarray:
    """Where two conflicting weak faces chose one person, the farther one stays unsorted (nearest first)."""
    if not len(conflicts):
        return best
    pos_of = {int(r): i for i, r in enumerate(weak.tolist())}
    pairs = [(pos_of[int(a)], pos_of[int(b)]) for a, b in conflicts.tolist() if int(a) in pos_of and int(b) in pos_of]
    best = best.copy()
    for i, j in sorted(pairs, key=lambda p: min(dist[p[0]], dist[p[1]])):
        if best[i] >= 0 and best[i] == best[j]:
            far = i if dist[i] > dist[j] else j
            best[far] = -1
    return best
