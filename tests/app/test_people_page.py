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
from facecore.people.faces import DEFAULT_THRESHOLD
from facecore.people.identities import persons_for
from facecore.storage.person_facts import list_corrections
from pages._people.corrections import label_size

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
    """What facecore finds in the cache file: the persons with their stable ids, names and corrections."""
    return persons_for(store, fs, threshold)


def lists(persons) -> dict[int, frozenset[int]]:
    """Each person's id -> its face rows."""
    fid = persons.face_ids()
    return {int(i): frozenset(np.flatnonzero(fid == i).tolist()) for i in persons.ids}


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
    assert metric(at, "Persons") == stored(fs, store).n_persons
    assert metric(at, "Unsorted faces") == len(stored(fs, store).grouping.unsorted)
    at.slider(key="people_threshold").set_value(0.4).run()
    assert not at.exception
    strict = stored(fs, store, 0.4)
    assert metric(at, "Persons") == strict.n_persons > stored(fs, store).n_persons
    assert at.selectbox(key="people_person").options == [label_size(strict)(int(i)) for i in strict.ids]
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
    at.selectbox(key="people_person").set_value(2).run()
    at.text_input(key="people_name").input("Ada Lovelace")
    click(at, "people_rename")
    assert any("Saved: named Person 2 'Ada Lovelace'" in s.value for s in at.success)
    p = stored(fs, store)
    size = int(p.grouping.sizes[p.index(2)])
    assert p.label(p.index(2)) == "Ada Lovelace"
    assert at.selectbox(key="people_person").value == 2  # the same person, by id
    assert at.selectbox(key="people_person").format_func(2) == f"Ada Lovelace · Person 2 · {size} faces"
    assert at.image[0].captions[p.index(2)] == f"Ada Lovelace · {size}"  # the gallery of persons
    # a reload is a new session over the same cache file
    again = people_app(fs)
    assert f"Ada Lovelace · Person 2 · {size} faces" in again.selectbox(key="people_person").options
    again.slider(key="people_threshold").set_value(0.55).run()
    p55 = stored(fs, store, 0.55)
    assert p55.label(p55.index(2)) == "Ada Lovelace"  # the id, and its name, followed the person
    assert set(lists(p55)[2]) & set(lists(p)[2])


def test_merging_two_persons_makes_one_and_undo_takes_it_back(fresh) -> None:
    fs, store = fresh
    before = lists(stored(fs, store))
    at = people_app(fs)
    at.selectbox(key="people_person").set_value(1).run()
    at.multiselect(key="people_merge_with").set_value([2]).run()
    click(at, "people_merge")
    after = lists(stored(fs, store))
    assert 2 not in after and after[1] == before[1] | before[2]
    assert {k: v for k, v in after.items() if k != 1} == {k: v for k, v in before.items() if k not in (1, 2)}
    assert metric(at, "Persons") == len(after)
    assert at.selectbox(key="people_person").value == 1
    # undo: the button says what it undoes, and the persons are exactly as before, with their ids
    undo = at.button(key="people_undo")
    assert undo.label == "Undo: merged Person 2 into Person 1"
    click(at, "people_undo")
    assert any("Undone: merged Person 2 into Person 1" in s.value for s in at.success)
    assert list_corrections(store, fs.settings_key) == ()
    assert lists(stored(fs, store)) == before
    assert metric(at, "Persons") == len(before)


def test_a_suggestion_merges_in_one_click_or_is_marked_different(fresh) -> None:
    fs, store = fresh
    before = stored(fs, store)
    at = people_app(fs)
    assert at.button(key="people_sugg_merge_0")
    click(at, "people_sugg_diff_0")
    assert [a.kind for a in list_corrections(store, fs.settings_key)] == ["different"]
    assert len(stored(fs, store).apart) == 1 and lists(stored(fs, store)) == lists(before)
    click(at, "people_sugg_merge_0")  # another pair now: the one marked different is not suggested again
    after = stored(fs, store)
    assert after.n_persons == before.n_persons - 1
    assert all(a in after.ids and b in after.ids for a, b in after.apart)


def test_splitting_a_person_at_a_stricter_setting(fresh) -> None:
    fs, store = fresh
    before = lists(stored(fs, store))
    at = people_app(fs)
    at.selectbox(key="people_person").set_value(1).run()
    at.slider(key="people_split_threshold").set_value(0.3).run()
    assert not at.exception
    split = at.button(key="people_split")
    parts = int(split.label.split()[2])
    assert parts >= 2
    click(at, "people_split")
    after = lists(stored(fs, store))
    assert [a.kind for a in list_corrections(store, fs.settings_key)] == ["split"]
    assert after[1] < before[1] and len(after) == len(before) + parts - 1  # person 1 keeps its id and a part
    assert {k: v for k, v in after.items() if k in before and k != 1} == {k: v for k, v in before.items() if k != 1}


def test_moving_a_face_to_another_person_and_out(fresh) -> None:
    fs, store = fresh
    before = lists(stored(fs, store))
    at = people_app(fs)
    at.selectbox(key="people_person").set_value(1).run()
    face = min(before[1])
    at.multiselect(key="people_pick").set_value([face]).run()
    at.selectbox(key="people_to").set_value(2).run()
    click(at, "people_move")
    after = lists(stored(fs, store))
    assert after[2] == before[2] | {face} and after[1] == before[1] - {face}
    assert at.selectbox(key="people_to").value == 2  # the picked target is still Person 2
    assert at.selectbox(key="people_person").value == 1
    # "not this person": the face leaves Person 2 for unsorted, and no other person changes
    at.selectbox(key="people_person").set_value(2).run()
    at.multiselect(key="people_pick").set_value([face]).run()
    at.selectbox(key="people_to").set_value(-1).run()
    click(at, "people_move")
    again = stored(fs, store)
    assert face in again.grouping.unsorted and lists(again)[2] == before[2]
    assert {k: v for k, v in lists(again).items() if k != 1} == {k: v for k, v in before.items() if k != 1}
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
    p = stored(fs, store)
    g = p.grouping
    csv = pd.read_csv(io.StringIO(people_frame(fs, g.labels, p.names, p.ids).to_csv(index=False)))
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


def test_a_new_server_reads_the_kept_grouping_without_building_the_neighbour_graph(fresh, monkeypatch) -> None:
    import pages._people.cached as cached

    fs, store = fresh
    first = people_app(fs)
    persons = metric(first, "Persons")
    with sqlite3.connect(store.path) as con:  # the grouping at the page's strictness is kept with the set
        assert con.execute("SELECT count(*) FROM set_groupings WHERE set_key=?", (fs.key,)).fetchone()[0] == 1
    cached.graph_for.clear()  # a new server process: nothing in memory
    cached._people.clear()

    built = []

    def no_graph(*args, **kwargs):
        built.append(args)
        raise AssertionError("the neighbour graph was built")

    monkeypatch.setattr(cached, "neighbour_graph", no_graph)
    again = people_app(fs)
    assert metric(again, "Persons") == persons and not built
    assert again.selectbox(key="people_person").options == first.selectbox(key="people_person").options
    again.slider(key="people_threshold").set_value(0.45).run()  # another strictness is not kept: grouped again
    assert len(built) == 1 and again.exception


def test_persons_are_shown_a_page_at_a_time(fresh) -> None:
    from tests.people.test_corrections import blob_set

    _, store = fresh
    fs = replace(blob_set([3] * 60), key="sixty blobs")  # 60 persons of 3 synthetic faces (grey pictures)
    at = people_app(fs)
    assert metric(at, "Persons") == 60
    page = at.number_input(key="people_page")
    assert page.value == 1 and "Persons 1–48 of 60" in " ".join(c.value for c in at.caption)
    page.set_value(2).run()
    assert not at.exception
    assert "Persons 49–60 of 60" in " ".join(c.value for c in at.caption)
    persons = stored(fs, store)
    assert at.image[0].captions == [f"{persons.label(p)} · 3" for p in range(48, 60)]  # the second page's 12
