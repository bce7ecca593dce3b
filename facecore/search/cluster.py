"""K-means over (reduced) encodings, and a hint for choosing K.

Uses scikit-learn's ``KMeans`` with a fixed seed; above
``MINIBATCH_ABOVE`` faces it switches to ``MiniBatchKMeans`` (one
initialisation), which keeps a slider move interactive at 100k faces. Fits
run with at most ``settings.FIT_THREADS`` BLAS/OpenMP threads.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from threadpoolctl import threadpool_limits

from .. import settings as S
from ..errors import InvalidParameterError, NotEnoughFacesError

if TYPE_CHECKING:  # scikit-learn is imported when K-means is fitted: a kept model's centres need none of it
    from sklearn.cluster import KMeans, MiniBatchKMeans

MINIBATCH_ABOVE = 20_000


def check_k(n_faces: int, k: int) -> None:
    """Raise an error naming the fix when ``k`` clusters cannot be made from ``n_faces`` faces."""
    if n_faces < 2:
        raise NotEnoughFacesError(f"n_faces={n_faces} should be >= 2: add photos with faces before clustering.")
    if not 1 <= k <= n_faces:
        raise InvalidParameterError(f"k={k} must be between 1 and n_faces={n_faces}: choose fewer clusters.")


def auto_k(n_faces: int) -> int:
    """The K used when the user does not pin one: about sqrt(n_faces), at least 2."""
    return max(2, min(n_faces, round(math.sqrt(n_faces))))


def fit_kmeans(z: np.ndarray, k: int, seed: int = 0) -> KMeans | MiniBatchKMeans:
    """Fit K-means with ``k`` clusters on ``(n, d)`` points; return the fitted estimator.

    Read ``labels_`` (cluster of each point) and ``cluster_centers_``.
    """
    from sklearn.cluster import KMeans, MiniBatchKMeans  # noqa: PLC0415 - see TYPE_CHECKING above

    z = np.asarray(z, dtype=np.float32)
    check_k(len(z), k)
    with threadpool_limits(limits=S.FIT_THREADS):
        if len(z) > MINIBATCH_ABOVE:
            # n_init=1: the other two k-means++ starts cost ~45% of a K=316 fit
            # at 100k faces for 0.3% lower inertia (BENCHMARKS.md, "interactive").
            return MiniBatchKMeans(n_clusters=k, random_state=seed, n_init=1, batch_size=4096, max_iter=100).fit(z)
        return KMeans(n_clusters=k, random_state=seed, n_init=3).fit(z)


def suggest_k(z: np.ndarray, ks: range | None = None, seed: int = 0, sample: int = 3000) -> list[tuple[int, float]]:
    """Silhouette score of K-means for each K in ``ks``; return ``[(k, score), ...]``.

    Higher is better. Scored on at most ``sample`` points for speed. A hint,
    not a rule: identities rarely form clean blobs.
    """
    from sklearn.metrics import silhouette_score  # noqa: PLC0415 - imported when asked for

    z = np.asarray(z, dtype=np.float32)
    n = len(z)
    if ks is None:
        ks = range(2, min(S.K_HINT_MAX, n - 1) + 1)
    ks = [k for k in ks if 2 <= k < n]
    if not ks:
        raise NotEnoughFacesError(f"n_faces={n} should be >= 3 to compare cluster counts.")
    rng = np.random.default_rng(seed)
    idx = rng.choice(n, size=min(n, sample), replace=False) if n > sample else np.arange(n)
    out = []
    for k in ks:
        labels = fit_kmeans(z, k, seed).labels_
        out.append((k, float(silhouette_score(z[idx], labels[idx]))) if len(set(labels[idx])) > 1 else (k, -1.0))
    return out
