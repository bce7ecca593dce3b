"""``person DIR name|merge|move|undo`` and ``people`` by stable id, on three of the shared people (symlinks)."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from facecore import EncodingStore, encodings_npz, import_encodings, imported_sets


def run(*args: str, cache: Path, ok: bool = True) -> subprocess.CompletedProcess:
    out = subprocess.run([sys.executable, "-m", "facecore", *args, "--cache", str(cache)],
                         capture_output=True, text=True, timeout=600)  # fmt: skip
    if ok:
        assert out.returncode == 0, out.stderr
    return out


def people(folder: Path, cache: Path, *extra: str) -> dict:
    return json.loads(run("people", str(folder), "--json", *extra, cache=cache).stdout)


def by_id(data: dict) -> dict[int, dict]:
    return {p["id"]: p for p in data["persons"]}


def refused(out: subprocess.CompletedProcess, words: str) -> None:
    """Exit non-zero with one clear line naming the problem."""
    assert out.returncode != 0 and out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], out.stderr


@pytest.fixture()
def folder_cache(tmp_path: Path, small_people, small_faceset, session_cache: Path) -> tuple[Path, Path]:
    """Three people's photos (symlinks) and a private copy of the session's cache (they are encoded)."""
    folder = tmp_path / "three"
    for person in small_people[:3]:
        (folder / person.name).mkdir(parents=True)
        for photo in sorted(person.iterdir()):
            (folder / person.name / photo.name).symlink_to(photo)
    cache = tmp_path / "c.sqlite"
    with sqlite3.connect(session_cache) as a, sqlite3.connect(cache) as b:
        a.backup(b)
    return folder, cache


def test_name_merge_move_and_undo_by_id(folder_cache) -> None:
    folder, cache = folder_cache
    start = people(folder, cache)
    ids = sorted(by_id(start))
    assert ids[0] == 1 and len(ids) >= 3  # numbered from 1, like the app
    a, b, c = (p["id"] for p in start["persons"][:3])
    run("person", str(folder), "name", str(b), "Nicola Boxer", cache=cache)
    named = by_id(people(folder, cache))
    assert named[b]["name"] == "Nicola Boxer" and named[b]["paths"] == by_id(start)[b]["paths"]
    assert [p["id"] for p in people(folder, cache)["persons"]] == [p["id"] for p in start["persons"]]

    run("person", str(folder), "merge", str(b), str(c), cache=cache)
    merged = by_id(people(folder, cache))
    assert c not in merged and sorted(merged[b]["paths"]) == sorted(by_id(start)[b]["paths"] + by_id(start)[c]["paths"])
    assert merged[a]["paths"] == by_id(start)[a]["paths"] and merged[b]["name"] == "Nicola Boxer"

    face = by_id(start)[a]["paths"][-1]
    out = run("person", str(folder), "move", face, "--to", "nobody", "--json", cache=cache)
    assert json.loads(out.stdout)["action"] == "not_person"
    moved = people(folder, cache)
    assert face in moved["unsorted"] and face not in by_id(moved)[a]["paths"]
    assert len(moved["persons"]) == len(merged)  # no new person
    out = run("person", str(folder), "move", face, "--to", "new", cache=cache)
    assert "moved 1 face(s) to a new person" in out.stdout
    alone = by_id(people(folder, cache, "--min-size", "2"))
    new_id = next(i for i, p in alone.items() if p["paths"] == [face])
    assert new_id > max(ids)  # a new id, never an old one

    for expected in (moved, {"persons": list(merged.values())}, None):
        run("person", str(folder), "undo", cache=cache)
        if expected is not None:
            assert by_id(people(folder, cache)) == by_id(expected)
    assert by_id(people(folder, cache)) == named  # three undos: back to the named persons, same ids


def test_bad_input_exits_with_one_clear_line(folder_cache) -> None:
    folder, cache = folder_cache
    data = people(folder, cache)
    top = max(p["id"] for p in data["persons"])
    refused(run("person", str(folder), "name", str(top + 40), "X", cache=cache, ok=False), f"Person {top + 40}")
    refused(run("person", str(folder), "merge", "1", cache=cache, ok=False), "at least two")
    refused(run("person", str(folder), "move", "nope.jpg", "--to", "1", cache=cache, ok=False), "'nope.jpg'")
    refused(run("person", str(folder), "move", data["persons"][0]["paths"][0], "--to", "someone", cache=cache,
                ok=False), "--to")  # fmt: skip
    refused(run("person", str(folder), "undo", cache=cache, ok=False), "no correction left")
    refused(run("person", str(folder / "missing"), "undo", cache=cache, ok=False), "does not exist")
    out = run("person", str(folder), "name", "x1", "A", cache=cache, ok=False)
    assert out.returncode == 2 and "person id" in out.stderr


def test_people_and_person_work_on_an_imported_set_by_its_key(
    folder_cache, small_faceset, small_dataset, dataset_dir
) -> None:
    folder, cache = folder_cache
    store = EncodingStore(cache)
    import_encodings(encodings_npz(small_faceset), store, [small_dataset, dataset_dir], name="six")
    key = imported_sets(store)[0].key[:12]
    data = people(Path(key), cache)
    assert data["faces"] == len(small_faceset) and data["persons"][0]["id"] == 1
    run("person", key, "name", "1", "Imported Ada", cache=cache)
    assert people(Path(key), cache)["persons"][0]["name"] == "Imported Ada"
    shutil.rmtree(folder)  # the folder set is not needed for the imported one
