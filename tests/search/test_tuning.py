"""The self-tuning search: K and nprobe for a recall target, measured leave-one-out on real encodings."""

from __future__ import annotations

import numpy as np
import pytest

from facecore import InvalidParameterError, NotEnoughFacesError, evaluate, fit_model
from facecore.search.tuning import k_ladder, tune_search


def test_the_chosen_point_reaches_the_target_at_the_fewest_comparisons(small_faceset) -> None:
    x = small_faceset.encodings
    tuning = tune_search(x, target=0.95, top=5)
    assert tuning.reached and tuning.recall >= 0.95
    assert tuning.comparisons == min(p.comparisons for p in tuning.points if p.recall >= 0.95)
    assert tuning.comparisons < tuning.exact_comparisons
    for k in {p.k for p in tuning.points}:  # per K: more groups searched never loses a neighbour, costs more
        curve = [p for p in tuning.points if p.k == k]
        assert [p.nprobe for p in curve] == list(range(1, len(curve) + 1))
        assert [p.recall for p in curve] == sorted(p.recall for p in curve)
        assert [p.comparisons for p in curve] == sorted(p.comparisons for p in curve)
        if len(curve) == k:  # searched every group: the exact answer
            assert curve[-1].recall == 1.0


def test_the_recall_it_reports_is_what_evaluate_measures(small_faceset) -> None:
    x, persons = small_faceset.encodings, small_faceset.persons
    tuning = tune_search(x, target=0.9, top=5, ks=[6])
    model = fit_model(x, 20, 6)
    for point in tuning.points:  # evaluate's queries are the faces with a same-person mate: nearly all of them
        measured = evaluate(model, persons, top=5, nprobe=point.nprobe).recall_of_exact
        assert point.recall == pytest.approx(measured, abs=0.02)


def test_bad_targets_and_tiny_sets_are_refused(small_faceset) -> None:
    with pytest.raises(InvalidParameterError, match="target=1.5"):
        tune_search(small_faceset.encodings, target=1.5)
    with pytest.raises(NotEnoughFacesError):
        tune_search(small_faceset.encodings[:10])
    assert 10 in k_ladder(2338) and max(k_ladder(2338)) <= 2338 // 2
    assert np.all(np.diff(k_ladder(10**6)) > 0)
