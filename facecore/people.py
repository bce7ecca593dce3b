"""Faces -> persons without choosing K, with the user's corrections.

Persons are found over a sparse neighbour graph: an edge joins two faces
closer than a radius (Euclidean distance between 128-d encodings), found in
blocks of float32 matrix products (exact up to ``EXACT_GRAPH_UP_TO`` faces)
or inside the buckets of a coarse K-means index above that; never as an n x n
matrix. Grouping then runs in two passes:

1. Chinese whispers (label propagation, Biemann 2006; what dlib's
   ``chinese_whispers`` does) over the edges shorter than
   ``threshold - FIRST_PASS_GAP`` makes tight, nearly pure groups.
2. Groups are merged closest first while their faces are closer than
   ``threshold`` on average. "On average" is the root mean squared distance
   over every pair of faces across the two groups, exact from each group's
   count, sum and sum of squares (average linkage on squared distances), so
   one look-alike pair never merges two persons, as it does in pass 1.

Pass 2 runs in vectorised rounds: every two groups that are each other's
nearest merge at once, which makes the merges of closest first one at a time
(:func:`_merge_groups`). ``method="agglomerative"`` runs pass 2 alone, from
single faces (kept for comparison; refused above ``AGGLOMERATIVE_UP_TO`` faces).

Constraints: two faces of one photo never share a person, nor do
``cannot_link`` pairs: a pass-1 group holding such a pair is broken into
single faces and pass 2 (which never merges across a conflict) rebuilds it.
``must_link`` pairs always share a person: after pass 2 the groups of the
two faces are joined ("same person" is transitive), or, when that would put
a conflicting pair together, only the linked faces move. They carry the
user's corrections (:mod:`facecore.corrections`). Groups smaller than
``min_size`` are "unsorted", not persons. Persons are numbered largest first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from . import settings as S
from .errors import InvalidParameterError, NotEnoughFacesError

#: Thresholds (Euclidean distance between encodings) a grouping accepts.
THRESHOLD_RANGE = (0.3, 0.7)
#: Chosen (with FIRST_PASS_GAP) on a random half of the 150 shared CelebA people and on 30/50-person
#: draws from it: mean pairwise F over those 9 sets 0.963 at 0.6 (0.952 at 0.575, 0.954 at 0.625;
#: gaps of 0.05 and 0.15 did worse or no better). On the other, held-out half: pairwise F 0.932, BCubed F 0.946,
#: against 0.916 / 0.913 for K-means given the true K (bench/people.py). Set in facecore.settings.
DEFAULT_THRESHOLD = S.PEOPLE_THRESHOLD
#: Pass 1 links faces closer than ``threshold - FIRST_PASS_GAP``.
FIRST_PASS_GAP = 0.1
#: Groups of fewer faces are "unsorted": a person has two faces at least (at 2, no score changes:
#: single faces count as singletons either way; 3 cost 0.0002 pairwise F on the tuning half).
DEFAULT_MIN_SIZE = S.PEOPLE_MIN_SIZE
METHODS = ("chinese_whispers", "agglomerative")
#: Above this many faces the graph comes from a coarse index instead of all pairs. Measured on
#: 30,000 synthetic faces at radius 0.6: 3.6 s instead of 11.1 s, missing 89 of 737,025 pairs.
EXACT_GRAPH_UP_TO = 10_000
#: ``method="agglomerative"`` is refused above this many faces (set when its Python merge loop took
#: 7.9 s at 20,000 synthetic faces; in rounds it takes 0.6 s there, 0.1 s for the default method, graph given).
AGGLOMERATIVE_UP_TO = 20_000
#: Each face is put in the buckets of this many nearest index centres.
INDEX_PROBES = 3
#: Each face keeps at most this many nearest neighbours in the graph (bounds memory and time on dense sets).
MAX_NEIGHBOURS = 64

_BLOCK = 1024


# --------------------------------------------------------------------------- faces of a FaceSet


def face_fields(faceset) -> tuple[list[str], list[int], list[str]]:
    """``(digests, number in photo, display names)`` of every face of a FaceSet, in row order.

    The one place that reads FaceSet.faces' attribute names.
    """
    faces = faceset.faces
    return [f.digest for f in faces], [f.in_photo for f in faces], [f.name for f in faces]


def photo_ids(faceset) -> np.ndarray:
    """``(n,)`` int64: faces of the same photo (same content digest) share a number."""
    digests = face_fields(faceset)[0]
    return _codes(digests)


def _codes(values: Sequence | np.ndarray) -> np.ndarray:
    if len(values) == 0:
        return np.zeros(0, np.int64)
    _, inv = np.unique(np.asarray(values), return_inverse=True)
    return inv.reshape(-1).astype(np.int64)


# --------------------------------------------------------------------------- validation


def check_threshold(threshold: float, name: str = "threshold") -> float:
    """Return ``threshold`` as a float, or raise an error naming the allowed range."""
    lo, hi = THRESHOLD_RANGE
    if not isinstance(threshold, (int, float, np.floating)) or not lo <= float(threshold) <= hi:
        raise InvalidParameterError(f"{name}={threshold!r} must be between {lo} and {hi}.")
    return float(threshold)


def _check_encodings(encodings: np.ndarray) -> np.ndarray:
    x = np.asarray(encodings, dtype=np.float32)
    if x.ndim != 2 or x.shape[1] != 128:
        raise InvalidParameterError(f"encodings has shape {x.shape}: pass an (n_faces, 128) array.")
    if not np.isfinite(x).all():
        raise InvalidParameterError("encodings contains NaN or infinity: re-encode the photos.")
    return x


def _check_pairs(pairs, n: int, name: str) -> np.ndarray:
    p = np.asarray(pairs, dtype=np.int64).reshape(-1, 2) if len(pairs) else np.zeros((0, 2), np.int64)
    if p.size and (p.min() < 0 or p.max() >= n):
        raise InvalidParameterError(f"{name} names face rows outside 0..{n - 1}: pass rows of this face set.")
    return p[p[:, 0] != p[:, 1]]


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
    for s in range(0, n, _BLOCK):
        e = min(n, s + _BLOCK)
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
    for s in range(0, len(x), 8 * _BLOCK):
        d = c_sq[None, :] - 2.0 * (x[s : s + 8 * _BLOCK] @ centres.T)
        out[s : s + 8 * _BLOCK] = np.argpartition(d, probes - 1, axis=1)[:, :probes]
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
    x = _check_encodings(encodings)
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


# --------------------------------------------------------------------------- pass 1: Chinese whispers


def _chinese_whispers(m: int, a: np.ndarray, b: np.ndarray, w: np.ndarray, seed: int, max_iter: int = 30) -> np.ndarray:
    """Labels ``(m,)`` of ``m`` nodes after Chinese whispers over undirected weighted edges ``(a, b, w)``.

    Each node takes the label with the largest summed edge weight among its
    neighbours. Nodes are updated in a random order (from ``seed``) in
    several batches per round, each batch at once (vectorised); ties go to
    the smaller label. Stops when a round changes nothing. A node votes again
    only once a neighbour's label has changed since its last vote (else the
    vote would give the label it already has), so late rounds cost little.
    """
    labels = np.arange(m, dtype=np.int64)
    if len(a) == 0:
        return labels
    src = np.concatenate([a, b]).astype(np.int64)
    dst = np.concatenate([b, a]).astype(np.int64)
    wt = np.concatenate([w, w]).astype(np.float64)
    order = np.argsort(src, kind="stable")
    dst, wt = dst[order], wt[order]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(src, minlength=m))])
    active = np.flatnonzero(np.diff(indptr) > 0)
    rng = np.random.default_rng(seed)
    batches = 8
    stale = np.ones(m, bool)  # a neighbour's label changed since this node last voted
    for _ in range(max_iter):
        changed = 0
        perm = rng.permutation(active)
        for batch in np.array_split(perm, min(batches, len(perm))):
            batch = batch[stale[batch]]
            stale[batch] = False
            best = _vote(batch, indptr, dst, wt, labels, m)
            moved = best != labels[batch]
            labels[batch] = best
            changed += int(moved.sum())
            stale[dst[_edges_of(batch[moved], indptr)[1]]] = True
        if changed == 0:
            break
    return labels


def _edges_of(nodes: np.ndarray, indptr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(position in nodes, edge index)`` of every edge of ``nodes`` in a CSR graph."""
    starts, lens = indptr[nodes], indptr[nodes + 1] - indptr[nodes]
    local = np.repeat(np.arange(len(nodes)), lens)
    return local, np.arange(lens.sum()) - np.repeat(np.cumsum(lens) - lens, lens) + np.repeat(starts, lens)


def _vote(nodes: np.ndarray, indptr: np.ndarray, dst: np.ndarray, wt: np.ndarray, labels: np.ndarray, m: int):
    """For each of ``nodes``, the neighbours' label of largest total edge weight (ties: smaller label)."""
    if not len(nodes):
        return np.zeros(0, np.int64)
    local, edge = _edges_of(nodes, indptr)
    # A sparse (node, label) matrix sums the votes per label (and sorts labels within a row) in C.
    votes = sparse.csr_matrix((wt[edge], (local, labels[dst[edge]])), shape=(len(nodes), m))
    votes.sum_duplicates()
    row = np.repeat(np.arange(len(nodes)), np.diff(votes.indptr))
    best = np.maximum.reduceat(votes.data, votes.indptr[:-1])
    hit = np.flatnonzero(votes.data == best[row])
    first = hit[np.concatenate([[True], row[hit][1:] != row[hit][:-1]])]
    return votes.indices[first].astype(np.int64)


# --------------------------------------------------------------------------- pass 2: merge groups on average


class _Groups:
    """Per-group count, sum and sum of squares of encodings: the exact mean squared distance between groups."""

    def __init__(self, x: np.ndarray, labels: np.ndarray) -> None:
        g = int(labels.max()) + 1
        onehot = sparse.csr_matrix((np.ones(len(x)), (labels, np.arange(len(x)))), shape=(g, len(x)))
        self.count = np.bincount(labels, minlength=g).astype(np.float64)
        self.sum = np.asarray(onehot @ x.astype(np.float64))
        self.sq = np.bincount(labels, weights=np.einsum("ij,ij->i", x, x).astype(np.float64), minlength=g)

    def link2(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """``(p,)`` mean squared distance over all face pairs across groups ``a[k]`` and ``b[k]``."""
        dot, step = np.empty(len(a)), 16 * _BLOCK
        for s in range(0, len(a), step):  # in chunks: gathering all of (p, 128) float64 twice is 2 KB a pair
            dot[s : s + step] = np.einsum("ij,ij->i", self.sum[a[s : s + step]], self.sum[b[s : s + step]])
        na, nb = self.count[a], self.count[b]
        return self.sq[a] / na + self.sq[b] / nb - 2.0 * dot / (na * nb)

    def absorb(self, a: np.ndarray, b: np.ndarray) -> None:
        """Add groups ``b`` into groups ``a`` (``(p,)`` each, no group twice)."""
        self.count[a] += self.count[b]
        self.sum[a] += self.sum[b]
        self.sq[a] += self.sq[b]


def _unique_pairs(a: np.ndarray, b: np.ndarray, g: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct unordered pairs ``(lo, hi)``, ``lo < hi``, of groups numbered below ``g``, sorted by ``lo * g + hi``."""
    keep = a != b
    key = np.sort(np.minimum(a, b)[keep].astype(np.int64) * g + np.maximum(a, b)[keep])
    # sort, not np.unique: on millions of wide int64 keys numpy 2.4's hashed unique took ~10 s against 0.1 s
    key = key[np.concatenate([[True], key[1:] != key[:-1]])] if len(key) else key
    return key // g, key % g


def _group_pairs(labels: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct unordered pairs of different groups joined by face pairs ``(a, b)``."""
    return _unique_pairs(labels[a], labels[b], int(labels.max()) + 1)


def _holds(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """``(len(keys),)`` bool: which ``keys`` are in ``sorted_keys`` (ascending)."""
    if not len(sorted_keys):
        return np.zeros(len(keys), bool)
    at = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return sorted_keys[at] == keys


def _mutual_nearest(g: int, lo: np.ndarray, hi: np.ndarray, d2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs ``(u, v)``, ``u < v``, of groups that are each other's nearest over the edges ``(lo, hi, d2)``.

    A group's nearest is the neighbour of smallest ``d2``, ties to the smaller
    number, so the smallest edge (by ``d2``, then ``lo``, then ``hi``) is always mutual.
    """
    src, dst, dd = np.concatenate([lo, hi]), np.concatenate([hi, lo]), np.concatenate([d2, d2])
    best = np.full(g, np.inf)
    np.minimum.at(best, src, dd)
    tie = dd == best[src]
    nearest = np.full(g, g, np.int64)
    np.minimum.at(nearest, src[tie], dst[tie])
    u = np.flatnonzero(nearest < g)
    u = u[(nearest[nearest[u]] == u) & (u < nearest[u])]
    return u, nearest[u]


def _renamed(lo: np.ndarray, hi: np.ndarray, root: np.ndarray, moved: np.ndarray):
    """``(mask of the pairs no merge touched, (lo, hi) of the touched ones renamed to their new groups)``."""
    touched = moved[lo] | moved[hi]
    return ~touched, _unique_pairs(root[lo[touched]], root[hi[touched]], len(root))


def _merge_round(stats: _Groups, root: np.ndarray, edges: tuple, foes: tuple, t2: float) -> tuple[tuple, tuple]:
    """Merge every mutual-nearest pair of groups at once; return the new ``edges`` and ``foes``.

    ``edges`` are ``(lo, hi, d2)`` pairs of groups that may merge (linkage
    below ``t2``, no conflict), ``foes`` ``(lo, hi)`` pairs that never may.
    ``root`` maps each merged-away group to the group it joined.
    """
    lo, hi, d2 = edges
    u, v = _mutual_nearest(len(root), lo, hi, d2)
    stats.absorb(u, v)
    root[v] = u
    g = len(root)
    moved = np.zeros(g, bool)
    moved[u] = moved[v] = True
    keep, (flo, fhi) = _renamed(*foes, root, moved)
    same, (a, b) = _renamed(lo, hi, root, moved)
    ok = ~_holds(flo * g + fhi, a * g + b)  # a pair touching a merged group is a foe only through the renamed foes
    a, b = a[ok], b[ok]
    near = stats.link2(a, b) if len(a) else np.zeros(0)
    a, b, near = a[near < t2], b[near < t2], near[near < t2]
    lo, hi, d2 = np.concatenate([lo[same], a]), np.concatenate([hi[same], b]), np.concatenate([d2[same], near])
    flo, fhi = np.concatenate([foes[0][keep], flo]), np.concatenate([foes[1][keep], fhi])
    return (lo, hi, d2), _live_foes(g, lo, hi, flo, fhi)


def _live_foes(g: int, lo: np.ndarray, hi: np.ndarray, flo: np.ndarray, fhi: np.ndarray) -> tuple:
    """The foe pairs whose two groups both still have an edge (a group without one never gets one again)."""
    live = np.zeros(g, bool)
    live[lo] = live[hi] = True
    keep = live[flo] & live[fhi]
    return flo[keep], fhi[keep]


def _merge_groups(x: np.ndarray, labels: np.ndarray, edges: tuple, conflicts: np.ndarray, threshold: float):
    """Merge groups closest first while their RMS cross distance is below ``threshold``; return labels.

    ``edges`` are face pairs closer than ``threshold`` (every group pair that
    can qualify has one, since the smallest cross distance is at most the
    RMS). ``conflicts`` are ``(c, 2)`` face pairs that must stay apart.
    Merged linkage is the size-weighted mean of the two old ones, so a pair
    above the threshold before a merge needs another close neighbour after it.

    Vectorised in rounds: every pair of groups that are each other's nearest
    merges at once (reciprocal nearest neighbours). The linkage is reducible
    (a merged group is never nearer a third group than the nearer of its two
    parts, and a conflict stays a conflict), so these are the merges made
    one at a time closest first. Exactly so when the graph holds every face
    pair below the threshold; where ``max_neighbours`` left pairs out, a merge
    can bring a group newly into reach and a few merges differ (on 100,000
    dense faces: 52,549 merges instead of 52,529, pairwise F 0.990 between the two).
    """
    labels = _codes(labels)
    stats = _Groups(x, labels)
    g, t2 = len(stats.count), threshold * threshold
    lo, hi = _group_pairs(labels, edges[0], edges[1])
    foes = _group_pairs(labels, conflicts[:, 0], conflicts[:, 1]) if len(conflicts) else (lo[:0], hi[:0])
    free = ~_holds(foes[0] * g + foes[1], lo * g + hi)  # faces of one photo are often each other's nearest
    lo, hi = lo[free], hi[free]
    d2 = stats.link2(lo, hi) if len(lo) else np.zeros(0)
    edges, root = (lo[d2 < t2], hi[d2 < t2], d2[d2 < t2]), np.arange(g)
    foes = _live_foes(g, *edges[:2], *foes)
    while len(edges[0]):
        edges, foes = _merge_round(stats, root, edges, foes, t2)
    while not np.array_equal(root[root], root):  # a group joined a group that joined another: follow to the end
        root = root[root]
    return root[labels]


# --------------------------------------------------------------------------- constraints


def _same_photo_pairs(photos: np.ndarray) -> np.ndarray:
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


def _components(n: int, must: np.ndarray, conflicts: np.ndarray) -> np.ndarray:
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


def _dissolve_conflicts(labels: np.ndarray, conflicts: np.ndarray) -> np.ndarray:
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


def _join_must_links(labels: np.ndarray, comp: np.ndarray, conflicts: np.ndarray) -> np.ndarray:
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


# --------------------------------------------------------------------------- grouping


@dataclass(frozen=True, eq=False)
class Grouping:
    """Faces grouped into persons.

    ``labels`` is ``(n,)`` int32: the person of each face row, 0 for the
    largest person, ``-1`` for unsorted faces (in a group smaller than
    ``min_size``). ``threshold`` is in encoding distance units.
    """

    labels: np.ndarray
    threshold: float
    min_size: int
    method: str
    seed: int

    @property
    def n_persons(self) -> int:
        return int(self.labels.max(initial=-1)) + 1

    @property
    def sizes(self) -> np.ndarray:
        """``(n_persons,)`` faces per person, largest first."""
        return np.bincount(self.labels[self.labels >= 0], minlength=self.n_persons)

    def members(self, person: int) -> np.ndarray:
        """Face rows of ``person`` (ascending)."""
        if not 0 <= person < self.n_persons:
            raise InvalidParameterError(f"person={person} must be between 0 and {self.n_persons - 1}.")
        return np.flatnonzero(self.labels == person)

    @property
    def unsorted(self) -> np.ndarray:
        """Face rows in no person."""
        return np.flatnonzero(self.labels < 0)


def _finish(labels: np.ndarray, min_size: int, keep: np.ndarray) -> np.ndarray:
    """Renumber groups largest first (ties: lowest face row); groups below ``min_size`` become -1."""
    labels = _codes(labels)
    sizes = np.bincount(labels)
    first = np.full(len(sizes), len(labels))
    np.minimum.at(first, labels, np.arange(len(labels)))
    person = sizes >= min_size
    person[labels[keep]] = True
    order = np.lexsort((first, -sizes))
    order = order[person[order]]
    rank = np.full(len(sizes), -1, np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32)
    return rank[labels]


def _check_group_args(x: np.ndarray, photo_ids, threshold: float, min_size: int, method: str) -> np.ndarray:
    check_threshold(threshold)
    if method not in METHODS:
        raise InvalidParameterError(f"method must be one of {METHODS}, got {method!r}.")
    if not isinstance(min_size, (int, np.integer)) or not 1 <= min_size <= 1000:
        raise InvalidParameterError(f"min_size={min_size!r} must be an integer between 1 and 1000.")
    if len(photo_ids) != len(x):
        raise InvalidParameterError(
            f"photo_ids has {len(photo_ids)} entries but encodings has {len(x)} rows: pass one per face."
        )
    if method == "agglomerative" and len(x) > AGGLOMERATIVE_UP_TO:
        raise InvalidParameterError(
            f"method='agglomerative' is limited to {AGGLOMERATIVE_UP_TO} faces (got {len(x)}): "
            "use method='chinese_whispers'."
        )
    return _codes(photo_ids)


def group_faces(
    encodings: np.ndarray,
    photo_ids: Sequence | np.ndarray,
    threshold: float = DEFAULT_THRESHOLD,
    min_size: int = DEFAULT_MIN_SIZE,
    seed: int = 0,
    must_link: Sequence[tuple[int, int]] | np.ndarray = (),
    cannot_link: Sequence[tuple[int, int]] | np.ndarray = (),
    method: str = "chinese_whispers",
    *,
    keep: Sequence[int] | np.ndarray = (),
    graph: NeighbourGraph | None = None,
) -> Grouping:
    """Group ``(n, 128)`` encodings into persons without a K; return a :class:`Grouping`.

    ``photo_ids`` (``(n,)``, any hashable: digests or ints) marks faces of
    one photo, which never share a person. ``threshold`` (0.3-0.7, encoding
    distance) is the largest RMS distance between the faces of two groups
    that still merges them. ``must_link`` / ``cannot_link`` are ``(k, 2)``
    face rows kept together (their groups are joined) / apart; ``keep`` rows make their group a person
    whatever its size (named faces). ``graph`` reuses a
    :func:`neighbour_graph` of radius >= threshold. Same inputs and ``seed``
    give the same labels.
    """
    x = _check_encodings(encodings)
    photos = _check_group_args(x, photo_ids, threshold, min_size, method)
    n = len(x)
    if n == 0:
        raise NotEnoughFacesError("n_faces=0: add photos with faces before grouping them into persons.")
    must = _check_pairs(must_link, n, "must_link")
    conflicts = np.concatenate([_check_pairs(cannot_link, n, "cannot_link"), _same_photo_pairs(photos)])
    keep_rows = np.asarray(keep, dtype=np.int64).reshape(-1)
    if keep_rows.size and (keep_rows.min() < 0 or keep_rows.max() >= n):
        raise InvalidParameterError(f"keep names face rows outside 0..{n - 1}: pass rows of this face set.")
    comp = _components(n, must, conflicts)
    if graph is None:
        graph = neighbour_graph(x, threshold, seed=seed)
    elif graph.n != n:
        raise InvalidParameterError(f"graph has {graph.n} faces but encodings has {n}: build it from these encodings.")
    a, b, d = graph.below(threshold)
    labels = np.arange(n)
    if method == "chinese_whispers":
        tight = d < threshold - FIRST_PASS_GAP
        cw = _chinese_whispers(n, a[tight], b[tight], np.ones(int(tight.sum())), seed)
        labels = _dissolve_conflicts(cw, conflicts)
    labels = _merge_groups(x, labels, (a, b), conflicts, threshold)
    labels = _join_must_links(labels, comp, conflicts)
    return Grouping(_finish(labels, min_size, keep_rows), float(threshold), int(min_size), method, int(seed))


def group_faceset(
    faceset,
    threshold: float = DEFAULT_THRESHOLD,
    min_size: int = DEFAULT_MIN_SIZE,
    *,
    constraints: Constraints | None = None,
    seed: int = 0,
    method: str = "chinese_whispers",
    graph: NeighbourGraph | None = None,
) -> Grouping:
    """:func:`group_faces` over a FaceSet, with corrections from :func:`facecore.corrections.load_corrections`."""
    c = constraints or Constraints.none()
    return group_faces(
        faceset.encodings,
        photo_ids(faceset),
        threshold,
        min_size,
        seed,
        c.must_link,
        c.cannot_link,
        method,
        keep=c.keep,
        graph=graph,
    )


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


def name_persons(grouping: Grouping, names: Mapping[str, Sequence[int] | np.ndarray]) -> tuple[str | None, ...]:
    """The name of each person of ``grouping`` (None when unnamed), from each name's anchor face rows.

    A name goes to the person holding most of its anchors, so it follows the
    person across regroupings at any threshold; a person takes at most one
    name. Conflicts are settled greedily, most anchors first (then larger
    person, then the name in alphabetical order); a name whose anchors are
    all unsorted names nobody.
    """
    votes = []
    for name, rows in names.items():
        labels = grouping.labels[np.asarray(rows, np.int64)]
        labels = labels[labels >= 0]
        for person, count in zip(*np.unique(labels, return_counts=True), strict=True):
            votes.append((-int(count), int(person), name))
    out: list[str | None] = [None] * grouping.n_persons
    used: set[str] = set()
    for _, person, name in sorted(votes):  # person numbers grow as sizes shrink: larger person first
        if out[person] is None and name not in used:
            out[person] = name
            used.add(name)
    return tuple(out)


def anchor_rows(encodings: np.ndarray, rows: Sequence[int] | np.ndarray, count: int = 5) -> np.ndarray:
    """The ``count`` rows among ``rows`` nearest their mean encoding: a person's most typical faces.

    Corrections are recorded on these anchor faces, so they keep meaning
    after a regrouping splits or merges the groups they were made on.
    """
    rows = np.asarray(rows, np.int64)
    if len(rows) <= count:
        return np.sort(rows)
    x = np.asarray(encodings, np.float32)[rows]
    d = np.linalg.norm(x - x.mean(axis=0), axis=1)
    return np.sort(rows[np.argsort(d, kind="stable")[:count]])


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
    x = _check_encodings(encodings)
    if not isinstance(top, (int, np.integer)) or top < 1:
        raise InvalidParameterError(f"top={top!r} must be a positive integer.")
    p = grouping.n_persons
    if p < 2:
        return ()
    labels = grouping.labels.astype(np.int64)
    inside = labels >= 0
    stats = _Groups(x[inside], labels[inside])
    conflicts = np.concatenate([_check_pairs(cannot_link, len(x), "cannot_link"), _same_photo_pairs(_codes(photo_ids))])
    la, lb = labels[conflicts[:, 0]], labels[conflicts[:, 1]]
    ok = (la >= 0) & (lb >= 0) & (la != lb)
    banned = np.unique(np.minimum(la, lb)[ok] * p + np.maximum(la, lb)[ok])
    found = []
    for s in range(0, p, _BLOCK):
        rows = np.arange(s, min(p, s + _BLOCK))
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
    is :func:`facecore.corrections.split_person`.
    """
    rows = grouping.members(person)
    t = max(THRESHOLD_RANGE[0], grouping.threshold - FIRST_PASS_GAP) if threshold is None else threshold
    x = _check_encodings(encodings)
    photos = _codes(photo_ids)
    if len(photos) != len(x):
        raise InvalidParameterError(f"photo_ids has {len(photos)} entries but encodings has {len(x)} rows.")
    sub = group_faces(x[rows], photos[rows], t, min_size=1, seed=seed)
    return tuple(rows[sub.labels == k] for k in range(sub.n_persons))


# --------------------------------------------------------------------------- report (CLI --json, app)


def rows_by_person(grouping: Grouping) -> list[np.ndarray]:
    """Face rows of every person, person 0 first (one sort, not one scan per person)."""
    order = np.argsort(grouping.labels, kind="stable")
    bounds = np.searchsorted(grouping.labels[order], np.arange(grouping.n_persons + 1))
    return [order[bounds[p] : bounds[p + 1]] for p in range(grouping.n_persons)]


def _report_scores(faceset, grouping: Grouping, seed: int, kmeans: bool) -> dict | None:
    from .grouping_quality import kmeans_labels, score_labels

    persons = faceset.persons
    known = sorted({p for p in persons if p is not None})
    if sum(p is not None for p in persons) < 2:
        return None
    s = score_labels(persons, grouping.labels)
    out = {k: v for k, v in s.as_dict().items() if k not in ("faces", "groups", "unsorted")}
    if kmeans and 2 <= len(known) <= len(persons):
        km = score_labels(persons, kmeans_labels(faceset.encodings, len(known), seed))
        out.update(kmeans_k=len(known), kmeans_pairwise_f=km.pairwise_f, kmeans_bcubed_f=km.bcubed_f)
    return out


def people_report(
    faceset,
    threshold: float = DEFAULT_THRESHOLD,
    min_size: int = DEFAULT_MIN_SIZE,
    *,
    constraints: Constraints | None = None,
    seed: int = 0,
    kmeans: bool = True,
) -> dict:
    """Group a FaceSet into persons; return a JSON-ready dict (what ``python -m facecore people --json`` prints).

    ``{"threshold", "min_size", "faces", "persons": [{"id", "name", "size", "paths"}], "unsorted": [paths],
    "scores": {...} or None}``. Scores (pairwise and BCubed precision/recall/F, and K-means with the true K
    when ``kmeans``) need folder names; they are None when fewer than two faces have one.
    """
    c = constraints or Constraints.none()
    g = group_faceset(faceset, threshold, min_size, constraints=c, seed=seed)
    names = name_persons(g, c.names)
    display = face_fields(faceset)[2]
    persons = [
        {"id": i, "name": names[i], "size": len(rows), "paths": [display[r] for r in rows]}
        for i, rows in enumerate(rows_by_person(g))
    ]
    return {
        "threshold": g.threshold,
        "min_size": g.min_size,
        "faces": len(display),
        "persons": persons,
        "unsorted": [display[r] for r in g.unsorted],
        "scores": _report_scores(faceset, g, seed, kmeans),
    }
