"""Corrections: stored in the cache file by face content, applied as constraints, undone, deleted."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from facecore import EncoderSettings, EncodingStore, Face, FaceSet, encode_images, scan_folder
from facecore.errors import InvalidParameterError
from facecore.people.corrections import (
    different_people,
    load_corrections,
    merge_persons,
    move_faces,
    name_faces,
    name_person,
    not_this_person,
    split_person,
)
from facecore.people.grouping import group_faceset
from facecore.people.names import name_persons
from facecore.people.suggestions import propose_split
from facecore.storage.person_facts import delete_corrections, list_corrections, undo_correction


def fake_set(x: np.ndarray, persons: list[str], settings: str = "test-settings") -> FaceSet:
    """A FaceSet of synthetic encodings, one photo per face (digest = sha-like name of the face)."""
    faces = tuple(
        Face(digest=f"{i:064x}", name=f"{p}/{i}.jpg", in_photo=0, box=(0, 1, 1, 0), person=p)
        for i, p in enumerate(persons)
    )
    return FaceSet(faces=faces, encodings=x.astype(np.float32), images=len(faces), skipped=(), settings_key=settings)


def blob_set(sizes: list[int], close_pair: bool = False) -> FaceSet:
    """Blobs about 1.4 apart; with ``close_pair`` blob 1 is blob 0 shifted by 0.4 (two look-alikes)."""
    rng = np.random.default_rng(0)
    which = np.repeat(np.arange(len(sizes)), sizes)
    x = np.eye(128, dtype=np.float32)[which] + rng.normal(0, 0.03 / np.sqrt(128), (len(which), 128))
    if close_pair:
        x[which == 1] = x[which == 0][: sizes[1]] + 0.035
    return fake_set(x, [f"p{w}" for w in which])


def person_of(grouping, fs: FaceSet, folder: str) -> int:
    """The person holding most faces of ``folder``."""
    labels = grouping.labels[np.array(fs.persons) == folder]
    return int(Counter(labels.tolist()).most_common(1)[0][0])


@pytest.fixture()
def store(tmp_path: Path) -> EncodingStore:
    return EncodingStore(tmp_path / "cache.sqlite")


def regroup(store_path: Path, fs: FaceSet, threshold: float = 0.6):
    """Reopen the cache file as after a restart, load the corrections and regroup."""
    c = load_corrections(EncodingStore(store_path), fs)
    g = group_faceset(fs, threshold, constraints=c)
    return g, name_persons(g, c.names), c


# --------------------------------------------------------------------------- synthetic faces


def test_a_name_survives_reopening_the_store(store: EncodingStore) -> None:
    fs = blob_set([6, 5, 4])
    g = group_faceset(fs)
    ann = person_of(g, fs, "p1")
    name_person(store, fs, g, ann, "  Ann  ")
    g2, names, c = regroup(store.path, fs)
    assert names[person_of(g2, fs, "p1")] == "Ann"
    assert sum(n is not None for n in names) == 1
    assert len(c.names["Ann"]) == 5  # the person's anchors


def test_renaming_a_person_keeps_the_latest_name_and_a_shared_name_merges(store: EncodingStore) -> None:
    fs = blob_set([6, 5, 4])
    g = group_faceset(fs)
    name_person(store, fs, g, person_of(g, fs, "p0"), "Ann")
    name_person(store, fs, g, person_of(g, fs, "p0"), "Anna")
    g2, names, _ = regroup(store.path, fs)
    assert names[person_of(g2, fs, "p0")] == "Anna" and "Ann" not in names
    assert g2.n_persons == 3
    name_person(store, fs, g, person_of(g, fs, "p2"), "Anna")  # the same name: one person
    g3, names3, _ = regroup(store.path, fs)
    assert g3.n_persons == 2
    assert person_of(g3, fs, "p0") == person_of(g3, fs, "p2")
    assert names3[person_of(g3, fs, "p0")] == "Anna"


def test_merge_then_undo(store: EncodingStore) -> None:
    fs = blob_set([5, 5, 5])
    g = group_faceset(fs)
    assert g.n_persons == 3
    action = merge_persons(store, fs, g, [person_of(g, fs, "p0"), person_of(g, fs, "p2")])
    g2, _, _ = regroup(store.path, fs)
    assert g2.n_persons == 2 and person_of(g2, fs, "p0") == person_of(g2, fs, "p2")
    assert list_corrections(store, fs.settings_key)[0] == action
    assert undo_correction(store, fs.settings_key) == action
    assert regroup(store.path, fs)[0].n_persons == 3
    assert undo_correction(store, fs.settings_key) is None
    assert list_corrections(store, fs.settings_key) == ()


def test_split_and_different_people_keep_look_alikes_apart(store: EncodingStore) -> None:
    fs = blob_set([6, 6, 4], close_pair=True)
    g = group_faceset(fs)
    both = person_of(g, fs, "p0")
    assert both == person_of(g, fs, "p1")  # the look-alikes are one person at 0.6
    parts = propose_split(fs.encodings, g, both, [f.digest for f in fs.faces], threshold=0.3)
    assert sorted(len(p) for p in parts) == [6, 6]
    split_person(store, fs, parts)
    g2, _, _ = regroup(store.path, fs)
    assert person_of(g2, fs, "p0") != person_of(g2, fs, "p1")
    undo_correction(store, fs.settings_key)
    tight = group_faceset(fs, 0.3)  # apart at a tight threshold: say so, then loosen
    different_people(store, fs, tight, person_of(tight, fs, "p0"), person_of(tight, fs, "p1"))
    for t in (0.5, 0.6, 0.7):
        g3, _, _ = regroup(store.path, fs, t)
        assert person_of(g3, fs, "p0") != person_of(g3, fs, "p1")


def test_moving_a_face_and_not_this_person(store: EncodingStore) -> None:
    fs = blob_set([6, 6, 4])
    g = group_faceset(fs)
    face = 2  # a p0 face
    move_faces(store, fs, g, [face], person_of(g, fs, "p2"))
    g2, _, _ = regroup(store.path, fs)
    assert g2.labels[face] == person_of(g2, fs, "p2") != person_of(g2, fs, "p0")
    undo_correction(store, fs.settings_key)
    other = 8  # a p1 face
    not_this_person(store, fs, g, [other])
    g3, _, _ = regroup(store.path, fs)
    assert g3.labels[other] != person_of(g3, fs, "p1")
    assert (g3.labels[np.array(fs.persons) == "p1"] == person_of(g3, fs, "p1")).sum() == 5


def test_a_later_correction_wins_over_an_earlier_one(store: EncodingStore) -> None:
    fs = blob_set([5, 5, 5])
    g = group_faceset(fs)
    a, b = person_of(g, fs, "p0"), person_of(g, fs, "p1")
    merge_persons(store, fs, g, [a, b])
    different_people(store, fs, g, a, b)
    g2, _, c = regroup(store.path, fs)
    assert c.ignored > 0
    assert person_of(g2, fs, "p0") != person_of(g2, fs, "p1")
    undo_correction(store, fs.settings_key)  # the merge alone is left
    g3 = regroup(store.path, fs)[0]
    assert person_of(g3, fs, "p0") == person_of(g3, fs, "p1")


def test_corrections_are_kept_per_encoder_settings(store: EncodingStore) -> None:
    fs = blob_set([5, 5])
    g = group_faceset(fs)
    name_person(store, fs, g, 0, "Ann")
    other = fake_set(fs.encodings, fs.persons, settings="other-settings")
    assert load_corrections(store, other).names == {}
    assert list_corrections(store, "other-settings") == ()
    assert len(list_corrections(store, fs.settings_key)) == 1


def test_deleting_a_photos_corrections(store: EncodingStore) -> None:
    fs = blob_set([5, 5, 5])
    g = group_faceset(fs)
    p0, p1 = person_of(g, fs, "p0"), person_of(g, fs, "p1")
    name_person(store, fs, g, p0, "Ann")
    merge_persons(store, fs, g, [p1, person_of(g, fs, "p2")])
    p0_digests = [f.digest for f in fs.faces if f.person == "p0"]
    assert delete_corrections(store, p0_digests) == 5  # the five name facts of Ann's anchors
    assert [a.kind for a in list_corrections(store, fs.settings_key)] == ["merge"]  # the emptied action is gone
    c = load_corrections(store, fs)
    assert c.names == {} and len(c.must_link) > 0
    assert delete_corrections(store, [f.digest for f in fs.faces]) > 0
    assert list_corrections(store, fs.settings_key) == ()
    assert len(load_corrections(store, fs).must_link) == 0


def test_bad_corrections_are_refused_with_the_fix(store: EncodingStore) -> None:
    fs = blob_set([5, 5])
    g = group_faceset(fs)
    with pytest.raises(InvalidParameterError, match="1 to 100 characters"):
        name_person(store, fs, g, 0, "   ")
    with pytest.raises(InvalidParameterError, match="at least two different persons"):
        merge_persons(store, fs, g, [0, 0])
    with pytest.raises(InvalidParameterError, match="outside 0..9"):
        name_faces(store, fs, [10], "Ann")
    with pytest.raises(InvalidParameterError, match="person=5 must be between 0 and 1"):
        name_person(store, fs, g, 5, "Ann")
    with pytest.raises(InvalidParameterError, match="regroup this set first"):
        name_person(store, blob_set([5, 5, 5]), g, 0, "Ann")
    with pytest.raises(InvalidParameterError, match="parts overlap"):
        split_person(store, fs, [[0, 1], [1, 2]])
    with pytest.raises(InvalidParameterError, match="not a recorded correction"):
        undo_correction(store, fs.settings_key, action=12345)
    assert list_corrections(store, fs.settings_key) == ()


# --------------------------------------------------------------------------- real photos


def test_real_name_follows_its_person_across_thresholds_and_a_renamed_folder(
    store: EncodingStore, small_faceset, small_people, session_cache, tmp_path: Path
) -> None:
    fs = small_faceset
    g = group_faceset(fs)
    ann = person_of(g, fs, "person_7201")
    name_person(store, fs, g, ann, "Ann")
    for t in (0.5, 0.55, 0.65):
        g2, names, _ = regroup(store.path, fs, t)
        assert names.count("Ann") == 1
        assert Counter(np.array(fs.persons)[g2.labels == names.index("Ann")]).most_common(1)[0][0] == "person_7201"
    # the same photos under other folder names, read again: the name is on the same faces
    for person in small_people:
        (tmp_path / "renamed" / f"someone_{person.name[-4:]}").mkdir(parents=True)
        for photo in sorted(person.iterdir()):
            (tmp_path / "renamed" / f"someone_{person.name[-4:]}" / photo.name).symlink_to(photo)
    refs, skipped = scan_folder(tmp_path / "renamed")
    moved = encode_images(refs, EncoderSettings(), EncodingStore(session_cache), skipped=skipped)
    g3, names3, _ = regroup(store.path, moved)
    folder = Counter(np.array(moved.persons)[g3.labels == names3.index("Ann")]).most_common(1)[0][0]
    assert folder == "someone_7201"
