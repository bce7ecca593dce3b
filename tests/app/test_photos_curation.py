"""The Photos page's curation sections through Streamlit's AppTest, on real photos: a near-duplicate group is
shown side by side, keeping one of each hides the others from the set (every page then counts the faces kept),
undo shows them again, a reload keeps them hidden; a photo moved into another person's folder is a suspect."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from tests.app.support import CLUSTERS, finish_job, new_app, sidebar_text
from tests.curation.support import altered

#: People of the collection (three of the six test people).
PEOPLE = 3


@pytest.fixture()
def collection(tmp_path: Path, small_people, session_cache: Path, small_faceset, monkeypatch: pytest.MonkeyPatch):
    """Three people (symlinks), a smaller copy of one photo next to it and one photo of the first person filed
    under the second, read by the app with a private copy of the session's cache:
    ``(root, copy, original, moved, the moved photo's own person)``."""
    cache = tmp_path / "cache.sqlite"
    with sqlite3.connect(session_cache) as a, sqlite3.connect(cache) as b:
        a.backup(b)
    root = tmp_path / "photos"
    for person in small_people[:PEOPLE]:
        (root / person.name).mkdir(parents=True)
        for photo in sorted(person.glob("*.jpg")):
            (root / person.name / photo.name).symlink_to(photo)
    first, second = small_people[0].name, small_people[1].name
    original = next(f.name for f in small_faceset.faces if f.person == second)
    copy = original.replace(".jpg", "_small.jpg")
    (root / copy).write_bytes(altered(root / original, "size60"))
    source = next(f.name for f in reversed(small_faceset.faces) if f.person == first and f.in_photo == 0)
    moved = f"{second}/moved_{Path(source).name}"
    (root / source).rename(root / moved)
    monkeypatch.setenv("FACECORE_CACHE", os.fspath(cache))
    monkeypatch.setenv("FACECORE_ALLOWED_ROOTS", os.fspath(root))
    return root, copy, original, moved, first


def _open(root: Path):
    at = new_app().run()
    at.text_input(key="folder_path").set_value(os.fspath(root))
    finish_job(at.button(key="encode_folder").click().run())
    assert not at.exception and not at.error
    return at


def _faces(at) -> int:
    return int({m.label: m.value for m in at.metric}["Faces"].replace(",", ""))


def _group_radio(at, name: str):
    return next(r for r in at.radio if r.key and r.key.startswith("dup_keep_") and name in r.options)


def test_keeping_one_of_each_group_hides_the_others_on_every_page(collection) -> None:
    root, copy, original, moved, source = collection
    at = _open(root)
    assert "Near-duplicate photos" in [h.value for h in at.subheader]
    radio = _group_radio(at, copy)
    assert radio.value == original  # the largest photo is kept by default
    captions = [c for img in at.image for c in (img.proto.imgs[i].caption for i in range(len(img.proto.imgs)))]
    assert any(c.startswith(copy) for c in captions) and any(c.startswith(original) for c in captions)
    whole = at.session_state["loaded"].faceset
    before = _faces(at)
    at.button(key="dup_hide").click().run()
    assert not at.exception
    ds = at.session_state["loaded"]
    hidden = ds.faceset.hidden
    assert dict(whole.read)[copy] in hidden and dict(whole.read)[original] not in hidden
    lost = sum(1 for f in whole.faces if f.digest in hidden)
    assert _faces(at) == before - lost == len(ds.faceset)
    assert f"Faces in the set: {before:,} → {before - lost:,}" in at.success[0].value
    assert f"{before - lost} faces" in sidebar_text(at)
    at.switch_page(CLUSTERS).run()  # the Clusters page: the largest face of each photo kept
    assert not at.exception and any(f"{len(ds.faceset.largest()):,} faces in" in c.value for c in at.caption)
    # a new session opening the same folder leaves the hidden photos out too
    again = _open(root)
    assert _faces(again) == before - lost
    # undo: every face is back
    at.switch_page("pages/dataset.py").run()
    at.button(key="dup_undo").click().run()
    assert not at.exception and _faces(at) == before
    assert not at.session_state["loaded"].faceset.hidden


def test_a_photo_filed_under_the_wrong_person_is_a_suspect(collection) -> None:
    root, copy, original, moved, source = collection
    at = _open(root)
    assert "Photos that may be filed under the wrong person" in [h.value for h in at.subheader]
    # each suspect is a column with its face (captioned with its file) and what it looks more like
    faces = [c for c in at.columns if any(len(i.proto.imgs) == 1 for i in c.image) and c.caption]
    suspects = {c.image[0].proto.imgs[0].caption: c.caption[0].value for c in faces}
    assert moved in suspects, f"{moved} is not among the first suspects: {list(suspects)}"
    assert f"nearer {source} than" in suspects[moved]  # the folder it came from
    assert at.number_input(key="suspects_shown").value == min(5, at.number_input(key="suspects_shown").max)


def test_uploaded_near_duplicates_are_found_from_the_uploads(collection) -> None:
    """Uploads have no folder: the photos are hashed from the upload widget's files, then shown by their face."""
    root, copy, original, moved, source = collection
    others = sorted((root / Path(original).parent).glob("*.jpg"))[:4]
    files = [(p.name, p.read_bytes(), "image/jpeg") for p in {root / original, root / copy, *others}]
    at = new_app().run()
    at.file_uploader(key="uploads").set_value(files)
    at.run()
    finish_job(at.button(key="encode_uploads").click().run())
    assert not at.exception and not at.error
    radio = _group_radio(at, Path(copy).name)
    assert radio.value == Path(original).name and set(radio.options) == {Path(copy).name, Path(original).name}
    before = _faces(at)
    at.button(key="dup_hide").click().run()
    assert not at.exception and _faces(at) == before - 1
