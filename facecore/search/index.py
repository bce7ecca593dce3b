"""Nearest-centroid search (the article's shortcut, generalised with ``nprobe``) and exact search.

The article: compare the query with the K centroids, then only with the
members of the nearest cluster; ``nprobe`` scans the n nearest clusters.
Exact search compares with every face. All distances are Euclidean, computed
with vectorised float32 numpy; the number of comparisons is reported so the
shortcut's saving can be shown.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InvalidParameterError


def distances(vectors: np.ndarray, query: np.ndarray, sq_norms: np.ndarray | None = None) -> np.ndarray:
    """Euclidean distance of each row of ``(n, d)`` ``vectors`` to the ``(d,)`` ``query``.

    ``sq_norms`` (the rows' squared norms) may be passed to skip recomputing them.
    """
    v = np.asarray(vectors, dtype=np.float32)
    q = np.asarray(query, dtype=np.float32).ravel()
    if len(v) == 0:
        return np.empty(0, np.float32)
    if sq_norms is None:
        diff = v - q
        return np.sqrt(np.einsum("ij,ij->i", diff, diff))
    d2 = sq_norms - 2.0 * (v @ q) + float(q @ q)
    return np.sqrt(np.maximum(d2, 0.0))


def pairwise_distances(a: np.ndarray, b: np.ndarray, b_sq: np.ndarray | None = None) -> np.ndarray:
    """``(len(a), len(b))`` Euclidean distances between the rows of two float32 arrays (a block of queries).

    ``b_sq`` (the squared norms of ``b``'s rows) may be passed to skip recomputing them for every block.
    """
    b_sq = np.einsum("ij,ij->i", b, b) if b_sq is None else b_sq
    a_sq = np.einsum("ij,ij->i", a, a)[:, None]
    return np.sqrt(np.maximum(a_sq - 2.0 * (a @ b.T) + b_sq[None, :], 0.0))


def top_k_rows(d: np.ndarray, k: int) -> np.ndarray:
    """Per row of ``(b, n)`` distances, the column indices of the ``k`` smallest, smallest first: ``(b, k)``."""
    part = np.argpartition(d, k - 1, axis=1)[:, :k]
    rows = np.arange(len(d))[:, None]
    return part[rows, np.argsort(d[rows, part], axis=1, kind="stable")]


def top_k(dist: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` smallest values of ``dist``, smallest first."""
    k = min(k, len(dist))
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    part = np.argpartition(dist, k - 1)[:k] if k < len(dist) else np.arange(len(dist))
    return part[np.argsort(dist[part], kind="stable")]


@dataclass(frozen=True)
class ClusterIndex:
    """Cluster membership laid out for fast scans (an inverted file).

    ``centroids`` is ``(k, d)``; ``labels[i]`` is the cluster of face i;
    the members of cluster c are ``order[offsets[c]:offsets[c+1]]``.
    """

    centroids: np.ndarray
    labels: np.ndarray
    order: np.ndarray
    offsets: np.ndarray

    @classmethod
    def build(cls, centroids: np.ndarray, labels: np.ndarray) -> ClusterIndex:
        """Lay out ``labels`` (cluster id per face) around ``(k, d)`` ``centroids``."""
        labels = np.asarray(labels, dtype=np.int64)
        k = len(centroids)
        order = np.argsort(labels, kind="stable")
        offsets = np.concatenate([[0], np.cumsum(np.bincount(labels, minlength=k))])
        return cls(np.asarray(centroids, dtype=np.float32), labels, order, offsets)

    @property
    def k(self) -> int:
        return len(self.centroids)

    def members(self, cluster: int) -> np.ndarray:
        """Indices of the faces in ``cluster``."""
        return self.order[self.offsets[cluster] : self.offsets[cluster + 1]]

    def sizes(self) -> np.ndarray:
        """Number of faces per cluster."""
        return np.diff(self.offsets)

    def probe(self, reduced_queries: np.ndarray, nprobe: int) -> np.ndarray:
        """The ``nprobe`` nearest clusters of each row of ``(b, d)`` queries, nearest first: ``(b, nprobe)``."""
        check_nprobe(nprobe, self.k)
        c_sq = np.einsum("ij,ij->i", self.centroids, self.centroids)
        return top_k_rows(pairwise_distances(reduced_queries, self.centroids, c_sq), nprobe)


@dataclass(frozen=True)
class SearchResult:
    """Ranked hits of one search.

    ``indices``/``distances``: the best hits, nearest first. ``comparisons``:
    distances computed (centroids + scanned faces for cluster search).
    ``clusters``: the probed clusters, nearest first (empty for exact search).
    ``farthest_cluster``: the cluster whose centroid is farthest from the query
    (-1 for exact search). ``scanned``: faces compared.
    """

    indices: np.ndarray
    distances: np.ndarray
    comparisons: int
    scanned: int
    clusters: tuple[int, ...] = ()
    farthest_cluster: int = -1


def exact_search(
    vectors: np.ndarray,
    query: np.ndarray,
    top: int = 10,
    exclude: int | None = None,
    sq_norms: np.ndarray | None = None,
) -> SearchResult:
    """Compare ``query`` with every row of ``vectors``; return the ``top`` nearest.

    ``exclude`` drops one index (the query itself when it is a dataset face).
    """
    if top < 1:
        raise InvalidParameterError(f"top={top} must be >= 1.")
    dist = distances(vectors, query, sq_norms)
    n = compared = len(dist)
    if exclude is not None and 0 <= exclude < n:
        dist = dist.copy()
        dist[exclude] = np.inf
        top = min(top, n - 1)
        compared = n - 1  # the query is not compared with itself
    idx = top_k(dist, top)
    return SearchResult(idx, dist[idx], comparisons=compared, scanned=compared)


def check_nprobe(nprobe: int, k: int) -> None:
    """Raise an error naming the fix when ``nprobe`` is not between 1 and ``k``."""
    if not 1 <= nprobe <= k:
        raise InvalidParameterError(f"nprobe={nprobe} must be between 1 and k={k}: scan fewer clusters.")


def cluster_search(
    index: ClusterIndex,
    reduced_query: np.ndarray,
    vectors: np.ndarray,
    query: np.ndarray,
    nprobe: int = 1,
    top: int = 10,
    exclude: int | None = None,
) -> SearchResult:
    """The article's search: nearest centroid(s) first, then only their members.

    ``reduced_query`` (same space as the centroids) picks the ``nprobe``
    nearest clusters; their members are ranked by distance between
    ``vectors`` rows and ``query`` (e.g. the 128-d encodings, so distances
    keep face_recognition's meaning). Comparisons = k centroids + members scanned.
    """
    check_nprobe(nprobe, index.k)
    if top < 1:
        raise InvalidParameterError(f"top={top} must be >= 1.")
    cdist = distances(index.centroids, reduced_query)
    probe = top_k(cdist, nprobe)
    cand = np.concatenate([index.members(int(c)) for c in probe])
    if exclude is not None:
        cand = cand[cand != exclude]
    dist = distances(vectors[cand], query)
    best = top_k(dist, top)
    return SearchResult(
        indices=cand[best],
        distances=dist[best],
        comparisons=index.k + len(cand),
        scanned=len(cand),
        clusters=tuple(int(c) for c in probe),
        farthest_cluster=int(np.argmax(cdist)),
    )


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    """Share of ``truth`` indices (e.g. exact top-k) that ``found`` also contains."""
    truth = np.asarray(truth)
    if len(truth) == 0:
        return 1.0
    return float(np.isin(truth, np.asarray(found)).mean())
