"""PCA and K-means: tiny hand-computed data and real encodings, with errors that name the fix."""

from __future__ import annotations

import numpy as np
import pytest

from facecore import InvalidParameterError, NotEnoughFacesError, explained_variance, fit_pca, project
from facecore.search.cluster import auto_k, check_k, fit_kmeans, suggest_k
from facecore.search.reduce import check_dims, dims_for_variance


def test_pca_on_a_line_puts_all_variance_in_one_component() -> None:
    t = np.linspace(-1, 1, 11, dtype=np.float32)
    x = np.zeros((11, 4), np.float32)
    x[:, 0] = 3 * t
    x[:, 1] = 4 * t  # all points on the direction (3, 4, 0, 0)/5
    pca = fit_pca(x)
    ratio, cum = explained_variance(pca)
    assert ratio[0] == pytest.approx(1.0, abs=1e-5)
    assert cum[-1] == pytest.approx(1.0, abs=1e-5)
    z = project(pca, x, 1)[:, 0]
    assert np.allclose(np.abs(z), 5 * np.abs(t), atol=1e-4)


def test_smaller_dims_are_the_leading_components_of_the_full_fit(small_faceset) -> None:
    x = small_faceset.encodings
    pca = fit_pca(x)
    assert pca.n_components_ == min(len(x), 128)
    z20 = project(pca, x, 20)
    z5 = project(pca, x, 5)
    assert np.allclose(z20[:, :5], z5, atol=1e-5)
    ratio, cum = explained_variance(pca)
    assert np.all(np.diff(ratio) <= 1e-7)  # sorted by contribution
    assert 0.5 < cum[19] < 1.0  # 20 of 128 dims keep most, not all, of the variance
    assert 1 <= dims_for_variance(pca, 0.9) <= 128


@pytest.mark.parametrize(
    ("n", "dims", "error", "message"),
    [
        (1, 1, NotEnoughFacesError, "n_faces=1 should be >= 2"),
        (50, 129, InvalidParameterError, r"dims=129 must be between 1 and min\(n_faces, 128\)=50"),
        (50, 0, InvalidParameterError, "dims=0 must be between 1"),
    ],
)
def test_dims_out_of_range_names_the_fix(n: int, dims: int, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        check_dims(n, dims)


def test_kmeans_finds_obvious_groups_with_a_fixed_seed() -> None:
    rng = np.random.default_rng(0)
    centers = np.array([[0, 0], [10, 0], [0, 10]], np.float32)
    x = np.concatenate([c + rng.normal(0, 0.3, (20, 2)) for c in centers]).astype(np.float32)
    km = fit_kmeans(x, 3, seed=0)
    labels = km.labels_
    groups = [set(labels[i * 20 : (i + 1) * 20]) for i in range(3)]
    assert all(len(g) == 1 for g in groups) and len(set.union(*groups)) == 3
    assert list(np.bincount(labels, minlength=3)) == [20, 20, 20]
    again = fit_kmeans(x, 3, seed=0)
    assert np.array_equal(again.labels_, labels)
    scores = dict(suggest_k(x, range(2, 6)))
    assert max(scores, key=scores.get) == 3


def test_k_out_of_range_names_the_fix() -> None:
    with pytest.raises(InvalidParameterError, match="k=10 must be between 1 and n_faces=3"):
        check_k(3, 10)
    with pytest.raises(NotEnoughFacesError, match="n_faces=1 should be >= 2"):
        check_k(1, 1)


def test_auto_k_is_about_sqrt_n() -> None:
    assert auto_k(1_000_000) == 1000
    assert auto_k(100) == 10
    assert auto_k(3) == 2
