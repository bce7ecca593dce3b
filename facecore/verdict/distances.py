"""Distances between faces whose folders name the people: the labelled faces sorted by person, the
same-person and different-person pair distances (exact, or a uniform sample above ``MAX_PAIRS``) and
their histograms. Euclidean distances between 128-d encodings, vectorised numpy computed in blocks
of rows, so no n x n matrix is ever held.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InvalidParameterError

#: Shared bin edges of the distance histograms: 0 to 1.2 in steps of 0.025.
BIN_EDGES: tuple[float, ...] = tuple(round(0.025 * i, 3) for i in range(49))
#: Above this many pairs of one kind, a uniform random sample of this many is measured.
MAX_PAIRS = 3_000_000
_BLOCK_ELEMENTS = 4_000_000  # distances per block: 16 MB of float32


# --------------------------------------------------------------------------- labelled faces


@dataclass(frozen=True)
class LabelledFaces:
    """The faces that have a person, sorted by person: ``x`` (m, 128) float32, ``pid`` (m,)."""

    x: np.ndarray
    pid: np.ndarray
    starts: np.ndarray  # (P,) first row of each person
    sizes: np.ndarray  # (P,) faces of each person
    names: tuple[str, ...]


def labelled_faces(encodings: np.ndarray, persons: Sequence[str | None]) -> LabelledFaces:
    """Keep the faces whose person is known, grouped by person (stable order within a person)."""
    x = np.asarray(encodings, dtype=np.float32)
    if x.ndim != 2:
        raise InvalidParameterError(f"encodings must be 2-D (n_faces, 128), got shape {x.shape}")
    if len(persons) != len(x):
        raise InvalidParameterError(f"persons has {len(persons)} entries for {len(x)} faces")
    names = tuple(sorted({p for p in persons if p is not None}))
    code = {p: i for i, p in enumerate(names)}
    pid = np.array([code[p] if p is not None else -1 for p in persons], dtype=np.int64)
    keep = np.flatnonzero(pid >= 0)
    order = keep[np.argsort(pid[keep], kind="stable")]
    pid = pid[order]
    sizes = np.bincount(pid, minlength=len(names))
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    return LabelledFaces(x[order], pid, starts, sizes, names)


def block_rows(n_columns: int) -> int:
    return max(1, min(2048, _BLOCK_ELEMENTS // max(n_columns, 1)))


def pairwise_distances(a: np.ndarray, b: np.ndarray, b_sq: np.ndarray) -> np.ndarray:
    """Euclidean distances ``(len(a), len(b))`` float32 from rows of a to rows of b."""
    a_sq = np.einsum("ij,ij->i", a, a)[:, None]
    return np.sqrt(np.maximum(a_sq - 2.0 * (a @ b.T) + b_sq[None, :], 0.0))


def _row_dist(x: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Distances of the pairs ``(i[k], j[k])``, float32, in chunks of 500k pairs."""
    out = np.empty(len(i), np.float32)
    for s in range(0, len(i), 500_000):
        diff = x[i[s : s + 500_000]] - x[j[s : s + 500_000]]
        out[s : s + 500_000] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
    return out


# --------------------------------------------------------------------------- pair distances


def _exact_pairs(lab: LabelledFaces, same: bool) -> np.ndarray:
    """Distances of every unordered same-person (or different-person) pair, float32."""
    x, pid, m = lab.x, lab.pid, len(lab.pid)
    sq = np.einsum("ij,ij->i", x, x)
    ends = lab.starts + lab.sizes
    widest = int(lab.sizes.max()) if len(lab.sizes) else 0
    step = block_rows(widest + 1024) if same else block_rows(m)
    out: list[np.ndarray] = []
    for r0 in range(0, m, step):
        r1 = min(m, r0 + step)
        # only columns after the row are needed; same-person ones end with the block's last person
        c1 = int(ends[pid[r1 - 1]]) if same else m
        d = pairwise_distances(x[r0:r1], x[r0:c1], sq[r0:c1])
        rows = np.arange(r0, r1)[:, None]
        cols = np.arange(r0, c1)[None, :]
        mask = (pid[r0:r1, None] == pid[None, r0:c1]) == same
        out.append(d[mask & (cols > rows)])
    return np.concatenate(out) if out else np.empty(0, np.float32)


def _sampled_pairs(lab: LabelledFaces, same: bool, k: int, rng: np.random.Generator) -> np.ndarray:
    """Distances of ``k`` ordered pairs drawn uniformly (with replacement) among pairs of one kind."""
    m, size = len(lab.pid), lab.sizes[lab.pid]
    start = lab.starts[lab.pid]
    partners = size - 1 if same else m - size  # how many faces each face pairs with
    i = rng.choice(m, size=k, p=partners / partners.sum())
    r = rng.integers(0, partners[i])
    if same:  # r-th other face of i's person
        j = start[i] + r + (r >= i - start[i])
    else:  # r-th face outside i's person
        j = np.where(r < start[i], r, r + size[i])
    return _row_dist(lab.x, i, j)


def _pair_totals(lab: LabelledFaces) -> tuple[int, int]:
    m = len(lab.pid)
    same = int((lab.sizes * (lab.sizes - 1) // 2).sum())
    return same, m * (m - 1) // 2 - same


def pair_distances(lab: LabelledFaces, max_pairs: int, seed: int) -> tuple[np.ndarray, np.ndarray, int, int]:
    """(same distances, different distances, same total, different total) as described in
    :func:`distance_distributions`."""
    if max_pairs < 1:
        raise InvalidParameterError(f"max_pairs={max_pairs} should be >= 1")
    rng = np.random.default_rng(seed)
    n_same, n_diff = _pair_totals(lab)
    m = len(lab.pid)
    same = _exact_pairs(lab, True) if n_same <= max_pairs else _sampled_pairs(lab, True, max_pairs, rng)
    if n_diff == 0:
        diff = np.empty(0, np.float32)
    elif m * (m - 1) // 2 <= max_pairs:
        diff = _exact_pairs(lab, False)
    else:
        diff = _sampled_pairs(lab, False, max_pairs, rng)
    return same, diff, n_same, n_diff


@dataclass(frozen=True)
class DistanceDistributions:
    """Histograms of same-person and different-person pair distances on shared bins.

    ``edges`` has len(bins) + 1 entries (0 to 1.2 by default); a distance at or
    above the last edge counts in the last bin. ``*_counts`` count the pairs
    measured; ``*pair_distances`` is how many pairs of that kind the collection has and
    ``*_measured`` how many were measured (fewer when sampled).
    """

    edges: tuple[float, ...]
    same_counts: tuple[int, ...]
    different_counts: tuple[int, ...]
    same_pairs: int
    different_pairs: int
    same_measured: int
    different_measured: int
    faces: int
    persons: int

    @property
    def sampled(self) -> bool:
        """True when some kind of pair was sampled rather than measured in full."""
        return self.same_measured != self.same_pairs or self.different_measured != self.different_pairs


def _histogram(d: np.ndarray, edges: np.ndarray) -> tuple[int, ...]:
    clipped = np.minimum(d, np.nextafter(edges[-1], -np.inf))
    return tuple(int(c) for c in np.histogram(clipped, bins=edges)[0])


def distance_distributions(
    encodings: np.ndarray,
    persons: Sequence[str | None],
    edges: Sequence[float] = BIN_EDGES,
    max_pairs: int = MAX_PAIRS,
    seed: int = 0,
) -> DistanceDistributions:
    """Histogram the distances of same-person and different-person pairs.

    ``encodings`` is ``(n, 128)``; ``persons[i]`` names face i's person (its
    folder) or is None (that face is left out). Pairs are unordered, a face
    is never paired with itself. A kind of pair with at most ``max_pairs``
    pairs is measured in full; above that, ``max_pairs`` pairs of that kind
    are drawn uniformly at random (with replacement, seeded): each face is
    drawn with a weight equal to its number of partners of that kind, then a
    partner uniformly, so the work is O(max_pairs) at any size (different-person
    pairs are measured in full only while the collection has at most
    ``max_pairs`` pairs in all, about 2,450 faces at the default).
    """
    e = np.asarray(edges, dtype=np.float64)
    if e.ndim != 1 or len(e) < 2 or np.any(np.diff(e) <= 0):
        raise InvalidParameterError(f"edges must be at least two increasing distances, got {tuple(edges)}")
    lab = labelled_faces(encodings, persons)
    same, diff, n_same, n_diff = pair_distances(lab, max_pairs, seed)
    return DistanceDistributions(
        edges=tuple(float(v) for v in e),
        same_counts=_histogram(same, e),
        different_counts=_histogram(diff, e),
        same_pairs=n_same,
        different_pairs=n_diff,
        same_measured=len(same),
        different_measured=len(diff),
        faces=len(lab.pid),
        persons=len(lab.names),
    )
