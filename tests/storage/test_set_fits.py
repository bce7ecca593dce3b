"""facecore.storage.set_fits: a set's PCA and K-means centres kept in the cache file give back the model a
fresh fit gives, on the real six-person subset and the whole shared set's encodings."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from facecore import EncodingStore, delete_set, find_similar, fit_model, fit_pca, kept_model, kept_pca, model_kept
from facecore.storage.set_fits import _get


@pytest.fixture
def store(session_cache: Path, tmp_path: Path) -> EncodingStore:
    dst = tmp_path / "cache.sqlite"
    shutil.copy(session_cache, dst)
    return EncodingStore(dst)


@pytest.mark.parametrize("dims,k", [(20, 10), (8, 6)])
def test_a_kept_fit_gives_the_fresh_fits_model(small_faceset, store: EncodingStore, dims: int, k: int) -> None:
    fs = small_faceset
    first = kept_model(store, fs.key, fs.encodings, dims, k, kept_pca(store, fs.key, fs.encodings))  # fitted and kept
    assert _get(store, fs.key, "kmeans", {"dims": dims, "k": k, "seed": 0}) is not None
    assert model_kept(store, fs.key, dims, k)  # only what was kept, with these very settings
    assert not model_kept(store, fs.key, dims, k, seed=12345) and not model_kept(store, fs.key, dims + 1, 97)
    assert not model_kept(store, "no such set", dims, k)
    again = EncodingStore(store.path)  # a new server process: read back, not fitted
    pca = kept_pca(again, fs.key, fs.encodings)
    fresh_pca = fit_pca(fs.encodings)
    assert np.allclose(pca.components_, fresh_pca.components_) and pca.n_components_ == fresh_pca.n_components_
    back = kept_model(again, fs.key, fs.encodings, dims, k, pca)
    fresh = fit_model(fs.encodings, dims, k, seed=0, pca=fresh_pca)
    assert np.array_equal(back.labels, fresh.labels) and np.array_equal(back.labels, first.labels)
    assert np.allclose(back.reduced, fresh.reduced, atol=1e-5)
    assert back.inertia == pytest.approx(fresh.inertia, rel=1e-4)
    q = find_similar(back, row=3, nprobe=1, top=5)
    assert list(q.exact.indices) == list(find_similar(fresh, row=3, nprobe=1, top=5).exact.indices)
    assert list(q.mates.indices) == list(find_similar(fresh, row=3, nprobe=1, top=5).mates.indices)


def test_deleting_photos_forgets_the_kept_fits(small_faceset, store: EncodingStore) -> None:
    fs = small_faceset
    kept_model(store, fs.key, fs.encodings, 20, 10, kept_pca(store, fs.key, fs.encodings))
    assert model_kept(store, fs.key, 20, 10)
    delete_set(store, [fs.faces[0].digest])
    assert not model_kept(store, fs.key, 20, 10)
    assert _get(store, fs.key, "kmeans", {"dims": 20, "k": 10, "seed": 0}) is None
    assert _get(store, fs.key, "pca", {"seed": 0}) is None
