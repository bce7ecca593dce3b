"""Identity-aware quality metrics, when folder names say who is in each photo.

Every face whose person has at least one other face is used as a query
against all the others (leave-one-out). Reported: precision@k of exact search
(128-d and PCA space) and of the cluster search, the share of the exact
top-k that the cluster search keeps, comparisons per query, and cluster
purity. Computed in blocks of queries with float32 matrix products: no loop
over faces.

It also names the pairs of folders whose faces most often come back as each
other's nearest neighbours: on real collections these are usually the same
person filed under two names (or twins), which caps any search's precision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from ..errors import NotEnoughFacesError
from .index import pairwise_distances, top_k_rows
from .similarity import SimilarityModel

_BLOCK = 1024


@dataclass(frozen=True)
class ConfusedPair:
    """Two persons whose faces fill each other's exact top-k results."""

    a: str
    b: str
    #: results of a's queries that are b's faces plus the reverse
    results: int
    #: that count over all top-k results of both persons' queries
    share: float


@dataclass(frozen=True)
class Evaluation:
    """Leave-one-out retrieval quality over the queries that have a same-person face."""

    faces: int
    queries: int
    persons: int
    top: int
    nprobe: int
    exact_precision_at_k: float
    exact_pca_precision_at_k: float
    cluster_precision_at_k: float
    recall_of_exact: float
    comparisons_per_query: float
    exact_comparisons_per_query: float
    cluster_purity: float
    #: hits / min(k, other faces of that person): 1.0 is reachable even for
    #: people with fewer than k+1 photos (the strict fields divide by k).
    exact_precision_normalized: float
    cluster_precision_normalized: float
    #: the best strict precision@k any search could reach on this data
    precision_ceiling: float
    #: the person pairs most often confused by exact search, worst first
    confused_pairs: tuple[ConfusedPair, ...] = ()

    def as_dict(self) -> dict:
        return asdict(self)


def person_ids(persons: Sequence[str | None]) -> tuple[np.ndarray, list[str]]:
    """Number the named persons: ``(ids, names)`` with ``ids[i]`` the index of face i's person in the sorted
    ``names``, or -1 where the face has no person."""
    names = sorted({p for p in persons if p is not None})
    number = {p: i for i, p in enumerate(names)}
    return np.array([number.get(p, -1) if p is not None else -1 for p in persons], dtype=np.int64), names


def cluster_persons(labels: np.ndarray, persons: Sequence[str | None], k: int) -> list[dict]:
    """One row per cluster: ``cluster``, ``faces``, its most common ``main person`` (or ""), that person's
    ``share`` of the cluster (None without persons) and how many ``people`` it holds."""
    labels = np.asarray(labels, dtype=np.int64)
    pid, names = person_ids(persons)
    sizes = np.bincount(labels, minlength=k)
    named = pid >= 0
    counts = np.zeros((k, max(1, len(names))), np.int64)
    np.add.at(counts, (labels[named], pid[named]), 1)
    rows = []
    for c in range(k):
        top = int(counts[c].argmax())
        has = bool(names) and counts[c, top] > 0
        rows.append({
            "cluster": c,
            "faces": int(sizes[c]),
            "main person": names[top] if has else "",
            "share": round(float(counts[c, top] / sizes[c]), 3) if has and sizes[c] else None,
            "people": int((counts[c] > 0).sum()),
        })
    return rows


def cluster_purity(labels: np.ndarray, persons: Sequence[str | None]) -> float:
    """Share of the faces with a person that belong to their cluster's most common person."""
    labels = np.asarray(labels, dtype=np.int64)
    pid, names = person_ids(persons)
    named = pid >= 0
    if not named.any():
        return 0.0
    counts = np.zeros((int(labels.max()) + 1, len(names)), np.int64)
    np.add.at(counts, (labels[named], pid[named]), 1)
    return float(counts.max(axis=1).sum() / named.sum())


def _confused_pairs(
    pair_codes: list[np.ndarray], pid: np.ndarray, queries: np.ndarray, names: list[str], top: int, keep: int
) -> tuple[ConfusedPair, ...]:
    """Rank person pairs by how many exact top-k results went from one to the other."""
    if not pair_codes or keep <= 0:
        return ()
    codes, counts = np.unique(np.concatenate(pair_codes), return_counts=True)
    if len(codes) == 0:
        return ()
    n_names = len(names)
    queries_of = np.bincount(pid[queries], minlength=n_names)
    a, b = codes // n_names, codes % n_names
    share = counts / (top * (queries_of[a] + queries_of[b]))
    order = np.lexsort((-counts, -share))[:keep]
    return tuple(
        ConfusedPair(names[a[i]], names[b[i]], int(counts[i]), round(float(share[i]), 4)) for i in order
    )


@dataclass
class _Tally:
    """Sums over the query blocks of :func:`evaluate`."""

    exact: float = 0.0
    pca: float = 0.0
    cluster: float = 0.0
    norm_exact: float = 0.0
    norm_cluster: float = 0.0
    kept: float = 0.0
    comparisons: float = 0.0
    pair_codes: list = field(default_factory=list)


def _searches(model: SimilarityModel, q: np.ndarray, top: int, nprobe: int, sq: tuple) -> tuple:
    """For a block of query rows: exact top (128-d and PCA), group-search top with a validity mask, faces scanned."""
    x, z, labels = model.encodings, model.reduced, model.index.labels
    rows = np.arange(len(q))
    d = pairwise_distances(x[q], x, sq[0])
    d[rows, q] = np.inf
    dp = pairwise_distances(z[q], z, sq[1])
    dp[rows, q] = np.inf
    probe = model.index.probe(z[q], nprobe)  # (b, nprobe); checks nprobe
    inside = (labels[None, :, None] == probe[:, None, :]).any(axis=2)  # (b, n)
    dc = np.where(inside, d, np.inf)
    clus = top_k_rows(dc, top)
    valid = np.isfinite(dc[rows[:, None], clus])
    return top_k_rows(d, top), top_k_rows(dp, top), clus, valid, inside.sum(axis=1) - 1  # itself not compared


def _tally_block(t: _Tally, pid: np.ndarray, q: np.ndarray, reach: np.ndarray, found: tuple, k: int, n_names: int):
    exact, exact_pca, clus, valid, scanned = found
    same = pid[q][:, None]
    row_exact = (pid[exact] == same).sum(axis=1)
    row_cluster = ((pid[clus] == same) & valid).sum(axis=1)
    other = pid[exact]
    cross = (other != same) & (other >= 0)
    t.pair_codes.append(np.minimum(same, other)[cross].astype(np.int64) * n_names + np.maximum(same, other)[cross])
    t.exact += row_exact.sum()
    t.pca += (pid[exact_pca] == same).sum()
    t.cluster += row_cluster.sum()
    t.norm_exact += (row_exact / reach).sum()
    t.norm_cluster += (row_cluster / reach).sum()
    t.kept += (exact[:, :, None] == np.where(valid, clus, -1)[:, None, :]).any(axis=2).sum()
    t.comparisons += float((scanned + k).sum())


def evaluate(
    model: SimilarityModel,
    persons: Sequence[str | None],
    top: int = 5,
    nprobe: int = 1,
    confused: int = 5,
    max_queries: int | None = None,
    seed: int = 0,
) -> Evaluation:
    """Measure how often searches return the same person as the query.

    ``persons[i]`` names the person of face i (None: unknown, not used as a
    query). ``confused`` says how many of the most confused person pairs to
    report. ``max_queries``: above that many queries, a seeded random sample of
    them is used (each still searched against every face). Raises
    :class:`NotEnoughFacesError` when no person has two faces.
    """
    n = len(model.encodings)
    if len(persons) != n:
        raise ValueError(f"persons has {len(persons)} entries for {n} faces")
    pid, names = person_ids(persons)
    counts = np.bincount(pid[pid >= 0], minlength=len(names)) if names else np.zeros(0, int)
    queries = np.flatnonzero((pid >= 0) & (counts[np.maximum(pid, 0)] >= 2)) if names else np.empty(0, int)
    if len(queries) == 0:
        raise NotEnoughFacesError(
            "No person has two or more faces: evaluation needs folders named by person (DIR/<person>/*.jpg)."
        )
    if max_queries is not None and len(queries) > max_queries:
        queries = np.sort(np.random.default_rng(seed).choice(queries, max_queries, replace=False))
    top = max(1, min(top, n - 1))
    sq = tuple(np.einsum("ij,ij->i", a, a) for a in (model.encodings, model.reduced))
    reachable = np.minimum(top, counts[pid[queries]] - 1).astype(np.float64)
    t = _Tally()
    for start in range(0, len(queries), _BLOCK):
        q = queries[start : start + _BLOCK]
        found = _searches(model, q, top, nprobe, sq)
        _tally_block(t, pid, q, reachable[start : start + _BLOCK], found, model.index.k, len(names))
    m, mt = len(queries), len(queries) * top
    return Evaluation(
        faces=n,
        queries=m,
        persons=len(names),
        top=top,
        nprobe=nprobe,
        exact_precision_at_k=float(t.exact / mt),
        exact_pca_precision_at_k=float(t.pca / mt),
        cluster_precision_at_k=float(t.cluster / mt),
        recall_of_exact=float(t.kept / mt),
        comparisons_per_query=t.comparisons / m,
        exact_comparisons_per_query=float(n - 1),
        cluster_purity=cluster_purity(model.index.labels, persons),
        exact_precision_normalized=float(t.norm_exact / m),
        cluster_precision_normalized=float(t.norm_cluster / m),
        precision_ceiling=float(reachable.sum() / mt),
        confused_pairs=_confused_pairs(t.pair_codes, pid, queries, names, top, confused),
    )
