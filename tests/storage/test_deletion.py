"""The one delete rule (facecore.storage.deletion), through the CLI: after `cache delete DIR` nothing about
those photos is left in any table of the cache file, and after `cache clear` no row at all, names included."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from facecore import (
    EncodingStore,
    cached_photo_hashes,
    delete_set,
    encodings_npz,
    faceset_layout_key,
    hidden_digests,
    hide_photos,
    import_encodings,
    imported_sets,
    list_corrections,
    name_faces,
    save_set,
    scan_folder,
    split_person,
)
from facecore.people.edits import mark_different, name_id
from facecore.people.identities import persons_for
from facecore.storage.maps import store_map

#: Every table the cache file may hold. A new table must say here what deleting does to it.
TABLES = {
    "images", "faces", "face_quality", "person_actions", "person_facts", "saved_sets", "saved_set_files",
    "imported_sets", "maps", "map_photos", "photo_hashes", "hidden_photos", "sqlite_sequence", "person_face_ids",
    "person_id_counter", "person_id_facts", "set_groupings",
}  # fmt: skip
#: Tables of what was measured or fitted on a whole set (storage.set_results, set_fits) and of the set opened last
#: (storage.read_ahead): present once a page or test measured or opened something in the shared session cache;
#: emptied by any deletion.
KEPT = {"set_results", "set_fits", "last_opened"}
NAME = "Deletable Name"


def _copy_cache(src: Path, dst: Path) -> EncodingStore:
    """A private copy of the session's cache (its photos are encoded already), without what other tests of the
    session left in it besides encodings and face quality (saved uploads, imported sets, corrections, hidden
    photos, hashes), so the fixture's own rows are the only ones."""
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)
        for table in TABLES - {"images", "faces", "face_quality"}:
            if b.execute("SELECT 1 FROM sqlite_master WHERE name=?", (table,)).fetchone():
                b.execute(f'DELETE FROM "{table}"')
    return EncodingStore(dst)


def _rows(path: Path) -> dict[str, list[tuple]]:
    """Every row of every table of the SQLite file at ``path``, by table."""
    with sqlite3.connect(path) as con:
        names = [n for (n,) in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {n: con.execute(f'SELECT * FROM "{n}"').fetchall() for n in names}


def _cli(*args: str, cache: Path) -> subprocess.CompletedProcess:
    out = subprocess.run([sys.executable, "-m", "facecore", *args, "--cache", str(cache)],
                         capture_output=True, text=True, timeout=900)  # fmt: skip
    assert out.returncode == 0, out.stderr
    return out


@pytest.fixture()
def full_cache(tmp_path: Path, small_faceset, session_cache: Path, small_dataset: Path, dataset_dir: Path):
    """A cache holding the six people's encodings, a name, a split, a saved set, an imported set, the photos'
    hashes and two hidden photos (one of each of the first two people)."""
    store = _copy_cache(session_cache, tmp_path / "c.sqlite")
    fs = small_faceset
    persons = np.array([f.person for f in fs.faces])
    first, second = sorted(set(persons))[:2]
    name_faces(store, fs, np.flatnonzero(persons == first)[:3], NAME)
    name_faces(store, fs, np.flatnonzero(persons == second)[:3], "Kept Name")
    split_person(store, fs, [np.flatnonzero(persons == first)[:4], np.flatnonzero(persons == second)[:4]])
    found = persons_for(store, fs)  # stable ids: every face's id, the counter
    ids = found.face_ids()
    one, two = (int(np.bincount(ids[(persons == f) & (ids > 0)]).argmax()) for f in (first, second))
    name_id(store, fs, found, one, NAME + " by id")  # corrections on ids
    name_id(store, fs, found, two, "Kept Id Name")
    mark_different(store, fs, found, one, two)
    save_set(store, fs, "six people")
    store_map(store, faceset_layout_key(fs, "pca"), fs.encodings[:, :2], "pca", fs.digests)  # a kept map
    import_encodings(encodings_npz(fs), store, [small_dataset, dataset_dir], name="six people")
    cached_photo_hashes(fs, store, scan_folder(small_dataset)[0])
    hide_photos(store, [fs.faces[np.flatnonzero(persons == p)[-1]].digest for p in (first, second)])
    return store, first, second


def test_cache_delete_dir_leaves_nothing_about_those_photos(full_cache, small_faceset, small_dataset) -> None:
    store, first, second = full_cache
    before = _rows(store.path)
    assert set(before) - KEPT == TABLES and all(before[t] for t in TABLES - {"sqlite_sequence"})
    gone = {f.digest for f in small_faceset.faces if f.person == first}
    _cli("cache", "delete", str(small_dataset / first), "--json", cache=store.path)
    after = _rows(store.path)
    assert set(after) - KEPT == TABLES and not any(after.get(t) for t in KEPT)
    for table, rows in after.items():
        for row in rows:
            assert not gone.intersection(v for v in row if isinstance(v, str)), f"{table} still has {row}"
    kept = {f.digest for f in small_faceset.faces if f.person != first}
    assert {d for d, *_ in after["images"]} >= kept  # the other photos' encodings stay (both settings)
    assert {d for d, *_ in after["face_quality"]} >= kept  # and their faces' quality
    assert not any(NAME in str(row) for row in after["person_facts"])
    assert any("Kept Name" in str(row) for row in after["person_facts"])  # facts about kept photos only
    assert any("Kept Id Name" in str(row) for row in after["person_id_facts"])
    # the split linked the deleted person's faces to the kept one's, "different people" named the deleted
    # person's id: gone with them, and their actions too
    assert [a.kind for a in list_corrections(store, small_faceset.settings_key)] == ["name", "name"]
    assert after["saved_sets"] == [] and after["saved_set_files"] == []  # the saved set listed deleted photos
    assert after["imported_sets"] == [] and imported_sets(store) == []  # and so did the imported set
    folder = {d for n, d in small_faceset.read if n.startswith(first + "/")}  # with a face or not
    assert {d for d, *_ in after["photo_hashes"]} == set(small_faceset.digests) - folder  # the kept photos' only
    assert len(hidden_digests(store)) == 1  # the kept person's hidden photo stays hidden
    assert after["maps"] == [] and after["map_photos"] == []  # the map was drawn from deleted photos
    assert after["set_groupings"] == []  # every kept grouping: grouped again when next asked for
    raw = b"".join(p.read_bytes() for p in store.path.parent.glob(store.path.name + "*"))
    assert NAME.encode() not in raw  # secure_delete: overwritten, not only unlinked


def test_cache_clear_leaves_no_row_in_any_table_and_shrinks_the_file(full_cache) -> None:
    store, _, _ = full_cache
    _cli("cache", "info", cache=store.path)
    size = store.path.stat().st_size
    _cli("cache", "clear", cache=store.path)
    after = _rows(store.path)
    assert set(after) - KEPT == TABLES
    assert {t: len(rows) for t, rows in after.items()} == dict.fromkeys(set(after), 0)
    assert store.path.stat().st_size < size / 5
    with sqlite3.connect(store.path) as con:  # shrunk: no free (deleted) page left in the file
        assert con.execute("PRAGMA freelist_count").fetchone()[0] == 0
    raw = b"".join(p.read_bytes() for p in store.path.parent.glob(store.path.name + "*"))
    assert NAME.encode() not in raw and b"Kept Name" not in raw


def test_the_app_and_the_cli_delete_by_the_same_rule(full_cache, small_faceset) -> None:
    store, first, _ = full_cache
    gone = [f.digest for f in small_faceset.faces if f.person == first]
    # one cached result per photo and settings: the encoder's, the imported set's copy, and any other settings
    # (e.g. every face) that other tests of the session encoded these photos with
    cached = {(d, k) for d, k, *_ in _rows(store.path)["images"] if d in set(gone)}
    assert len(cached) >= 2 * len(set(gone))
    assert delete_set(store, gone) == len(cached)
    assert delete_set(store, gone) == 0  # nothing left to delete
    assert imported_sets(store) == [] and list_corrections(store, small_faceset.settings_key)[0].kind == "name"
    after = _rows(store.path)
    assert not any(set(gone).intersection(v for v in row if isinstance(v, str)) for t in after for row in after[t])
