"""Grouping scores: exact values on hand-computed labellings, a brute-force check, and the threshold sweep."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest

from facecore.errors import InvalidParameterError, NotEnoughFacesError
from facecore.people.faces import photo_ids
from facecore.people.grouping import group_faces
from facecore.people.scores import kmeans_labels, score_labels, threshold_sweep


def test_scores_of_a_hand_computed_labelling() -> None:
    # group 0 = {a, a}; group 1 = {a, b, b}
    s = score_labels(["a", "a", "a", "b", "b"], [0, 0, 1, 1, 1])
    # pairs together: 1 + 3 = 4, of which same person: (a,a) + (b,b) = 2; same-person pairs: 3 + 1 = 4
    assert s.pairwise_precision == pytest.approx(0.5)
    assert s.pairwise_recall == pytest.approx(0.5)
    assert s.pairwise_f == pytest.approx(0.5)
    # per face precision: 1, 1, 1/3, 2/3, 2/3; recall: 2/3, 2/3, 1/3, 1, 1
    assert s.bcubed_precision == pytest.approx(11 / 15)
    assert s.bcubed_recall == pytest.approx(11 / 15)
    assert s.bcubed_f == pytest.approx(11 / 15)
    assert (s.faces, s.true_persons, s.groups, s.unsorted) == (5, 2, 2, 0)


def test_unsorted_faces_count_as_singletons_and_unknown_persons_are_left_out() -> None:
    alone = score_labels(["a", "a", "b"], [-1, -1, 0])
    # nothing put together: precision 1 by convention, recall 0; BCubed recall (1/2 + 1/2 + 1) / 3
    assert (alone.pairwise_precision, alone.pairwise_recall, alone.pairwise_f) == (1.0, 0.0, 0.0)
    assert alone.bcubed_precision == pytest.approx(1.0)
    assert alone.bcubed_recall == pytest.approx(2 / 3)
    assert alone.unsorted == 3 and alone.groups == 0
    together = score_labels(["a", "a", "b"], [5, 5, 0])
    assert together.pairwise_f == 1.0 and together.bcubed_f == pytest.approx(1.0)
    # the face without a folder does not count, even in the same group
    unknown = score_labels(["a", "a", None], [0, 0, 0])
    assert unknown.faces == 2 and unknown.pairwise_precision == 1.0 and unknown.bcubed_f == pytest.approx(1.0)


def test_scores_equal_a_brute_force_count_over_pairs() -> None:
    rng = np.random.default_rng(3)
    persons = [f"p{v}" for v in rng.integers(0, 7, 80)]
    labels = rng.integers(-1, 9, 80)
    s = score_labels(persons, labels)
    solo = labels.copy()
    solo[solo < 0] = 100 + np.arange((solo < 0).sum())
    same = [(persons[i] == persons[j], solo[i] == solo[j]) for i, j in combinations(range(80), 2)]
    tp = sum(a and b for a, b in same)
    assert s.pairwise_precision == pytest.approx(tp / sum(b for _, b in same))
    assert s.pairwise_recall == pytest.approx(tp / sum(a for a, _ in same))
    prec = [np.mean([persons[j] == persons[i] for j in range(80) if solo[j] == solo[i]]) for i in range(80)]
    rec = [np.mean([solo[j] == solo[i] for j in range(80) if persons[j] == persons[i]]) for i in range(80)]
    assert s.bcubed_precision == pytest.approx(np.mean(prec))
    assert s.bcubed_recall == pytest.approx(np.mean(rec))


def test_scores_reject_bad_input() -> None:
    with pytest.raises(InvalidParameterError, match="one label per face"):
        score_labels(["a", "b"], [0])
    with pytest.raises(NotEnoughFacesError):
        score_labels([None, None], [0, 0])


def test_kmeans_labels_give_k_clusters() -> None:
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(c, 0.01, (10, 128)) for c in (0.0, 1.0, 2.0)]).astype(np.float32)
    labels = kmeans_labels(x, 3)
    assert labels.shape == (30,) and len(set(labels)) == 3
    assert score_labels([str(i // 10) for i in range(30)], labels).pairwise_f == 1.0
    assert len(set(kmeans_labels(x, 3, dims=5))) == 3


def test_sweep_reusing_one_graph_equals_grouping_at_each_threshold(small_faceset) -> None:
    x, photos = small_faceset.encodings, photo_ids(small_faceset)
    points = threshold_sweep(x, photos, small_faceset.persons, [0.6, 0.45, 0.5])
    assert [p.threshold for p in points] == [0.45, 0.5, 0.6]
    for p in points:
        direct = group_faces(x, photos, p.threshold)
        assert p.persons == direct.n_persons
        assert p.scores == score_labels(small_faceset.persons, direct.labels)
    # six people: the loosest threshold finds fewer persons, and on these photos scores well
    assert points[0].persons > points[-1].persons
    assert points[-1].scores.pairwise_f > 0.9
    with pytest.raises(InvalidParameterError):
        threshold_sweep(x, photos, None, [])
