"""Persons by agreement with Infomap: the graph it runs on, determinism, and on the held-out half of the real
people the score the default was chosen for, with every constraint kept."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.people import halves
from facecore import EncoderSettings, EncodingStore, encode_images, scan_folder
from facecore.people.faces import photo_ids
from facecore.people.graph import neighbour_graph
from facecore.people.grouping import DEFAULT_METHOD, group_faces
from facecore.people.infomap import (
    agreement,
    group_edges,
    infomap_labels,
    near_duplicates,
    nearest_edges,
    split_by_infomap,
)
from facecore.people.scores import score_labels


def blobs(sizes: list[int], spread: float = 0.03, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    which = np.repeat(np.arange(len(sizes)), sizes)
    x = np.eye(128, dtype=np.float32)[which] + rng.normal(0, spread / np.sqrt(128), (len(which), 128))
    return x.astype(np.float32), which


# --------------------------------------------------------------------------- small data


def test_nearest_edges_keep_each_faces_k_nearest_once() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(0, 0.3 / np.sqrt(2 * 128), (120, 128)).astype(np.float32)
    g = neighbour_graph(x, 0.7)
    a, b, d = nearest_edges(g.rows, g.cols, g.dist, len(x), k=4)
    dist = np.linalg.norm(x[:, None] - x[None, :], axis=2)
    np.fill_diagonal(dist, np.inf)
    near = np.argsort(dist, axis=1)[:, :4]
    expected = {(min(i, j), max(i, j)) for i in range(120) for j in near[i]}
    assert set(zip(a.tolist(), b.tolist(), strict=True)) == expected
    assert np.allclose(d, dist[a, b], atol=1e-5) and (a < b).all()


def test_agreement_only_splits() -> None:
    first = np.array([0, 0, 0, 1, 1, 2])
    second = np.array([5, 5, 7, 7, 7, 7])
    got = agreement(first, second)
    assert got[0] == got[1] and len({got[1], got[2], got[3], got[5]}) == 4 and got[3] == got[4]


def test_near_duplicates_chain_and_their_edges_add_up() -> None:
    rows, cols = np.array([0, 1, 3, 0, 2]), np.array([1, 2, 4, 3, 4])
    dist = np.array([0.1, 0.2, 0.25, 0.5, 0.45], np.float32)
    dup = near_duplicates(rows, cols, dist, 6, below=0.3)
    assert dup[0] == dup[1] == dup[2] and dup[3] == dup[4] and len(set(dup.tolist())) == 3
    u, v, w = group_edges(dup, rows, cols, np.array([1.0, 1.0, 1.0, 0.5, 0.25]))
    assert len(u) == 1 and (u < v).all() and w.tolist() == [0.75]  # 0-3 and 2-4 join the same two groups


def test_infomap_finds_blobs_and_is_deterministic() -> None:
    x, which = blobs([6, 9, 4])
    g = neighbour_graph(x, 0.6)
    labels = infomap_labels(len(x), g.rows, g.cols, 1 - g.dist, seed=3)
    assert score_labels([str(w) for w in which], labels).pairwise_f == 1.0
    assert np.array_equal(labels, infomap_labels(len(x), g.rows, g.cols, 1 - g.dist, seed=3))
    split = split_by_infomap(np.zeros(len(x), np.int64), g.rows, g.cols, g.dist, 0.6)
    assert score_labels([str(w) for w in which], split).pairwise_f == 1.0  # one group of three blobs, split
    assert np.array_equal(infomap_labels(3, np.zeros(0, int), np.zeros(0, int), np.zeros(0)), [0, 1, 2])


def test_consensus_is_the_default_and_keeps_the_photo_rule_on_blobs() -> None:
    assert DEFAULT_METHOD == "consensus"
    x, _ = blobs([6])
    photos = np.array([0, 0, 1, 2, 3, 4])
    g = group_faces(x, photos, min_size=1)
    assert g.method == "consensus" and g.labels[0] != g.labels[1]


# --------------------------------------------------------------------------- the held-out half of the real people


@pytest.fixture(scope="module")
def held_out(tmp_path_factory: pytest.TempPathFactory, dataset_dir: Path, session_cache: Path):
    """The faces of the half of the shared people the grouping was not tuned on (bench/people.py's split, seed 0)."""
    names = np.array(sorted(p.name for p in dataset_dir.glob("person_*") if p.is_dir()))
    _, held = halves(names, 0)
    root = tmp_path_factory.mktemp("held-out")
    for name in held:
        (root / name).mkdir()
        for photo in sorted((dataset_dir / name).iterdir()):
            (root / name / photo.name).symlink_to(photo)
    refs, skipped = scan_folder(root)
    return encode_images(refs, EncoderSettings(), EncodingStore(session_cache), skipped=skipped)


@pytest.mark.slow
def test_held_out_people_are_grouped_with_f_above_095(held_out) -> None:
    persons, x, photos = held_out.persons, held_out.encodings, photo_ids(held_out)
    assert len(set(persons)) == 75
    best = score_labels(persons, group_faces(x, photos).labels)
    assert best.pairwise_f >= 0.95 and best.bcubed_f >= 0.95
    two_pass = score_labels(persons, group_faces(x, photos, method="chinese_whispers").labels)
    assert best.pairwise_f > two_pass.pairwise_f and best.bcubed_f > two_pass.bcubed_f


def _clear(labels: np.ndarray, a: int, b: int) -> bool:
    """Faces a and b are not in one person (both unsorted counts as apart)."""
    return labels[a] != labels[b] or labels[a] < 0


@pytest.mark.slow
def test_held_out_constraints_hold(held_out) -> None:
    x, folder = held_out.encodings, np.array(held_out.persons)
    photos = np.arange(len(x))
    base = group_faces(x, photos).labels
    # the photo rule: each person's two closest faces declared one photo (the pair most likely to be joined)
    pairs = []
    for name in np.unique(folder)[:30]:
        rows = np.flatnonzero(folder == name)
        if len(rows) >= 2:
            d = np.linalg.norm(x[rows, None] - x[None, rows], axis=2) + np.eye(len(rows)) * 9
            i, j = np.unravel_index(np.argmin(d), d.shape)
            pairs.append((rows[i], rows[j]))
    assert sum(not _clear(base, a, b) for a, b in pairs) >= 20  # together before the rule
    shared = photos.copy()
    for a, b in pairs:
        shared[b] = shared[a]
    labels = group_faces(x, shared).labels
    assert all(_clear(labels, a, b) for a, b in pairs)
    # the user's facts: faces of one found person declared different people, faces of two persons the same
    cannot = [(int(np.flatnonzero(base == p)[0]), int(np.flatnonzero(base == p)[1])) for p in range(10)]
    must = [(int(np.flatnonzero(base == p)[0]), int(np.flatnonzero(base == p + 1)[0])) for p in range(20, 30, 2)]
    labels = group_faces(x, photos, must_link=must, cannot_link=cannot).labels
    assert all(_clear(labels, a, b) for a, b in cannot)
    assert all(labels[a] == labels[b] >= 0 for a, b in must)


@pytest.mark.slow
def test_a_burst_of_near_identical_shots_stays_in_its_person(held_out) -> None:
    """20 held-out people each get 30 near-copies of one of their faces (a burst, pairs ~0.1 apart): each burst's
    10 nearest neighbours are the burst itself, which Infomap cut out of its person before near-duplicates became
    one node."""
    x0, folder0 = held_out.encodings, np.array(held_out.persons)
    rng = np.random.default_rng(5)
    xs, folders, bursts = [x0], [folder0], []
    for name in rng.choice(np.unique(folder0), 20, replace=False):
        row = rng.choice(np.flatnonzero(folder0 == name))
        start = sum(len(f) for f in folders)
        xs.append(x0[row] + rng.standard_normal((30, 128)).astype(np.float32) * (0.1 / np.sqrt(256)))
        folders.append(np.array([name] * 30))
        bursts.append((row, np.arange(start, start + 30)))
    x, folder = np.concatenate(xs), np.concatenate(folders)
    labels = group_faces(x, np.arange(len(x))).labels
    whole = sum(bool((labels[rows] == labels[row]).all()) and labels[row] >= 0 for row, rows in bursts)
    assert whole == 20  # every burst is in the person of the face it copies
    mates = [int((labels[folder == folder[row]] == labels[row]).sum()) - 31 for row, _ in bursts]
    assert np.median(mates) >= 5  # ... and that person holds the other photos too, not the burst alone
    scores = score_labels(list(folder), labels)
    assert scores.pairwise_f >= 0.95 and scores.bcubed_f >= 0.95
