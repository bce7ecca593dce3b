"""The People page through Streamlit's AppTest, on the six real people, each test with a fresh cache file.

Every correction is made by clicking the page's own widgets and checked
against what facecore now finds in that cache file: the persons (labels),
the names, the stored corrections. The encodings and face crops come from a
copy of the test session's cache, re-read through ``encode_images`` (all hits).
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from facecore import EncoderSettings, EncodingStore, encode_images, scan_folder
from facecore.people.corrections import load_corrections
from facecore.people.faces import DEFAULT_THRESHOLD
from facecore.people.grouping import group_faceset
from facecore.people.names import name_persons
from facecore.storage.person_facts import list_corrections

APP = Path(__file__).resolve().parents[2] / "app.py"
PEOPLE = "pages/people.py"
TIMEOUT = 300


def _copy_sqlite(src: Path, dst: Path) -> None:
    """Copy an SQLite file in WAL mode whole (the backup API, not a file copy)."""
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)


@pytest.fixture(scope="module")
def encoded_cache(tmp_path_factory: pytest.TempPathFactory, small_dataset: Path, small_faceset, session_cache: Path):
    """A cache file holding the six people's encodings and crops, and their FaceSet read from it."""
    path = tmp_path_factory.mktemp("people-cache") / "encodings.sqlite"
    _copy_sqlite(session_cache, path)
    refs, skipped = scan_folder(small_dataset)
    fs = encode_images(refs, EncoderSettings(), EncodingStore(path), skipped=skipped)
    assert fs.key == small_faceset.key and fs.encoded == 0  # every face and crop is in the file
    return path, fs


@pytest.fixture
def fresh(encoded_cache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """``(FaceSet, EncodingStore)`` over this test's own copy of the cache (no corrections yet)."""
    src, fs = encoded_cache
    path = tmp_path / "encodings.sqlite"
    _copy_sqlite(src, path)
    monkeypatch.setenv("FACECORE_CACHE", os.fspath(path))
    return fs, EncodingStore(path)


def people_app(fs, folder: str | None = None, **state) -> AppTest:
    """A new session holding ``fs``, on the People page."""
    from pages._shared.state import LoadedSet

    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    at.session_state["loaded"] = LoadedSet(fs, "six people (test)", EncoderSettings(), folder=folder)
    for key, value in state.items():
        at.session_state[key] = value
    at.switch_page(PEOPLE).run()
    assert not at.exception, at.exception
    return at


def stored(fs, store: EncodingStore, threshold: float = DEFAULT_THRESHOLD):
    """What facecore finds in the cache file: the grouping and the names."""
    c = load_corrections(store, fs)
    g = group_faceset(fs, threshold, constraints=c)
    return g, name_persons(g, c.names)


def metric(at: AppTest, label: str) -> int:
    return int(next(m.value for m in at.metric if m.label == label).replace(",", ""))


def click(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def test_empty_state_points_to_the_photos_page() -> None:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    at.switch_page(PEOPLE).run()
    assert not at.exception
    assert "Photos page" in at.info[0].value
    assert "People" in [link.proto.label for link in at.sidebar.get("page_link")]


def test_the_slider_regroups(fresh) -> None:
    fs, store = fresh
    at = people_app(fs)
    assert at.slider(key="people_threshold").value == DEFAULT_THRESHOLD
    assert metric(at, "Persons") == stored(fs, store)[0].n_persons
    assert metric(at, "Unsorted faces") == len(stored(fs, store)[0].unsorted)
    at.slider(key="people_threshold").set_value(0.4).run()
    assert not at.exception
    strict = stored(fs, store, 0.4)[0]
    assert metric(at, "Persons") == strict.n_persons > stored(fs, store)[0].n_persons
    assert len(at.selectbox(key="people_person").options) == strict.n_persons
    # the folders name people: the page measures the grouping against them and K-means
    assert {"People in the folders", "Pairs right", "Faces right"} <= {m.label for m in at.metric}
    assert next(m.value for m in at.metric if m.label == "People in the folders") == "6"
    (chart,) = at.get("plotly_chart")  # F against strictness, the current value marked
    spec = json.loads(chart.proto.spec)
    assert [t["name"] for t in spec["data"]] == ["pairs right (pairwise F)", "faces right (BCubed F)"]
    assert [a["text"] for a in spec["layout"]["annotations"]][-1].strip() == "now 0.40"


def test_a_name_shows_and_survives_a_new_session_and_another_strictness(fresh) -> None:
    fs, store = fresh
    at = people_app(fs)
    at.selectbox(key="people_person").set_value(1).run()
    at.text_input(key="people_name").input("Ada Lovelace")
    click(at, "people_rename")
    assert any("Saved: named a person" in s.value for s in at.success)
    g, names = stored(fs, store)
    assert names[1] == "Ada Lovelace"
    assert at.selectbox(key="people_person").value == 1
    assert "Ada Lovelace" in at.selectbox(key="people_person").format_func(1)
    assert at.image[0].captions[1] == f"Ada Lovelace · {g.sizes[1]}"  # the gallery of persons
    # a reload is a new session over the same cache file
    again = people_app(fs)
    assert f"Ada Lovelace · {g.sizes[1]} faces" in again.selectbox(key="people_person").options
    again.slider(key="people_threshold").set_value(0.55).run()
    g55, names55 = stored(fs, store, 0.55)
    ada = names55.index("Ada Lovelace")
    assert set(g55.members(ada)) & set(g.members(1))  # the name followed the person
    assert again.selectbox(key="people_person").options[ada].startswith("Ada Lovelace · ")


def test_merging_two_persons_makes_one_and_undo_takes_it_back(fresh) -> None:
    fs, store = fresh
    before, _ = stored(fs, store)
    at = people_app(fs)
    at.selectbox(key="people_person").set_value(0).run()
    at.multiselect(key="people_merge_with").set_value([1]).run()
    click(at, "people_merge")
    after, _ = stored(fs, store)
    assert after.n_persons == before.n_persons - 1
    both = np.concatenate([before.members(0), before.members(1)])
    assert len(set(after.labels[both])) == 1 and after.labels[both[0]] >= 0
    assert metric(at, "Persons") == after.n_persons
    # undo: the button says what it undoes, and the persons are as before
    undo = at.button(key="people_undo")
    assert undo.label == "Undo: merged 2 persons"
    click(at, "people_undo")
    assert any("Undone: merged 2 persons" in s.value for s in at.success)
    assert list_corrections(store, fs.settings_key) == ()
    assert np.array_equal(stored(fs, store)[0].labels, before.labels)
    assert metric(at, "Persons") == before.n_persons


def test_a_suggestion_merges_in_one_click_or_is_marked_different(fresh) -> None:
    fs, store = fresh
    before, _ = stored(fs, store)
    at = people_app(fs)
    assert at.button(key="people_sugg_merge_0")
    click(at, "people_sugg_diff_0")
    assert [a.kind for a in list_corrections(store, fs.settings_key)] == ["different"]
    click(at, "people_sugg_merge_0")
    assert stored(fs, store)[0].n_persons == before.n_persons - 1


def test_splitting_a_person_at_a_stricter_setting(fresh) -> None:
    fs, store = fresh
    before, _ = stored(fs, store)
    at = people_app(fs)
    at.selectbox(key="people_person").set_value(0).run()
    at.slider(key="people_split_threshold").set_value(0.3).run()
    assert not at.exception
    split = at.button(key="people_split")
    parts = int(split.label.split()[2])
    assert parts >= 2
    click(at, "people_split")
    after, _ = stored(fs, store)
    assert [a.kind for a in list_corrections(store, fs.settings_key)] == ["split"]
    assert len(set(after.labels[before.members(0)])) >= 2  # person 0's faces are no longer one person


def test_moving_a_face_to_another_person_and_out(fresh) -> None:
    fs, store = fresh
    before, _ = stored(fs, store)
    at = people_app(fs)
    at.selectbox(key="people_person").set_value(0).run()
    face = int(before.members(0)[0])
    at.multiselect(key="people_pick").set_value([face]).run()
    at.selectbox(key="people_to").set_value(1).run()
    click(at, "people_move")
    after, _ = stored(fs, store)
    assert after.labels[face] == after.labels[before.members(1)[0]]
    assert after.labels[face] != after.labels[before.members(0)[-1]]
    # "not this person": the face leaves the person it is in now
    person = int(after.labels[face])
    at.selectbox(key="people_person").set_value(person).run()
    at.multiselect(key="people_pick").set_value([face]).run()
    at.selectbox(key="people_to").set_value(-1).run()
    click(at, "people_move")
    again, _ = stored(fs, store)
    rest = again.labels[np.setdiff1d(after.members(person), [face])]
    assert again.labels[face] != np.bincount(rest[rest >= 0]).argmax()  # no longer with (most of) that person
    assert [a.kind for a in list_corrections(store, fs.settings_key)] == ["not_person", "move"]


def test_exports_list_every_face_and_zip_one_picture_per_face(fresh, small_dataset: Path) -> None:
    from pages._people.panels import person_zip_for
    from pages._people.tables import people_frame

    fs, store = fresh
    at = people_app(fs, folder=os.fspath(small_dataset))
    at.text_input(key="people_name").input("Grace")
    click(at, "people_rename")
    labels = {b.proto.label for b in at.get("download_button")}
    assert {"All persons (CSV)", "Their faces and photos (zip)"} <= labels
    g, names = stored(fs, store)
    csv = pd.read_csv(io.StringIO(people_frame(fs, g.labels, names).to_csv(index=False)))
    assert list(csv.columns) == ["person", "name", "photo", "face", "top", "right", "bottom", "left"]
    assert len(csv) == len(fs)
    assert (csv["person"] == 1).sum() == g.sizes[0] and set(csv.loc[csv["person"] == 1, "name"]) == {"Grace"}
    assert csv["person"].isna().sum() == len(g.unsorted)
    first = fs.faces[int(g.members(0)[0])]
    hit = csv[(csv["photo"] == first.name) & (csv["face"] == first.in_photo)].iloc[0]
    assert (hit["top"], hit["right"], hit["bottom"], hit["left"]) == tuple(first.box)
    # the zip the page's button gives: one crop per face, and each photo (the folder is on this server)
    ds, rows = at.session_state["loaded"], g.members(0)
    with zipfile.ZipFile(io.BytesIO(person_zip_for(ds, rows))) as zf:
        entries = zf.namelist()
        assert zf.read(entries[0])[:2] == b"\xff\xd8"  # a JPEG
    assert len([e for e in entries if e.startswith("faces/")]) == len(rows)
    assert {e.removeprefix("photos/") for e in entries if e.startswith("photos/")} == {
        fs.faces[int(r)].name for r in rows
    }
    # uploads have no folder: faces only
    without = replace(ds, folder=None)
    assert all(e.startswith("faces/") for e in zipfile.ZipFile(io.BytesIO(person_zip_for(without, rows))).namelist())


def test_the_zip_leaves_out_photos_outside_the_folder_or_changed(fresh, tmp_path: Path, small_dataset: Path) -> None:
    from facecore.settings import default_dataset_path
    from pages._shared.pictures import photo_in_folder

    fs, _ = fresh
    face = fs.faces[0]
    # the test folder links to the shared photos: readable where the folder was read from (the allowed roots)
    assert photo_in_folder(os.fspath(small_dataset), face.name, face.digest) is None
    assert photo_in_folder(os.fspath(small_dataset), face.name, face.digest, [default_dataset_path().parent])
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.jpg").write_bytes(b"not the photo")
    (tmp_path / "secret.jpg").write_bytes(b"secret")
    (tmp_path / "a" / "link.jpg").symlink_to(tmp_path / "secret.jpg")
    assert photo_in_folder(os.fspath(tmp_path / "a"), "../secret.jpg", face.digest) is None
    assert photo_in_folder(os.fspath(tmp_path / "a"), os.fspath(tmp_path / "secret.jpg"), face.digest) is None
    assert photo_in_folder(os.fspath(tmp_path / "a"), "link.jpg", face.digest) is None
    assert photo_in_folder(os.fspath(tmp_path / "a"), "x.jpg", face.digest) is None  # another photo now
