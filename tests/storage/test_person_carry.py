"""Persons named and corrected on photos encoded with their largest face only (a cache written before every face
was kept) come along when every face of those photos is encoded: same ids, same names, same corrections."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np

from facecore import EncodeJob, EncoderSettings, EncodingStore, encode_images, scan_folder
from facecore.people.edits import move_to, name_id
from facecore.people.identities import persons_for
from facecore.storage.person_carry import carry_persons
from facecore.storage.person_facts import list_corrections

EVERY, LARGEST = EncoderSettings(all_faces=True), EncoderSettings()
PERSON_TABLES = ("person_actions", "person_facts", "person_face_ids", "person_id_counter", "person_id_facts")


def _private_cache(src: Path, dst: Path) -> EncodingStore:
    """A copy of the session's cache (its photos encoded already) without the person rows other tests left."""
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)
        for table in PERSON_TABLES:
            if b.execute("SELECT 1 FROM sqlite_master WHERE name=?", (table,)).fetchone():
                b.execute(f'DELETE FROM "{table}"')
    return EncodingStore(dst)


def test_names_and_corrections_made_on_the_largest_faces_come_along_to_every_face(
    small_dataset: Path, small_faceset, session_cache: Path, tmp_path: Path
) -> None:
    store = _private_cache(session_cache, tmp_path / "cache.sqlite")
    refs, skipped = scan_folder(small_dataset)
    largest = encode_images(refs, LARGEST, store, skipped=skipped)  # as reopened from an old cache
    first = persons_for(store, largest)
    named, other = int(first.ids[0]), int(first.ids[1])
    name_id(store, largest, first, named, "Ann Example")
    moved = int(np.flatnonzero(first.face_ids() == other)[0])
    move_to(store, largest, persons_for(store, largest), [moved], None)  # "not this person"
    before = persons_for(store, largest)
    assert before.face_ids()[moved] == -1 and before.names[before.index(named)] == "Ann Example"

    job = EncodeJob("small", EVERY, store, lambda stop: (refs, skipped), reopen_old=False).start()  # the button
    assert job.wait(900) and job.error is None, job.error
    every = job.faceset
    assert every.settings_key == EVERY.key != LARGEST.key
    after = persons_for(store, every)
    row = {(f.digest, f.in_photo): r for r, f in enumerate(every.faces)}
    mine = np.array([row[(f.digest, f.in_photo)] for f in largest.faces])  # each largest face's row now
    assert after.names[after.index(named)] == "Ann Example"
    assert after.face_ids()[mine[moved]] == -1  # still out of its person
    same = after.face_ids()[mine] == before.face_ids()
    assert same.mean() >= 0.98, f"{(~same).sum()} of {len(same)} faces changed person"
    assert [a.summary for a in list_corrections(store, EVERY.key)] == [
        a.summary for a in list_corrections(store, LARGEST.key)]  # the log and undo come along
    assert carry_persons(store, every.digests, LARGEST.key, EVERY.key) == 0  # once: the histories then part
