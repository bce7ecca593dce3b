"""PCA of face encodings and its explained variance ("contribution rate").

One full PCA is fitted per dataset; any smaller dimension is its leading
components, so moving the dimension slider only slices (no refit). Uses
scikit-learn's ``PCA`` with the ``covariance_eigh`` solver on tall data.
Fits run with BLAS/OpenMP limited to ``settings.FIT_THREADS`` threads.
"""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA
from threadpoolctl import threadpool_limits

from .. import settings as S
from ..errors import InvalidParameterError, NotEnoughFacesError


def max_dims(n_faces: int, n_features: int = 128) -> int:
    """The largest PCA dimension the data allows: ``min(n_faces, n_features)``."""
    return min(n_faces, n_features)


def check_dims(n_faces: int, dims: int, n_features: int = 128) -> None:
    """Raise an error that names the fix when ``dims`` does not fit ``n_faces`` faces."""
    if n_faces < 2:
        raise NotEnoughFacesError(f"n_faces={n_faces} should be >= 2: add photos with faces before reducing.")
    top = max_dims(n_faces, n_features)
    if not 1 <= dims <= top:
        raise InvalidParameterError(
            f"dims={dims} must be between 1 and min(n_faces, {n_features})={top}: choose a smaller dimension."
        )


def fit_pca(encodings: np.ndarray, seed: int = 0) -> PCA:
    """Fit a PCA keeping every component the data allows; return the fitted estimator.

    ``encodings`` is ``(n_faces, 128)``. Read ``explained_variance_ratio_``
    for the contribution rate of each component.
    """
    x = np.asarray(encodings, dtype=np.float32)
    check_dims(len(x), 1, x.shape[1] if x.ndim == 2 else 128)
    n = max_dims(*x.shape)
    solver = "covariance_eigh" if x.shape[0] >= x.shape[1] else "full"
    with threadpool_limits(limits=S.FIT_THREADS):
        return PCA(n_components=n, svd_solver=solver, random_state=seed).fit(x)


def project(pca: PCA, encodings: np.ndarray, dims: int) -> np.ndarray:
    """Project ``(n, 128)`` encodings onto the first ``dims`` components; return ``(n, dims)`` float32."""
    if not 1 <= dims <= pca.n_components_:
        raise InvalidParameterError(
            f"dims={dims} must be between 1 and {pca.n_components_}: choose a smaller dimension."
        )
    x = np.asarray(encodings, dtype=np.float32).reshape(-1, pca.mean_.shape[0])
    comps = pca.components_[:dims].astype(np.float32)
    return (x - pca.mean_.astype(np.float32)) @ comps.T


def explained_variance(pca: PCA) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(ratio, cumulative)``: the share of variance of each component and the running total."""
    ratio = np.asarray(pca.explained_variance_ratio_, dtype=np.float64)
    return ratio, np.cumsum(ratio)


def dims_for_variance(pca: PCA, target: float = 0.9) -> int:
    """The smallest dimension whose cumulative explained variance reaches ``target`` (0..1)."""
    _, cum = explained_variance(pca)
    return int(min(len(cum), np.searchsorted(cum, target) + 1))
