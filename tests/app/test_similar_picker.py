"""The Similar faces page's face picker: a query photo with several faces shows them boxed and numbered, and the
search uses the face picked (the largest by default), for an uploaded photo and for a group photo of the set."""

from __future__ import annotations

from pathlib import Path

import pytest

from facecore import EncoderSettings, EncodingStore, encode_images, encode_query, scan_folder
from pages._similar.query import PICK_LABEL
from tests.app.group_support import GROUP_PEOPLE, group_folder, tile_of
from tests.app.support import EXACT, SIMILAR, loaded_app, new_app


@pytest.fixture(scope="module")
def groups(tmp_path_factory: pytest.TempPathFactory, dataset_dir: Path, small_faceset) -> dict:
    return group_folder(tmp_path_factory.mktemp("group-photos"), tmp_path_factory.mktemp("query") / "group.jpg",
                        small_faceset, dataset_dir)  # fmt: skip


@pytest.fixture(scope="module")
def group_faceset(groups: dict, session_cache: Path):
    """Every face of the group folder (its people's own photos and three group photos of four)."""
    refs, skipped = scan_folder(groups["root"])
    return encode_images(refs, EncoderSettings(all_faces=True), EncodingStore(session_cache), skipped=skipped)


def picker(at):
    found = [r for r in at.radio if r.label == PICK_LABEL]
    assert len(found) == 1, [r.label for r in at.radio]
    return found[0]


def test_an_uploaded_group_photo_lists_its_faces_and_searches_with_the_one_picked(small_faceset, groups) -> None:
    data = groups["query"].read_bytes()
    truth = [tile_of(groups["query_tiles"], list(b)).person for b in encode_query(data).boxes]
    assert sorted(truth) == sorted(GROUP_PEOPLE)  # the four pasted faces, largest first
    at = loaded_app(small_faceset, SIMILAR)
    at.radio(key="query_source").set_value("A new photo").run()
    at.file_uploader(key="query_upload").set_value(("group.jpg", data, "image/jpeg")).run()
    assert not at.exception and not at.error
    faces = picker(at)
    assert faces.options == ["1 (largest)", "2", "3", "4"] and faces.value == 0
    assert len(at.image) == 2 and all(len(im.value) for im in at.image)  # the photo numbered, the face searched
    first = at.dataframe[EXACT].value
    assert (first["folder"].head(5) == truth[0]).mean() >= 0.8
    picker(at).set_value(1).run()  # face 2
    assert not at.exception
    second = at.dataframe[EXACT].value
    assert (second["folder"].head(5) == truth[1]).mean() >= 0.8
    assert set(first["file"].head(5)).isdisjoint(second["file"].head(5))


def test_a_group_photo_of_the_set_shows_its_faces_and_switches_to_the_one_picked(group_faceset, groups) -> None:
    from pages._shared.state import LoadedSet

    fs = group_faceset
    rows = sorted((f.in_photo, i) for i, f in enumerate(fs.faces) if f.name == "groups/group_0.jpg")
    assert len(rows) >= 3
    tiles = groups["tiles"]["groups/group_0.jpg"]
    at = new_app()
    at.run()
    at.session_state["loaded"] = LoadedSet(fs, "groups (test)", EncoderSettings(all_faces=True), str(groups["root"]))
    at.session_state["all_faces"] = True  # the Similar page searches every face (its default: the largest of each)
    at.session_state["query_face"] = rows[0][1]
    at.switch_page(SIMILAR).run()
    assert not at.exception, at.exception
    faces = picker(at)
    assert faces.value == rows[0][1] and faces.options[:2] == ["1 (largest)", "2"]
    assert len(at.image) == 4  # the face, its photo with every face numbered, a result's face and its photo boxed
    picker(at).set_value(rows[1][1]).run()  # face 2 of the same photo becomes the query
    assert not at.exception, at.exception
    assert at.session_state["query_face"] == rows[1][1] and at.selectbox(key="query_face").value == rows[1][1]
    assert picker(at).value == rows[1][1]
    person = tile_of(tiles, list(fs.faces[rows[1][1]].box)).person
    exact = at.dataframe[EXACT].value
    assert (exact["folder"].head(3) == person).mean() >= 2 / 3  # that face's person, not the largest face's
    key = f"result_photo_{rows[1][1]}_A face of these photos"
    assert at.selectbox(key=key).value == 0 and photo_captions(at)[-1] == photo_of(exact["file"].iloc[0])  # nearest
    at.selectbox(key=key).select_index(2).run()  # the third result's photo, its face boxed
    assert not at.exception, at.exception
    assert photo_captions(at)[-1] == photo_of(exact["file"].iloc[2]) and len(at.image) == 4


def test_on_the_largest_face_view_a_group_photos_other_faces_can_be_searched_with(group_faceset, groups) -> None:
    """The Similar faces page keeps each photo's largest face (the app's default): a group photo of the set still
    offers every face it holds, and face 2 is searched with its own encoding (not a row of that view)."""
    from pages._shared.state import LoadedSet

    fs = group_faceset
    view = fs.largest()
    row = next(i for i, f in enumerate(view.faces) if f.name == "groups/group_0.jpg")
    faces = sorted((f.in_photo, i) for i, f in enumerate(fs.faces) if f.name == "groups/group_0.jpg")
    tiles = groups["tiles"]["groups/group_0.jpg"]
    at = new_app()
    at.run()
    at.session_state["loaded"] = LoadedSet(fs, "groups (test)", EncoderSettings(all_faces=True), str(groups["root"]))
    at.session_state["query_face"] = row
    at.switch_page(SIMILAR).run()
    assert not at.exception, at.exception
    assert len(at.selectbox(key="query_face").options) == len(view) < len(fs)  # the page's faces: the view's
    assert picker(at).options[:2] == ["1 (largest)", "2"] and len(picker(at).options) == len(faces)
    largest = at.dataframe[EXACT].value
    picker(at).set_value(1).run()  # face 2 of the photo, which this view does not hold
    assert not at.exception, at.exception
    assert any("searched like a new photo" in c.value for c in at.caption)
    person = tile_of(tiles, list(fs.faces[faces[1][1]].box)).person
    exact = at.dataframe[EXACT].value
    assert (exact["folder"].head(3) == person).mean() >= 2 / 3  # face 2's person, not the largest face's
    assert person != tile_of(tiles, list(fs.faces[faces[0][1]].box)).person
    assert set(exact["file"].head(3)).isdisjoint(largest["file"].head(3))
    assert at.session_state["query_face"] == row  # still the same photo's row of the view


def photo_of(face: str) -> str:
    """The photo a result row's face is in: its file, without the face's number (``"a.jpg #3"`` -> ``"a.jpg"``)."""
    return face.split(" #")[0]


def photo_captions(at) -> list[str]:
    """The caption of every picture on the page, in order."""
    return [img.caption for im in at.image for img in im.proto.imgs]


def test_a_persons_faces_open_their_photo_with_the_face_boxed(group_faceset, groups) -> None:
    from pages._shared.state import LoadedSet

    fs = group_faceset
    at = new_app()
    at.run()
    at.session_state["loaded"] = LoadedSet(fs, "groups (test)", EncoderSettings(all_faces=True), str(groups["root"]))
    at.switch_page("pages/people.py").run()
    assert not at.exception, at.exception
    key = next(b.key for b in at.selectbox if (b.key or "").startswith("people_photo_"))  # by the person's id
    box = at.selectbox(key=key)
    assert len(box.options) >= 3 and box.value == 0
    box.select_index(2).run()
    assert not at.exception, at.exception
    name = at.selectbox(key=key).options[2].split(" · ", 1)[1].split(" #")[0]
    assert name in photo_captions(at)  # the third face's whole photo is shown


def test_the_photos_page_says_how_many_photos_hold_several_faces(group_faceset, groups, session_cache) -> None:
    from collections import Counter

    from pages._shared.state import LoadedSet

    fs = group_faceset
    several = sum(1 for n in Counter(f.digest for f in fs.faces).values() if n > 1)
    assert several >= 3 and fs.photos_with_several_faces == several  # the three group photos at least
    refs, skipped = scan_folder(groups["root"])
    largest = encode_images(refs, EncoderSettings(), EncodingStore(session_cache), skipped=skipped)
    # counted also when only the largest face is kept: the group photos at least (largest-face detection stops
    # at its first pass, so it may miss a small background face that the every-face pass finds)
    assert 3 <= largest.photos_with_several_faces <= several
    at = new_app()
    at.run()
    at.session_state["loaded"] = LoadedSet(largest, "groups (test)", EncoderSettings(), str(groups["root"]))
    at.switch_page("pages/dataset.py").run()
    assert not at.exception, at.exception
    faces = next(m for m in at.metric if m.label == "Faces")
    shown = largest.photos_with_several_faces
    assert faces.value == f"{len(largest):,}" and faces.delta == f"{shown:,} photos hold several"

    at.session_state["loaded"] = LoadedSet(fs, "groups (test)", EncoderSettings(all_faces=True), str(groups["root"]))
    at.run()  # as the app loads photos now: every face, the largest-face view derived for the article's pages
    assert not at.exception, at.exception
    faces = next(m for m in at.metric if m.label == "Faces")
    assert faces.value == f"{len(fs):,}" and faces.delta == f"{several:,} photos hold several"
    assert f"use {len(fs.largest()):,}, the largest of each photo" in faces.help
