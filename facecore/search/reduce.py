"""PCA of face encodings and its explained variance ("contribution rate").

One full PCA is fitted per dataset; any smaller dimension is its leading
components, so moving the dimension slider only slices (no refit). Uses
scikit-learn's ``PCA`` with the ``covariance_eigh`` solver on tall data.
Fits run with BLAS/OpenMP limited to ``settings.FIT_THREADS`` threads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from threadpoolctl import threadpool_limits

from .. import settings as S
from ..errors import InvalidParameterError, NotEnoughFacesError

if TYPE_CHECKING:  # scikit-learn is imported when a PCA is fitted (1-2 s): reading a kept one needs none of it
    from sklearn.decomposition import PCA


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
    from sklearn.decomposition import PCA  # noqa: PLC0415 - see TYPE_CHECKING above

    x = np.asarray(encodings, dtype=np.float32)
    check_dims(len(x), 1, x.shape[1] if x.ndim == 2 else 128)
    n = max_dims(*x.shape)
    solver = "covariance_eigh" if x.shape[0] >= x.shape[1] else "full"
    with threadpool_limits(limits=S.FIT_THREADS):
        return PCA(n_components=n, svd_solver=solver, random_state=seed).fit(x)


@dataclass(frozen=True, eq=False)
class KeptPCA:
    """A PCA fitted earlier and read back (:func:`facecore.storage.set_fits.kept_pca`): the attributes of a
    fitted scikit-learn ``PCA`` that facecore reads (:func:`project`, :func:`explained_variance`), without
    importing scikit-learn (1-2 s of a fresh server's first page). ``components_`` ``(c, 128)``, ``mean_``
    ``(128,)``, the variances and singular values ``(c,)``."""

    components_: np.ndarray
    mean_: np.ndarray
    explained_variance_: np.ndarray
    explained_variance_ratio_: np.ndarray
    singular_values_: np.ndarray
    noise_variance_: float
    n_samples_: int

    @property
    def n_components_(self) -> int:
        return len(self.components_)

    @property
    def n_features_in_(self) -> int:
        return int(self.components_.shape[1])


def project(pca: PCA | KeptPCA, encodings: np.ndarray, dims: int) -> np.ndarray:
    """Project ``(n, 128)`` encodings onto the first ``dims`` components; return ``(n, dims)`` float32."""
    if not 1 <= dims <= pca.n_components_:
        raise InvalidParameterError(
            f"dims={dims} must be between 1 and {pca.n_components_}: choose a smaller dimension."
        )
    x = np.asarray(encodings, dtype=np.float32).reshape(-1, pca.mean_.shape[0])
    comps = pca.components_[:dims].astype(np.float32)
    return (x - pca.mean_.astype(np.float32)) @ comps.T


def explained_variance(pca: PCA | KeptPCA) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(ratio, cumulative)``: the share of variance of each component and the running total."""
    ratio = np.asarray(pca.explained_variance_ratio_, dtype=np.float64)
    return ratio, np.cumsum(ratio)


def dims_for_variance(pca: PCA | KeptPCA, target: float = 0.9) -> int:
    """The smallest dimension whose cumulative explained variance reaches ``target`` (0..1)."""
    _, cum = explained_variance(pca)
    return int(min(len(cum), np.searchsorted(cum, target) + 1))
