"""Exact and nearest-centroid search on hand-made points and on real encodings."""

from __future__ import annotations

import numpy as np
import pytest

from facecore import InvalidParameterError, find_similar, fit_model
from facecore.search.index import ClusterIndex, cluster_search, distances, exact_search, recall, top_k


def test_exact_search_ranks_by_euclidean_distance() -> None:
    v = np.array([[0, 0], [3, 4], [1, 0], [0, 2]], np.float32)
    res = exact_search(v, np.array([0, 0], np.float32), top=3)
    assert res.indices.tolist() == [0, 2, 3]
    assert res.distances.tolist() == pytest.approx([0, 1, 2])
    assert res.comparisons == 4
    res = exact_search(v, v[0], top=3, exclude=0)
    assert res.indices.tolist() == [2, 3, 1]
    sq = np.einsum("ij,ij->i", v, v)
    assert np.allclose(distances(v, v[1], sq), distances(v, v[1]), atol=1e-5)


def test_cluster_search_scans_only_the_nearest_clusters() -> None:
    # two clusters: around (0,0) with 3 points and around (10,10) with 2 points
    v = np.array([[0, 0], [1, 0], [0, 1], [10, 10], [11, 10]], np.float32)
    index = ClusterIndex.build(np.array([[0.3, 0.3], [10.5, 10]], np.float32), np.array([0, 0, 0, 1, 1]))
    q = np.array([0.2, 0.1], np.float32)
    res = cluster_search(index, q, v, q, nprobe=1, top=10)
    assert res.clusters == (0,)
    assert sorted(res.indices.tolist()) == [0, 1, 2]
    assert res.comparisons == 2 + 3  # centroids + members
    assert res.farthest_cluster == 1
    both = cluster_search(index, q, v, q, nprobe=2, top=10)
    assert both.comparisons == 2 + 5 and len(both.indices) == 5
    with pytest.raises(InvalidParameterError, match="nprobe=3 must be between 1 and k=2"):
        cluster_search(index, q, v, q, nprobe=3)


def test_top_k_and_recall() -> None:
    d = np.array([5.0, 1.0, 3.0, 0.5])
    assert top_k(d, 2).tolist() == [3, 1]
    assert recall(np.array([1, 3]), np.array([3, 1])) == 1.0
    assert recall(np.array([1]), np.array([3, 1])) == 0.5


def test_similar_faces_of_a_real_photo_are_mostly_the_same_person(small_faceset) -> None:
    fs = small_faceset
    model = fit_model(fs.encodings, dims=20, k=6)
    persons = fs.persons
    precisions = []
    for q in range(0, len(fs), 7):
        res = find_similar(model, row=q, top=5)
        assert q not in res.mates.indices and q not in res.exact.indices
        assert np.all(np.diff(res.mates.distances) >= 0)
        assert res.mates.comparisons == model.k + res.mates.scanned < len(fs) + model.k
        assert res.farthest_cluster != res.cluster
        precisions.append(np.mean([persons[i] == persons[q] for i in res.exact.indices]))
        assert 0.0 <= res.recall <= 1.0
    assert np.mean(precisions) > 0.9


def test_nprobe_equal_to_k_is_exact(small_faceset) -> None:
    model = fit_model(small_faceset.encodings, dims=10, k=4)
    res = find_similar(model, row=3, nprobe=4, top=10)
    assert res.recall == 1.0
    assert res.mates.indices.tolist() == res.exact.indices.tolist()


def test_new_encoding_is_projected_through_the_fitted_pca(small_faceset) -> None:
    model = fit_model(small_faceset.encodings, dims=20, k=5)
    q = small_faceset.encodings[5]
    as_new = find_similar(model, encoding=q, top=3)
    as_face = find_similar(model, row=5, top=3)
    assert as_new.exact.indices[0] == 5 and as_new.exact.distances[0] == pytest.approx(0, abs=1e-4)
    assert as_new.cluster == as_face.cluster
    with pytest.raises(InvalidParameterError, match="exactly one query"):
        find_similar(model)
