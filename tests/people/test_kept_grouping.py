"""The grouping kept in the cache file (facecore.people.kept, storage.set_groupings), on the shared photos: it is
read back identical by a new process instead of grouped again, grouped again whenever an input changes
(strictness, a must-link / cannot-link / name fact, new photos, the grouping code), and the corrections on ids
are still laid on top exactly."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

import facecore.people.kept as kept
from facecore import FaceSet, delete_set
from facecore.faceset import faceset_key
from facecore.people.corrections import merge_persons, name_faces
from facecore.people.edits import merge_ids, move_to, name_id
from facecore.people.grouping import group_faceset
from facecore.people.identities import persons_for
from facecore.storage.encodings import EncodingStore
from facecore.storage.person_facts import undo_correction
from facecore.storage.set_groupings import KEEP_PER_SET, get_grouping, put_grouping


@pytest.fixture()
def store(tmp_path: Path) -> EncodingStore:
    return EncodingStore(tmp_path / "facts.sqlite")


@pytest.fixture()
def groupings(monkeypatch) -> list[float]:
    """The thresholds the faces were really grouped at (not read back), in call order."""
    calls: list[float] = []

    def counted(faceset, threshold, *args, **kwargs):
        calls.append(threshold)
        return group_faceset(faceset, threshold, *args, **kwargs)

    monkeypatch.setattr(kept, "group_faceset", counted)
    return calls


def kept_rows(store: EncodingStore) -> int:
    with sqlite3.connect(store.path) as con:
        return con.execute("SELECT count(*) FROM set_groupings").fetchone()[0]


def same(a, b) -> bool:
    """Two Persons show the same persons: labels, ids, names, and the grouping under the corrections."""
    return (np.array_equal(a.grouping.labels, b.grouping.labels) and np.array_equal(a.ids, b.ids)
            and a.names == b.names and np.array_equal(a.base.labels, b.base.labels))  # fmt: skip


def without_kept(store: EncodingStore, tmp_path: Path) -> EncodingStore:
    """A copy of the cache file with every kept grouping left out: what grouping from scratch gives."""
    dst = tmp_path / "scratch.sqlite"
    shutil.copy(store.path, dst)
    with sqlite3.connect(dst) as con:
        con.execute("DELETE FROM set_groupings")
    return EncodingStore(dst)


def test_the_grouping_is_kept_and_read_back_identical(store, small_faceset, groupings) -> None:
    fs = small_faceset
    first = persons_for(store, fs, 0.6)
    assert groupings == [0.6] and kept_rows(store) == 1
    again = persons_for(EncodingStore(store.path), fs, 0.6)  # a new server process: read back, not grouped
    assert groupings == [0.6] and same(first, again)
    assert np.array_equal(again.base.labels, group_faceset(fs, 0.6).labels)  # what grouping now gives
    assert again.base.threshold == 0.6 and again.base.method == first.base.method


def test_a_strictness_a_fact_new_photos_or_new_code_group_again(store, small_faceset, groupings, monkeypatch) -> None:
    fs = small_faceset
    persons_for(store, fs, 0.6)
    persons_for(store, fs, 0.5)  # another strictness
    assert groupings == [0.6, 0.5]
    persons_for(store, fs, 0.6)  # back: kept
    assert groupings == [0.6, 0.5]
    p = persons_for(store, fs, 0.6)
    merge_persons(store, fs, p.grouping, [0, 1])  # a must-link fact feeds the grouping
    merged = persons_for(store, fs, 0.6)
    assert groupings == [0.6, 0.5, 0.6] and merged.n_persons == p.n_persons - 1
    name_faces(store, fs, [int(p.grouping.members(2)[0])], "Ada")  # a name fact (its anchors are kept together)
    persons_for(store, fs, 0.6)
    assert len(groupings) == 4
    undo_correction(store, fs.settings_key)  # back to the facts of the merge: that grouping is kept
    assert same(persons_for(store, fs, 0.6), merged) and len(groupings) == 4
    folders = np.array([f.person for f in fs.faces])
    faces = tuple(f for f in fs.faces if f.person != sorted(set(folders))[-1])  # before the last folder came
    fewer = FaceSet(faces=faces, encodings=fs.encodings[folders != sorted(set(folders))[-1]], images=len(faces),
                    skipped=(), settings_key=fs.settings_key, key=faceset_key(faces, fs.settings_key))  # fmt: skip
    persons_for(store, fewer, 0.6)
    assert len(groupings) == 5
    shuffled = FaceSet(faces=fs.faces, encodings=fs.encodings[::-1].copy(), images=fs.images, skipped=(),
                       settings_key=fs.settings_key, key=fs.key)  # the same key by hand, other encodings
    persons_for(store, shuffled, 0.6)
    assert len(groupings) == 6
    monkeypatch.setattr(kept, "code_digest", lambda: "other code")
    persons_for(store, fs, 0.6)
    assert len(groupings) == 7


def test_corrections_on_ids_use_the_kept_grouping_and_do_exactly_what_they_say(
    store, small_faceset, groupings, tmp_path
) -> None:
    fs = small_faceset
    before = persons_for(store, fs)
    big, other = int(before.ids[0]), int(before.ids[1])
    fid = before.face_ids()
    face = int(np.flatnonzero(fid == big)[0])
    move_to(store, fs, before, [face], None)  # "not this person": a pin on ids, laid on top
    name_id(store, fs, before, other, "Grace")
    merge_ids(store, fs, before, [other, int(before.ids[2])])
    after = persons_for(store, fs)
    assert len(groupings) == 1  # the corrections on ids never regroup
    now = after.face_ids()
    assert now[face] == -1 and face in after.grouping.unsorted
    assert set(np.flatnonzero(now == big)) == set(np.flatnonzero(fid == big)) - {face}
    assert set(np.flatnonzero(now == other)) == set(np.flatnonzero((fid == other) | (fid == before.ids[2])))
    assert after.names[after.index(other)] == "Grace"
    untouched = [int(i) for i in before.ids[3:]]
    assert all(set(np.flatnonzero(now == i)) == set(np.flatnonzero(fid == i)) for i in untouched)
    assert same(after, persons_for(without_kept(store, tmp_path), fs))  # as grouping from scratch gives


def test_deleting_photos_forgets_kept_groupings_and_only_the_latest_are_kept(store, small_faceset) -> None:
    fs = small_faceset
    persons_for(store, fs)
    labels = np.arange(len(fs), dtype=np.int32)
    for i in range(KEEP_PER_SET + 3):
        put_grouping(store, "some set", f"params {i}", labels)
    assert get_grouping(store, "some set", "params 0", len(fs)) is None  # the oldest went
    assert np.array_equal(get_grouping(store, "some set", f"params {KEEP_PER_SET + 2}", len(fs)), labels)
    assert get_grouping(store, "some set", f"params {KEEP_PER_SET + 2}", len(fs) + 1) is None  # not this set's size
    assert kept_rows(store) == KEEP_PER_SET + 1
    delete_set(store, [fs.faces[0].digest])
    assert kept_rows(store) == 0
