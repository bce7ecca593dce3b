"""A search that tunes itself: the number of groups K and of groups searched (nprobe) for a recall target.

The article's shortcut (K = 10, search one group) keeps most of the exact
nearest faces at a tenth of the comparisons; how many it keeps depends on
the collection. :func:`tune_search` measures it on the loaded faces: for a
ladder of K values it fits the model, takes a sample of the faces as queries
(leave-one-out), ranks the groups by centre distance for each query and
finds, for every nprobe, the share of each query's exact top-k that lies in
the searched groups and the comparisons that costs. It returns the (K,
nprobe) with the fewest comparisons that reaches the target, and the whole
recall-vs-comparisons curve. Vectorised in blocks of queries; no loop over faces.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import settings as S
from ..errors import InvalidParameterError, NotEnoughFacesError
from .index import pairwise_distances, top_k_rows
from .reduce import fit_pca
from .similarity import SimilarityModel, fit_model

#: Above this many faces, a random sample of this many serves as queries.
MAX_QUERIES = 2000
#: Distances computed at once (a block of queries against every face): 64 MB of float32.
_BLOCK_ELEMENTS = 16_000_000


@dataclass(frozen=True)
class TuningPoint:
    """One setting measured: K groups, nprobe searched, the share of the exact top-k kept, comparisons per query."""

    k: int
    nprobe: int
    recall: float
    comparisons: float


@dataclass(frozen=True)
class SearchTuning:
    """The chosen point (fewest comparisons reaching ``target``; the best recall when none does) and the curve."""

    k: int
    nprobe: int
    recall: float
    comparisons: float
    exact_comparisons: int
    target: float
    reached: bool
    queries: int
    top: int
    points: tuple[TuningPoint, ...]


def k_ladder(n_faces: int) -> list[int]:
    """The K values tried: the article's 10 and multiples of sqrt(n) (FAISS's guidance: 4 to 16 sqrt(n))."""
    root = math.sqrt(n_faces)
    ks = {S.DEFAULT_K, *(round(f * root) for f in (0.5, 1, 2, 4, 8, 16))}
    return sorted(k for k in ks if 2 <= k <= n_faces // 2)


def _ranks(model: SimilarityModel, queries: np.ndarray, top: int) -> tuple[np.ndarray, np.ndarray]:
    """For each query: the rank (0 = nearest centre) of the group of each of its exact top-``top`` faces
    ``(q, top)``, and the groups in the query's centre order ``(q, k)``."""
    x, c = model.encodings, model.centroids
    x_sq = np.einsum("ij,ij->i", x, x)
    rank_of_hit, order = [], []
    block = max(1, _BLOCK_ELEMENTS // len(x))
    for start in range(0, len(queries), block):
        q = queries[start : start + block]
        d = pairwise_distances(x[q], x, x_sq)
        d[np.arange(len(q)), q] = np.inf  # leave the query out
        hits = top_k_rows(d, top)
        by_centre = np.argsort(pairwise_distances(model.reduced[q], c), axis=1, kind="stable")
        rank = np.empty_like(by_centre)
        rank[np.arange(len(q))[:, None], by_centre] = np.arange(model.k)[None, :]
        rank_of_hit.append(rank[np.arange(len(q))[:, None], model.labels[hits]])
        order.append(by_centre)
    return np.concatenate(rank_of_hit), np.concatenate(order)


def _curve(model: SimilarityModel, queries: np.ndarray, top: int) -> list[TuningPoint]:
    """Recall and comparisons per query of every nprobe 1..K for one fitted model."""
    rank_of_hit, order = _ranks(model, queries, top)
    sizes = model.index.sizes()
    scanned = np.cumsum(sizes[order], axis=1) - 1  # the query itself is not compared
    points = []
    for p in range(1, model.k + 1):
        recall = float((rank_of_hit < p).mean())
        points.append(TuningPoint(model.k, p, recall, float(model.k + scanned[:, p - 1].mean())))
        if recall >= 1.0:
            break
    return points


def tune_search(
    encodings: np.ndarray,
    target: float = S.SEARCH_RECALL,
    top: int = S.DEFAULT_TOP,
    dims: int = S.DEFAULT_DIMS,
    ks: list[int] | None = None,
    max_queries: int = MAX_QUERIES,
    seed: int = S.DEFAULT_SEED,
) -> SearchTuning:
    """Find the K and nprobe that keep ``target`` of the exact top-``top`` at the fewest comparisons.

    ``encodings`` is ``(n, 128)``; queries are every face (leave-one-out) or a
    seeded sample of ``max_queries`` of them. Raises
    :class:`InvalidParameterError` for a target outside (0, 1] and
    :class:`NotEnoughFacesError` below 20 faces.
    """
    x = np.asarray(encodings, dtype=np.float32)
    n = len(x)
    if not 0 < target <= 1:
        raise InvalidParameterError(f"target={target} must be a recall between 0 and 1.")
    if n < 20:
        raise NotEnoughFacesError(f"n_faces={n} should be >= 20 to tune the search.")
    top = max(1, min(top, n - 1))
    rng = np.random.default_rng(seed)
    queries = np.arange(n) if n <= max_queries else np.sort(rng.choice(n, max_queries, replace=False))
    points: list[TuningPoint] = []
    pca = fit_pca(x, seed)  # one PCA for every K
    for k in ks or k_ladder(n):
        points += _curve(fit_model(x, min(dims, pca.n_components_), k, seed, pca=pca), queries, top)
    good = [p for p in points if p.recall >= target]
    best = min(good, key=lambda p: p.comparisons) if good else max(points, key=lambda p: (p.recall, -p.comparisons))
    return SearchTuning(best.k, best.nprobe, best.recall, best.comparisons, n - 1, target, bool(good),
                        len(queries), top, tuple(points))  # fmt: skip
