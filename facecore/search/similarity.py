"""The fitted similarity model: PCA + K-means + cluster index over one set of encodings.

:func:`fit_model` validates the parameters, projects the encodings to
``dims`` dimensions, clusters them and builds the :class:`ClusterIndex`.
:func:`find_similar` answers one query the article's way and exactly, and
says what the shortcut cost (comparisons saved, neighbours missed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .. import settings as S
from ..errors import InvalidParameterError
from .cluster import check_k, fit_kmeans
from .index import ClusterIndex, SearchResult, cluster_search, exact_search, recall
from .reduce import check_dims, fit_pca, project

if TYPE_CHECKING:
    from sklearn.decomposition import PCA


@dataclass(frozen=True)
class SimilarityModel:
    """A fitted model. ``reduced`` is ``(n, dims)`` float32, ``index`` the K clusters over it."""

    pca: PCA
    dims: int
    k: int
    reduced: np.ndarray
    index: ClusterIndex
    encodings: np.ndarray
    inertia: float

    @property
    def labels(self) -> np.ndarray:
        """Cluster of each face."""
        return self.index.labels

    @property
    def centroids(self) -> np.ndarray:
        """``(k, dims)`` cluster centres in PCA space."""
        return self.index.centroids

    def transform(self, encodings: np.ndarray) -> np.ndarray:
        """Project new ``(n, 128)`` encodings into this model's PCA space."""
        return project(self.pca, encodings, self.dims)


def fit_model(
    encodings: np.ndarray,
    dims: int = S.DEFAULT_DIMS,
    k: int = S.DEFAULT_K,
    seed: int = S.DEFAULT_SEED,
    pca: PCA | None = None,
) -> SimilarityModel:
    """Fit PCA to ``dims`` dimensions and K-means with ``k`` clusters on ``(n, 128)`` encodings.

    ``pca`` may be a PCA already fitted on these encodings (see
    :func:`facecore.reduce.fit_pca`) so a new ``dims`` only slices it.
    Raises :class:`InvalidParameterError` naming the fix when ``dims`` or
    ``k`` do not fit the data or fewer than 2 faces are given.
    """
    x = np.asarray(encodings, dtype=np.float32)
    check_dims(len(x), dims, x.shape[1] if x.ndim == 2 else 128)
    check_k(len(x), k)
    pca = pca if pca is not None else fit_pca(x, seed)
    z = project(pca, x, dims)
    km = fit_kmeans(z, k, seed)
    index = ClusterIndex.build(km.cluster_centers_, km.labels_)
    return SimilarityModel(pca, dims, k, np.ascontiguousarray(z), index, x, float(km.inertia_))


def model_from_centroids(encodings: np.ndarray, dims: int, centroids: np.ndarray, pca: PCA) -> SimilarityModel:
    """The model :func:`fit_model` gives, for K-means centres found by an earlier fit on these encodings.

    ``encodings`` ``(n, 128)``, ``centroids`` ``(k, dims)`` in the space of ``pca`` (fitted on these
    encodings); each face joins its nearest centre, as K-means' own final labels do. Costs a projection and
    ``n x k`` distances (milliseconds at 10^5 faces) instead of the fit.
    """
    x = np.asarray(encodings, dtype=np.float32)
    c = np.asarray(centroids, dtype=np.float32)
    check_dims(len(x), dims, x.shape[1] if x.ndim == 2 else 128)
    if c.ndim != 2 or c.shape[1] != dims:
        raise InvalidParameterError(f"centroids of shape {c.shape} do not fit dims={dims}: fit the model again.")
    check_k(len(x), len(c))
    z = np.ascontiguousarray(project(pca, x, dims))
    labels = np.empty(len(z), np.int64)
    best = np.empty(len(z), np.float32)
    c_sq = np.einsum("ij,ij->i", c, c)
    for s in range(0, len(z), 16384):  # at most 16384 x k distances at once
        d2 = c_sq[None, :] - 2.0 * (z[s : s + 16384] @ c.T)
        labels[s : s + 16384] = d2.argmin(axis=1)
        best[s : s + 16384] = d2.min(axis=1)
    inertia = float(np.maximum(best + np.einsum("ij,ij->i", z, z), 0).sum())
    return SimilarityModel(pca, dims, len(c), z, ClusterIndex.build(c, labels), x, inertia)


@dataclass(frozen=True)
class Similar:
    """The answer to one query.

    ``mates``: cluster search hits (indices into the face set, 128-d distances).
    ``exact``: exact top over all faces in 128-d; ``exact_pca`` the same in PCA space.
    ``farthest``: members of the cluster farthest from the query.
    ``recall``: share of the exact top that the cluster search found.
    """

    cluster: int
    mates: SearchResult
    exact: SearchResult
    exact_pca: SearchResult
    farthest_cluster: int
    farthest: np.ndarray
    recall: float
    n_faces: int

    @property
    def comparisons_saved(self) -> int:
        """Distances the shortcut did not compute, against comparing with every face."""
        return self.exact.comparisons - self.mates.comparisons

    @property
    def missed(self) -> int:
        """Exact top-k neighbours the cluster search did not return."""
        return int(round((1.0 - self.recall) * len(self.exact.indices)))


def find_similar(
    model: SimilarityModel,
    *,
    row: int | None = None,
    encoding: np.ndarray | None = None,
    nprobe: int = S.DEFAULT_NPROBE,
    top: int = S.DEFAULT_TOP,
) -> Similar:
    """Search for the faces most like a face of the set (its ``row`` in the encodings) or a new ``encoding``.

    A face of the set is left out of its own results. New encodings are
    projected through the fitted PCA.
    """
    if (row is None) == (encoding is None):
        raise InvalidParameterError("Give exactly one query: a row of the face set or a new encoding.")
    n = len(model.encodings)
    if row is not None:
        if not 0 <= row < n:
            raise InvalidParameterError(f"row={row} must be between 0 and {n - 1}.")
        q = model.encodings[row]
        zq = model.reduced[row]
    else:
        q = np.asarray(encoding, dtype=np.float32).ravel()
        if q.shape != (model.encodings.shape[1],):
            raise InvalidParameterError(f"encoding must have {model.encodings.shape[1]} values, got {q.shape[0]}.")
        zq = model.transform(q[None, :])[0]
    if top < 1:
        raise InvalidParameterError(f"top={top} must be >= 1.")
    mates = cluster_search(model.index, zq, model.encodings, q, nprobe=nprobe, top=top, exclude=row)
    exact = exact_search(model.encodings, q, top=top, exclude=row)
    exact_pca = exact_search(model.reduced, zq, top=top, exclude=row)
    far = model.index.members(mates.farthest_cluster)
    far = far[far != row] if row is not None else far
    # rank the farthest cluster's faces by their distance too, nearest first
    if len(far):
        far_d = np.linalg.norm(model.encodings[far] - q, axis=1)
        far = far[np.argsort(far_d, kind="stable")]
    return Similar(
        cluster=mates.clusters[0],
        mates=mates,
        exact=exact,
        exact_pca=exact_pca,
        farthest_cluster=mates.farthest_cluster,
        farthest=far,
        recall=recall(mates.indices, exact.indices),
        n_faces=n,
    )


def members_by_centroid(model: SimilarityModel, cluster: int) -> np.ndarray:
    """Row indices of the faces of ``cluster``, most typical first: nearest its centroid in PCA space."""
    members = model.index.members(cluster)
    d = np.linalg.norm(model.reduced[members] - model.centroids[cluster], axis=1)
    return members[np.argsort(d, kind="stable")]


def distances_to(model: SimilarityModel, query: np.ndarray, rows: np.ndarray | list[int]) -> np.ndarray:
    """128-d Euclidean distances from a ``(128,)`` query encoding to the faces at ``rows``."""
    idx = np.asarray(rows, dtype=np.int64)
    q = np.asarray(query, dtype=np.float32).ravel()
    return np.linalg.norm(model.encodings[idx] - q, axis=1)
