"""A set's PCA and K-means centres kept in the cache file, so reopening the set does not fit them again.

At 100,000 faces the PCA and the K-means fit of the article's K = 10 take 0.3-1.3 s on a busy 2-core
machine, on every server start and for every set opened; the Clusters page waits for them. They are
kept in the table ``set_fits`` of the cache file, keyed by the set's content (``FaceSet.key``), the kind
and the parameters, as ``.npz`` arrays (the PCA's components and mean: a summary of the set's encodings,
deleted with any set like :mod:`facecore.storage.set_results`). A kept K-means gives back its centres;
the faces join their nearest centre again (:func:`~facecore.search.similarity.model_from_centroids`).
"""

from __future__ import annotations

import contextlib
import io
import json
import sqlite3
import time
from collections.abc import Mapping

import numpy as np

from .. import settings as S
from ..errors import FaceCoreError
from ..search.reduce import KeptPCA, fit_pca
from ..search.similarity import SimilarityModel, fit_model, model_from_centroids
from .db import transaction
from .encodings import EncodingStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS set_fits (
    set_key TEXT NOT NULL,
    kind    TEXT NOT NULL,
    params  TEXT NOT NULL,
    created REAL NOT NULL,
    body    BLOB NOT NULL,
    PRIMARY KEY (set_key, kind, params)
) WITHOUT ROWID;
"""

#: The fitted PCA's attributes kept (what ``transform``, the slicing and the variance chart read).
_PCA_FIELDS = ("components_", "mean_", "explained_variance_", "explained_variance_ratio_", "singular_values_")


def _put(store: EncodingStore, key: str, kind: str, params: Mapping[str, int], arrays: dict[str, np.ndarray]) -> None:
    """Keep a fit; a cache file that cannot be written (read-only, full) only means it is fitted again next time."""
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    with contextlib.suppress(FaceCoreError, sqlite3.Error), store.connect() as con:
        con.executescript(SCHEMA)
        with transaction(con):
            con.execute("INSERT OR REPLACE INTO set_fits VALUES (?,?,?,?,?)",
                        (key, kind, json.dumps(dict(sorted(params.items()))), time.time(), buf.getvalue()))  # fmt: skip


def _body(store: EncodingStore, key: str, kind: str, params: Mapping[str, int]) -> bytes | None:
    """A kept fit's ``.npz`` bytes, or None (never kept, or the cache file cannot be read: then it is fitted)."""
    try:
        with store.connect() as con:
            con.executescript(SCHEMA)
            row = con.execute("SELECT body FROM set_fits WHERE set_key=? AND kind=? AND params=?",
                              (key, kind, json.dumps(dict(sorted(params.items()))))).fetchone()  # fmt: skip
    except (FaceCoreError, sqlite3.Error):
        return None
    return None if row is None else row[0]


def _get(store: EncodingStore, key: str, kind: str, params: Mapping[str, int]) -> dict[str, np.ndarray] | None:
    """A kept fit's arrays, or None (never kept, or the cache file cannot be read: then it is fitted)."""
    body = _body(store, key, kind, params)
    if body is None:
        return None
    with np.load(io.BytesIO(body), allow_pickle=False) as z:
        return {name: z[name] for name in z.files}


def _pca_params(seed: int) -> dict[str, int]:
    return {"seed": seed}


def _kmeans_params(dims: int, k: int, seed: int) -> dict[str, int]:
    return {"dims": dims, "k": k, "seed": seed}


def model_kept(store: EncodingStore, key: str, dims: int, k: int, seed: int = S.DEFAULT_SEED) -> bool:
    """Whether :func:`kept_model` (with :func:`kept_pca`) would read the set ``key``'s model at ``dims`` and ``k``
    from the cache file rather than fit it (a server's start prepares only what is kept: app.py)."""
    return (_body(store, key, "pca", _pca_params(seed)) is not None
            and _body(store, key, "kmeans", _kmeans_params(dims, k, seed)) is not None)  # fmt: skip


def _pca_from(arrays: dict[str, np.ndarray], n_samples: int) -> KeptPCA:
    """A fitted PCA rebuilt from its kept attributes (without importing scikit-learn)."""
    return KeptPCA(**{name: arrays[name] for name in _PCA_FIELDS},
                   noise_variance_=float(arrays["noise_variance_"]), n_samples_=n_samples)  # fmt: skip


def kept_pca(store: EncodingStore, key: str, encodings: np.ndarray, seed: int = S.DEFAULT_SEED):
    """The full PCA of a set's ``(n, 128)`` ``encodings`` (``key``: its ``FaceSet.key``): read from the cache
    file (a :class:`~facecore.search.reduce.KeptPCA`), or fitted (scikit-learn's ``PCA``) and kept there."""
    params = _pca_params(seed)
    got = _get(store, key, "pca", params)
    if got is not None:
        return _pca_from(got, len(encodings))
    pca = fit_pca(encodings, seed)
    arrays = {name: np.asarray(getattr(pca, name)) for name in _PCA_FIELDS}
    _put(store, key, "pca", params, {**arrays, "noise_variance_": np.asarray(pca.noise_variance_)})
    return pca


def kept_model(
    store: EncodingStore, key: str, encodings: np.ndarray, dims: int, k: int, pca, seed: int = S.DEFAULT_SEED
) -> SimilarityModel:
    """PCA to ``dims`` and K-means with ``k`` clusters of a set's ``encodings`` (``key``: its ``FaceSet.key``;
    ``pca``: its full PCA, e.g. from :func:`kept_pca`): rebuilt from the centres kept in the cache file, or
    fitted and its centres kept."""
    params = _kmeans_params(dims, k, seed)
    got = _get(store, key, "kmeans", params)
    if got is not None:
        return model_from_centroids(encodings, dims, got["centroids"], pca)
    model = fit_model(encodings, dims, k, seed=seed, pca=pca)
    _put(store, key, "kmeans", params, {"centroids": model.centroids})
    return model
