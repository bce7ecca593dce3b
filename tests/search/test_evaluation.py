"""Identity-aware metrics: hand-made data where the answer is known, then real photos."""

from __future__ import annotations

import numpy as np
import pytest

from facecore import NotEnoughFacesError, evaluate, fit_model
from facecore.search.evaluation import cluster_purity


def _blobs(people: int, each: int, spread: float, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 1, (people, 128))
    x = np.concatenate([c + rng.normal(0, spread, (each, 128)) for c in centers]).astype(np.float32)
    return x, [f"p{i}" for i in range(people) for _ in range(each)]


def test_well_separated_people_give_perfect_scores() -> None:
    x, persons = _blobs(5, 8, 0.01)
    model = fit_model(x, dims=10, k=5)
    ev = evaluate(model, persons, top=5)
    assert ev.queries == 40 and ev.persons == 5
    assert ev.exact_precision_at_k == 1.0
    assert ev.cluster_precision_at_k == 1.0
    assert ev.recall_of_exact == 1.0
    assert ev.cluster_purity == 1.0
    assert ev.exact_precision_normalized == ev.precision_ceiling == 1.0
    assert ev.comparisons_per_query == pytest.approx(5 + 7)  # 5 centroids + 7 cluster mates


def test_people_with_few_photos_cap_strict_precision() -> None:
    x, persons = _blobs(4, 3, 0.01)  # 2 same-person neighbours each, but k=5
    ev = evaluate(fit_model(x, dims=4, k=2), persons, top=5)
    assert ev.exact_precision_at_k == pytest.approx(2 / 5)
    assert ev.precision_ceiling == pytest.approx(2 / 5)
    assert ev.exact_precision_normalized == pytest.approx(1.0)


def test_cluster_purity_by_hand() -> None:
    assert cluster_purity(np.array([0, 0, 0, 1, 1]), ["a", "a", "b", "c", "c"]) == pytest.approx(4 / 5)


def test_no_person_with_two_faces_is_a_clear_error() -> None:
    x, _ = _blobs(4, 1, 0.1)
    model = fit_model(x, dims=2, k=2)
    with pytest.raises(NotEnoughFacesError, match="folders named by person"):
        evaluate(model, ["a", "b", "c", "d"])


def test_real_photos_mostly_return_the_same_person(small_faceset) -> None:
    model = fit_model(small_faceset.encodings, dims=20, k=6)
    ev = evaluate(model, small_faceset.persons, top=5, nprobe=1)
    assert ev.exact_precision_at_k > 0.9
    assert ev.cluster_precision_at_k > 0.85
    assert ev.comparisons_per_query < ev.exact_comparisons_per_query
    wide = evaluate(model, small_faceset.persons, top=5, nprobe=6)
    assert wide.recall_of_exact == pytest.approx(1.0)
    assert wide.cluster_precision_at_k == pytest.approx(wide.exact_precision_at_k)


def test_one_person_filed_under_two_names_is_the_most_confused_pair(small_faceset) -> None:
    persons = list(small_faceset.persons)
    split = max(set(persons), key=persons.count)  # the person with the most photos
    renamed, seen = [], 0
    for p in persons:
        if p == split:
            renamed.append(f"{split}_a" if seen % 2 == 0 else f"{split}_b")
            seen += 1
        else:
            renamed.append(p)
    model = fit_model(small_faceset.encodings, dims=20, k=6)
    honest = evaluate(model, persons, top=5)
    ev = evaluate(model, renamed, top=5)
    worst = ev.confused_pairs[0]
    assert (worst.a, worst.b) == (f"{split}_a", f"{split}_b")
    assert worst.share > 0.3 and worst.results > 0
    # the split alone explains the precision lost against the honest labels
    assert ev.exact_precision_at_k < honest.exact_precision_at_k - 0.05
    assert all(c.share <= worst.share for c in ev.confused_pairs)
    assert not honest.confused_pairs or honest.confused_pairs[0].share < worst.share
