"""Faces -> persons: constraints, determinism and the neighbour graph on tiny data; the behaviour on real photos."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facecore import EncoderSettings, EncodingStore, encode_images, scan_folder
from facecore.errors import InvalidParameterError, NotEnoughFacesError
from facecore.people import grouping as people_module
from facecore.people.faces import photo_ids
from facecore.people.graph import neighbour_graph
from facecore.people.grouping import FIRST_PASS_GAP, Grouping, group_faces
from facecore.people.names import name_persons
from facecore.people.report import people_report
from facecore.people.scores import score_labels
from facecore.people.suggestions import propose_split, suggest_merges


def blobs(sizes: list[int], spread: float = 0.03, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Faces around well separated centres (about 1.4 apart), ``spread`` noise per face; and their blob."""
    rng = np.random.default_rng(seed)
    centres = np.eye(128, dtype=np.float32)[: len(sizes)]
    which = np.repeat(np.arange(len(sizes)), sizes)
    x = centres[which] + rng.normal(0, spread / np.sqrt(128), (len(which), 128)).astype(np.float32)
    return x.astype(np.float32), which


def pairs(graph) -> set[tuple[int, int]]:
    return set(zip(graph.rows.tolist(), graph.cols.tolist(), strict=True))


# --------------------------------------------------------------------------- tiny data


def test_blobs_become_persons_largest_first_and_deterministic() -> None:
    x, which = blobs([3, 7, 5, 1])
    g = group_faces(x, np.arange(len(x)))
    assert g.n_persons == 3
    assert g.sizes.tolist() == [7, 5, 3]
    assert (g.labels[which == 1] == 0).all() and (g.labels[which == 2] == 1).all() and (g.labels[which == 0] == 2).all()
    assert g.unsorted.tolist() == [15]  # the lone face: below min_size=2
    again = group_faces(x, np.arange(len(x)))
    assert np.array_equal(g.labels, again.labels)
    assert group_faces(x, np.arange(len(x)), min_size=1).n_persons == 4
    assert group_faces(x, np.arange(len(x)), min_size=6).n_persons == 1


def test_faces_of_one_photo_never_share_a_person() -> None:
    x, _ = blobs([6])
    photos = np.arange(6)
    photos[3] = photos[0]  # faces 0 and 3 are in one photo
    g = group_faces(x, photos, min_size=1)
    assert g.labels[0] != g.labels[3]
    assert group_faces(x, np.arange(6)).n_persons == 1  # without the shared photo: one person


def test_must_link_joins_and_cannot_link_separates() -> None:
    x, which = blobs([4, 4])
    assert group_faces(x, np.arange(8)).n_persons == 2
    # "0 and 5 are the same person": their persons are one
    assert group_faces(x, np.arange(8), must_link=[(0, 5)]).n_persons == 1
    # ... unless 5 is also not 4's person: then 5 alone moves (what a "move" correction records)
    moved = group_faces(x, np.arange(8), must_link=[(0, 5)], cannot_link=[(5, 4)], min_size=1)
    assert moved.labels[5] == moved.labels[0] != moved.labels[4]
    assert moved.labels[6] == moved.labels[4] or moved.labels[7] == moved.labels[4]
    apart = group_faces(x, np.arange(8), cannot_link=[(0, 1)], min_size=1)
    assert apart.labels[0] != apart.labels[1]
    assert len(set(apart.labels[[2, 3]])) == 1
    with pytest.raises(InvalidParameterError, match="undo one of those corrections"):
        group_faces(x, np.arange(8), must_link=[(0, 1)], cannot_link=[(1, 0)])
    photos = np.arange(8)
    photos[1] = photos[0]
    with pytest.raises(InvalidParameterError, match="the same photo"):
        group_faces(x, photos, must_link=[(0, 1)])


def test_keep_makes_a_small_group_a_person() -> None:
    x, _ = blobs([5, 1])
    assert group_faces(x, np.arange(6)).n_persons == 1
    g = group_faces(x, np.arange(6), keep=[5])
    assert g.n_persons == 2 and g.labels[5] == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"threshold": 0.9}, r"threshold=0.9 must be between 0.3 and 0.7"),
        ({"min_size": 0}, r"min_size=0 must be an integer between 1 and 1000"),
        ({"method": "kmeans"}, r"method must be one of"),
        ({"must_link": [(0, 99)]}, r"must_link names face rows outside 0..5"),
        ({"keep": [7]}, r"keep names face rows outside"),
    ],
)
def test_bad_parameters_name_the_fix(kwargs: dict, message: str) -> None:
    x, _ = blobs([6])
    with pytest.raises(InvalidParameterError, match=message):
        group_faces(x, np.arange(6), **kwargs)


def test_bad_shapes_and_sizes_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    x, _ = blobs([6])
    with pytest.raises(InvalidParameterError, match="one per face"):
        group_faces(x, np.arange(5))
    with pytest.raises(InvalidParameterError, match=r"\(n_faces, 128\)"):
        group_faces(x[:, :64], np.arange(6))
    with pytest.raises(NotEnoughFacesError):
        group_faces(np.zeros((0, 128), np.float32), [])
    monkeypatch.setattr(people_module, "AGGLOMERATIVE_UP_TO", 5)
    with pytest.raises(InvalidParameterError, match="limited to 5 faces"):
        group_faces(x, np.arange(6), method="agglomerative")


def test_agglomerative_method_finds_the_same_blobs() -> None:
    x, which = blobs([3, 7, 5])
    g = group_faces(x, np.arange(len(x)), method="agglomerative")
    assert score_labels([str(w) for w in which], g.labels).pairwise_f == 1.0


def closest_first(x: np.ndarray, threshold: float, apart: np.ndarray) -> list[set[int]]:
    """Reference pass 2 by brute force: merge the two groups of smallest mean squared cross distance, one pair
    at a time, never across an ``apart`` ((n, n) bool) pair, while that mean is below threshold**2."""
    d2 = ((x[:, None].astype(np.float64) - x[None, :]) ** 2).sum(axis=2)
    groups = [[i] for i in range(len(x))]
    while True:
        best, pair = threshold**2, None
        for p in range(len(groups)):
            for q in range(p + 1, len(groups)):
                if not apart[np.ix_(groups[p], groups[q])].any() and d2[np.ix_(groups[p], groups[q])].mean() < best:
                    best, pair = d2[np.ix_(groups[p], groups[q])].mean(), (p, q)
        if pair is None:
            return [set(g) for g in groups]
        groups[pair[0]] += groups.pop(pair[1])


def test_merging_in_rounds_makes_the_merges_of_closest_first() -> None:
    # Three loose blobs (faces at varied distances from their centre), and a tight hub with eight satellites
    # nearer the hub than each other: the hub takes them one per round, nearest first.
    rng = np.random.default_rng(3)
    x, _ = blobs([15, 15, 15, 10])
    spread = np.concatenate([rng.uniform(0.1, 0.5, 45), np.full(10, 0.05)])
    x = x + (rng.normal(0, 1, x.shape) * spread[:, None] / np.sqrt(128)).astype(np.float32)
    satellites = x[45:].mean(axis=0) + 0.42 * rng.normal(0, 1 / np.sqrt(128), (8, 128))
    x = np.concatenate([x, satellites]).astype(np.float32)
    photos = np.arange(len(x))
    photos[[3, 20, 47]] = photos[7]  # faces of one photo
    cannot = [(0, 1), (16, 25), (33, 40), (45, 60)]
    apart = photos[:, None] == photos[None, :]
    apart[tuple(np.array(cannot).T)] = apart[tuple(np.array(cannot)[:, ::-1].T)] = True
    graph = neighbour_graph(x, 0.55, max_neighbours=len(x))  # every pair below the threshold
    g = group_faces(x, photos, 0.55, 1, cannot_link=cannot, method="agglomerative", graph=graph)
    got = [set(np.flatnonzero(g.labels == p).tolist()) for p in range(g.n_persons)]
    expected = closest_first(x, 0.55, apart)
    assert sorted(map(sorted, got)) == sorted(map(sorted, expected))
    assert 4 < len(expected) < 40  # some merges are made and some refused: the comparison means something


def test_identical_faces_merge_deterministically_unless_kept_apart() -> None:
    x, which = blobs([4, 3])
    x = np.concatenate([x, x])  # every photo imported twice: pairs at distance 0, ties everywhere
    g = group_faces(x, np.arange(14), cannot_link=[(0, 7)], min_size=1)
    assert np.array_equal(g.labels, group_faces(x, np.arange(14), cannot_link=[(0, 7)], min_size=1).labels)
    assert g.labels[0] != g.labels[7]
    for method in people_module.METHODS:
        same = group_faces(x, np.arange(14), method=method).labels
        assert score_labels([str(w) for w in np.concatenate([which, which])], same).pairwise_f == 1.0


def test_graph_holds_exactly_the_close_pairs() -> None:
    rng = np.random.default_rng(1)
    x = (rng.normal(0, 0.45 / np.sqrt(2 * 128), (300, 128))).astype(np.float32)  # pair distances around 0.45
    d = np.linalg.norm(x[:, None] - x[None, :], axis=2)
    truth = {(i, j) for i, j in zip(*np.nonzero(d < 0.5), strict=True) if i < j}
    assert 0 < len(truth) < 300 * 299 / 2  # the radius cuts through the distances: the test can fail
    g = neighbour_graph(x, 0.5, max_neighbours=1000)
    assert g.exact and pairs(g) == truth
    assert np.allclose(g.dist, d[g.rows, g.cols], atol=1e-5)
    # filtering a wider graph gives the narrower one
    wide = neighbour_graph(x, 0.6, max_neighbours=1000)
    r, c, _ = wide.below(0.5)
    assert set(zip(r.tolist(), c.tolist(), strict=True)) == truth
    with pytest.raises(InvalidParameterError, match="radius"):
        g.below(0.6)


def test_graph_keeps_each_faces_nearest_neighbours_only() -> None:
    rng = np.random.default_rng(2)
    x = (rng.normal(0, 0.3 / np.sqrt(2 * 128), (200, 128))).astype(np.float32)  # everyone within 0.5
    d = np.linalg.norm(x[:, None] - x[None, :], axis=2)
    np.fill_diagonal(d, np.inf)
    g = neighbour_graph(x, 0.7, max_neighbours=5)
    nearest = np.argsort(d, axis=1)[:, :5]
    expected = {(min(i, j), max(i, j)) for i in range(200) for j in nearest[i]}
    assert pairs(g) == expected
    assert len(expected) < 200 * 199 / 2


def test_indexed_graph_finds_nearly_every_pair_of_real_faces(small_faceset) -> None:
    x = small_faceset.encodings
    exact = neighbour_graph(x, 0.6, exact=True)
    indexed = neighbour_graph(x, 0.6, exact=False)
    assert not indexed.exact
    assert pairs(indexed) <= pairs(exact)
    assert len(pairs(indexed)) >= 0.99 * len(pairs(exact))


def test_name_persons_follows_the_most_anchors() -> None:
    g = Grouping(np.array([0, 0, 0, 1, 1, 2, -1]), 0.6, 2, "chinese_whispers", 0)
    # Ann: 2 anchors in person 0, 1 in person 1; Bob: 2 in person 1; Cy: only unsorted faces
    names = name_persons(g, {"Ann": [0, 1, 3], "Bob": [3, 4], "Cy": [6]})
    assert names == ("Ann", "Bob", None)
    # two names in one person: the one with more anchors there wins; the other has no anchor elsewhere
    assert name_persons(g, {"Ann": [0], "Bob": [1, 2]}) == ("Bob", None, None)


def test_suggestions_rank_persons_by_average_distance_and_skip_different_people() -> None:
    x, which = blobs([4, 4, 4])
    x[which == 1] = x[which == 0] + 0.02  # persons 0 and 1 close to each other
    photos = np.arange(12)
    g = group_faces(x, photos, threshold=0.3, cannot_link=[(0, 4)], min_size=1)
    assert g.labels[0] != g.labels[4]
    got = suggest_merges(x, g, photos)
    first = got[0]
    assert {first.a, first.b} == {int(g.labels[0]), int(g.labels[4])}
    assert [s.distance for s in got] == sorted(s.distance for s in got)
    assert first.distance < 0.3 < got[1].distance  # the shifted copy vs a blob 1.4 away
    skipped = suggest_merges(x, g, photos, cannot_link=[(0, 4)])
    assert {skipped[0].a, skipped[0].b} != {first.a, first.b}


# --------------------------------------------------------------------------- real photos


def _link_tree(root: Path, folders: dict[str, list[Path]]) -> Path:
    for name, photos in folders.items():
        (root / name).mkdir(parents=True)
        for p in photos:
            (root / name / p.name).symlink_to(p)
    return root


def test_one_persons_photos_in_two_folders_come_back_as_one_person(tmp_path, small_people, session_cache) -> None:
    first = sorted(small_people[0].iterdir())
    folders = {"alice_a": first[0::2], "alice_b": first[1::2]}
    folders.update({p.name: sorted(p.iterdir()) for p in small_people[1:]})
    refs, skipped = scan_folder(_link_tree(tmp_path / "set", folders))
    fs = encode_images(refs, EncoderSettings(), EncodingStore(session_cache), skipped=skipped)
    g = group_faces(fs.encodings, photo_ids(fs))
    folder = np.array(fs.persons)
    top_a = Counter(g.labels[folder == "alice_a"]).most_common(1)[0]
    top_b = Counter(g.labels[folder == "alice_b"]).most_common(1)[0]
    assert top_a[0] == top_b[0] >= 0
    together = g.labels == top_a[0]
    assert together[np.isin(folder, ["alice_a", "alice_b"])].mean() >= 0.8
    assert set(folder[together]) == {"alice_a", "alice_b"}


def test_two_faces_of_one_photo_never_share_a_person(tmp_path, small_people, session_cache) -> None:
    photos = sorted(small_people[0].iterdir())
    a, b = (Image.open(p).convert("RGB") for p in (photos[0], photos[3]))
    both = Image.new("RGB", (a.width + b.width, max(a.height, b.height)), "white")
    both.paste(a, (0, 0))
    both.paste(b, (a.width, 0))
    (tmp_path / "set" / "group").mkdir(parents=True)
    both.save(tmp_path / "set" / "group" / "two.jpg", quality=95)
    _link_tree(tmp_path / "set", {small_people[0].name: photos})
    refs, skipped = scan_folder(tmp_path / "set")
    fs = encode_images(refs, EncoderSettings(all_faces=True), EncodingStore(session_cache), skipped=skipped)
    pair = [i for i, f in enumerate(fs.faces) if f.name == "group/two.jpg"]
    assert len(pair) == 2
    # the same person twice, close enough to be linked in pass 1: only the photo rule keeps them apart
    assert np.linalg.norm(fs.encodings[pair[0]] - fs.encodings[pair[1]]) < 0.7 - FIRST_PASS_GAP
    for t in (0.5, 0.6, 0.7):
        g = group_faces(fs.encodings, photo_ids(fs), t, min_size=1)
        assert g.labels[pair[0]] != g.labels[pair[1]]
    ids = np.arange(len(fs))  # every face its own photo: now they do share a person
    assert len(set(group_faces(fs.encodings, ids, 0.7).labels[pair])) == 1


def test_propose_split_separates_two_people_forced_together(small_faceset) -> None:
    folder = np.array(small_faceset.persons)
    rows_a = np.flatnonzero(folder == "person_7201")
    rows_b = np.flatnonzero(folder == "person_7202")
    chain = [(rows_a[0], r) for r in [*rows_a[1:], *rows_b]]
    photos = photo_ids(small_faceset)
    g = group_faces(small_faceset.encodings, photos, must_link=chain)
    person = int(g.labels[rows_a[0]])
    assert set(g.members(person)) >= set(rows_a) | set(rows_b)
    parts = propose_split(small_faceset.encodings, g, person, photos)
    assert len(parts) >= 2
    assert sum(len(p) for p in parts) == len(g.members(person))
    for part in parts[:2]:
        assert len(set(folder[part])) == 1  # each large part is one of the two people
    assert set(folder[parts[0]]) != set(folder[parts[1]])


def test_suggestions_on_real_faces_name_the_same_folder_first(small_faceset) -> None:
    photos = photo_ids(small_faceset)
    g = group_faces(small_faceset.encodings, photos, threshold=0.45)  # tight: people split into pieces
    folder = np.array(small_faceset.persons)
    top = suggest_merges(small_faceset.encodings, g, photos, top=5)
    assert len(top) == 5
    majority = [Counter(folder[g.labels == p]).most_common(1)[0][0] for p in range(g.n_persons)]
    assert sum(majority[s.a] == majority[s.b] for s in top) >= 4


def test_people_report_is_json_with_persons_paths_and_scores(small_faceset) -> None:
    report = people_report(small_faceset)
    json.dumps(report)
    assert report["threshold"] == people_module.DEFAULT_THRESHOLD
    assert sum(p["size"] for p in report["persons"]) + len(report["unsorted"]) == len(small_faceset)
    sizes = [p["size"] for p in report["persons"]]
    assert sizes == sorted(sizes, reverse=True) and all(p["name"] is None for p in report["persons"])
    assert all(path.count("/") == 1 for p in report["persons"] for path in p["paths"])
    scores = report["scores"]
    assert scores["true_persons"] == 6 and scores["kmeans_k"] == 6
    assert scores["pairwise_f"] >= 0.9 and scores["bcubed_f"] >= 0.9
    assert 0 <= scores["kmeans_pairwise_f"] <= 1


def test_the_face_shown_first_is_the_anchor_a_correction_is_recorded_on(small_faceset) -> None:
    from facecore import anchor_rows, group_faceset, representatives, typical_first

    grouping = group_faceset(small_faceset)
    x = small_faceset.encodings
    order = typical_first(x, grouping.labels)
    reps = representatives(x, grouping.labels, grouping.n_persons)
    assert sorted(order.tolist()) == np.flatnonzero(grouping.labels >= 0).tolist()
    for person in range(grouping.n_persons):
        members = grouping.members(person)
        block = order[np.isin(order, members)]
        assert reps[person] == block[0] == anchor_rows(x, members, 1)[0]
        assert np.array_equal(np.sort(block[:5]), anchor_rows(x, members, 5))


def test_typical_first_orders_each_person_by_distance_to_its_mean() -> None:
    from facecore import anchor_rows, representatives, typical_first

    x = np.zeros((6, 128), np.float32)
    x[:, 0] = [0.0, 1.0, 10.0, 5.0, 7.0, 6.0]  # person 0: rows 0-2 (mean 11/3), person 1: rows 3-5 (mean 6)
    labels = np.array([0, 0, 0, 1, 1, 1])
    assert typical_first(x, labels).tolist() == [1, 0, 2, 5, 3, 4]  # person 1: 6 is the mean, 5 and 7 tie
    assert representatives(x, labels, 2).tolist() == [1, 5]
    assert representatives(x, np.array([-1, -1, -1, 1, 1, 1]), 2).tolist() == [-1, 5]  # a person with no face
    assert anchor_rows(x, [0, 1, 2], 2).tolist() == [0, 1]
