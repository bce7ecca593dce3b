"""The neighbour graph persons are found over: an edge joins two faces closer than a radius (Euclidean
distance between 128-d encodings), found in blocks of float32 matrix products (exact up to
``EXACT_GRAPH_UP_TO`` faces) or inside the buckets of a coarse K-means index above that; never as an
n x n matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from ..errors import InvalidParameterError
from .faces import check_encodings, check_threshold

#: Above this many faces the graph comes from a coarse index instead of all pairs. Measured on
#: 30,000 synthetic faces at radius 0.6: 3.6 s instead of 11.1 s, missing 89 of 737,025 pairs.
EXACT_GRAPH_UP_TO = 10_000
#: Each face is put in the buckets of this many nearest index centres.
INDEX_PROBES = 3
#: Each face keeps at most this many nearest neighbours in the graph (bounds memory and time on dense sets).
MAX_NEIGHBOURS = 64

BLOCK = 1024


# --------------------------------------------------------------------------- neighbour graph


@dataclass(frozen=True, eq=False)
class NeighbourGraph:
    """Pairs of faces closer than ``radius``, each pair once (``rows < cols``).

    ``rows``/``cols`` are ``(e,)`` int32 face rows, ``dist`` ``(e,)`` float32
    Euclidean distances. A pair is kept when one face is among the other's
    ``max_neighbours`` nearest within the radius. ``exact`` is False when the
    pairs come from the coarse index (a few pairs near the radius may be missing).
    """

    n: int
    radius: float
    max_neighbours: int
    rows: np.ndarray
    cols: np.ndarray
    dist: np.ndarray
    exact: bool

    def below(self, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(rows, cols, dist)`` of the pairs closer than ``threshold`` (<= radius).

        Filtering keeps what a graph built at ``threshold`` would hold: each
        face's nearest neighbours below the radius, cut at the threshold, are
        its nearest below the threshold.
        """
        if threshold > self.radius + 1e-9:
            raise InvalidParameterError(
                f"threshold={threshold} must be <= the graph's radius={self.radius}: build the graph "
                "with a larger radius."
            )
        keep = self.dist < threshold
        return self.rows[keep], self.cols[keep], self.dist[keep]


def _nearest_in_rows(i: np.ndarray, j: np.ndarray, d: np.ndarray, cap: int):
    """Keep, for each value of ``i``, the ``cap`` pairs of smallest ``d`` (``d`` >= 0)."""
    # Non-negative float32 bits sort like the floats: one int64 key (row, distance), one sort.
    order = np.argsort((i.astype(np.int64) << 32) | d.astype(np.float32).view(np.uint32), kind="stable")
    i, j, d = i[order], j[order], d[order]
    starts = np.flatnonzero(np.concatenate([[True], i[1:] != i[:-1]]))
    rank = np.arange(len(i)) - np.repeat(starts, np.diff(np.concatenate([starts, [len(i)]])))
    keep = rank < cap
    return i[keep], j[keep], d[keep]


def _pairs_within(x: np.ndarray, radius: float, cap: int, ids: np.ndarray | None = None):
    """Directed pairs (i, j): j among the ``cap`` nearest rows of ``x`` to row i closer than ``radius``.

    Blocks of 1,024 rows against every row (so each row sees all its
    candidates at once and memory stays at one block plus what is kept).
    Returns ``(i, j, dist)``; ``ids`` maps row numbers to face rows.
    """
    n = len(x)
    half = 0.5 * np.einsum("ij,ij->i", x, x)
    out_i, out_j, out_d = [], [], []
    for s in range(0, n, BLOCK):
        e = min(n, s + BLOCK)
        g = x[s:e] @ x.T  # (b, n)
        g -= half[None, :]
        g[np.arange(e - s), np.arange(s, e)] = -np.inf  # a face is not its own neighbour
        # |xi - xj|^2 < r^2  <=>  xi.xj - |xj|^2/2 > |xi|^2/2 - r^2/2
        hit = g > (half[s:e] - 0.5 * radius * radius)[:, None]
        crowded = np.flatnonzero(hit.sum(axis=1) > cap)
        if len(crowded):  # more than cap candidates: keep the cap nearest (largest g)
            top = np.argpartition(g[crowded], n - cap, axis=1)[:, n - cap :]
            hit[crowded] = False
            hit[crowded[:, None], top] = True
        i, j = np.nonzero(hit)
        out_i.append(i + s)
        out_j.append(j)
        out_d.append(np.sqrt(np.maximum(2.0 * (half[s + i] - g[i, j]), 0.0)).astype(np.float32))
    i, j, d = (np.concatenate(v) for v in (out_i, out_j, out_d))
    i, j = (ids[i], ids[j]) if ids is not None else (i, j)
    return i.astype(np.int32), j.astype(np.int32), d


def _nearest_centroids(x: np.ndarray, centres: np.ndarray, probes: int) -> np.ndarray:
    """``(n, probes)`` indices of each face's nearest centres, in blocks of faces."""
    c_sq = np.einsum("ij,ij->i", centres, centres)
    out = np.empty((len(x), probes), np.int64)
    for s in range(0, len(x), 8 * BLOCK):
        d = c_sq[None, :] - 2.0 * (x[s : s + 8 * BLOCK] @ centres.T)
        out[s : s + 8 * BLOCK] = np.argpartition(d, probes - 1, axis=1)[:, :probes]
    return out


def _index_centres(x: np.ndarray, k: int, seed: int, rounds: int = 4) -> np.ndarray:
    """``(k, 128)`` float32 centres of a coarse index: random faces moved by a few K-means rounds on a sample."""
    rng = np.random.default_rng(seed)
    sample = x[rng.choice(len(x), size=min(len(x), 40 * k), replace=False)]
    centres = sample[rng.choice(len(sample), size=k, replace=False)].copy()
    for _ in range(rounds):
        near = _nearest_centroids(sample, centres, 1)[:, 0]
        counts = np.bincount(near, minlength=k)
        onehot = sparse.csr_matrix((np.ones(len(near)), (near, np.arange(len(near)))), shape=(k, len(near)))
        sums = np.asarray(onehot @ sample)
        moved = counts > 0  # an empty centre stays where it is
        centres[moved] = (sums[moved] / counts[moved, None]).astype(np.float32)
    return centres


def _indexed_pairs(x: np.ndarray, radius: float, cap: int, seed: int, probes: int):
    """Directed nearest pairs below ``radius`` among faces sharing one of their ``probes`` nearest index centres.

    The index has about sqrt(n) centres (:func:`_index_centres`); each face
    joins the buckets of its ``probes`` nearest centres and is compared with
    every face of those buckets: about probes^2 * n^1.5 distances instead of
    n^2. A pair is missed only when the two faces share none of their nearest
    centres (see ``EXACT_GRAPH_UP_TO``).
    """
    n = len(x)
    k = max(2, int(round(np.sqrt(n))))
    near = _nearest_centroids(x, _index_centres(x, k, seed), min(probes, k))
    bucket = near.ravel()
    face = np.repeat(np.arange(n), near.shape[1])
    order = np.argsort(bucket, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(bucket, minlength=k))])
    parts = [_pairs_within(x[m], radius, cap, m) for m in (face[order[bounds[b] : bounds[b + 1]]] for b in range(k))]
    i, j, d = (np.concatenate([p[t] for p in parts]) for t in range(3))
    _, first = np.unique(i.astype(np.int64) * n + j, return_index=True)  # a pair found in several buckets counts once
    return _nearest_in_rows(i[first], j[first], d[first], cap)


def neighbour_graph(
    encodings: np.ndarray,
    radius: float,
    *,
    max_neighbours: int = MAX_NEIGHBOURS,
    exact: bool | None = None,
    seed: int = 0,
) -> NeighbourGraph:
    """Pairs of ``(n, 128)`` encodings closer than ``radius``; return a :class:`NeighbourGraph`.

    Each face keeps its ``max_neighbours`` nearest faces below the radius
    (a pair stays if either face keeps the other). Exact (every face against
    every face, in blocks of 1,024) up to ``EXACT_GRAPH_UP_TO`` faces, else
    from a coarse index; ``exact=True``/``False`` forces one. Memory: 12 bytes
    per kept pair (at most n * max_neighbours) plus one 1,024 x n float32 block
    (a 1,024 x bucket block with the index). A graph built once at the largest
    threshold serves every smaller one (:meth:`NeighbourGraph.below`).
    """
    x = check_encodings(encodings)
    radius = check_threshold(radius, "radius")
    if not isinstance(max_neighbours, (int, np.integer)) or max_neighbours < 1:
        raise InvalidParameterError(f"max_neighbours={max_neighbours!r} must be a positive integer, e.g. 64.")
    use_exact = len(x) <= EXACT_GRAPH_UP_TO if exact is None else exact
    if len(x) < 2:
        none = np.zeros(0, np.int32)
        return NeighbourGraph(len(x), radius, int(max_neighbours), none, none, np.zeros(0, np.float32), True)
    if use_exact:
        i, j, d = _pairs_within(x, radius, max_neighbours)
    else:
        i, j, d = _indexed_pairs(x, radius, max_neighbours, seed, INDEX_PROBES)
    lo, hi = np.minimum(i, j).astype(np.int64), np.maximum(i, j).astype(np.int64)
    _, first = np.unique(lo * len(x) + hi, return_index=True)  # (i, j) and (j, i) are one pair
    return NeighbourGraph(
        len(x),
        radius,
        int(max_neighbours),
        lo[first].astype(np.int32),
        hi[first].astype(np.int32),
        d[first].astype(np.float32),
        bool(use_exact),
    )
