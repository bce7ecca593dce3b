"""The Photos page (pages/dataset.py) through Streamlit's AppTest: a typed folder, uploads and zips, the LFW
sample, deleting, reloads, imported encodings.
"""

from __future__ import annotations

import io
import os
import urllib.error
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facecore import EncoderSettings, EncodingStore
from tests.app.group_support import group_folder
from tests.app.support import CLUSTERS, DATASET, finish_job, new_app, sidebar_text

PEOPLE = "pages/people.py"


def test_typing_a_folder_encodes_it_and_shows_the_summary(allow_small_dataset: Path, small_every) -> None:
    at = new_app().run()
    assert at.text_input(key="folder_path").value  # prefilled with the shared dataset
    at.text_input(key="folder_path").set_value(os.fspath(allow_small_dataset))
    finish_job(at.button(key="encode_folder").click().run())
    assert not at.exception
    assert not at.error
    ds = at.session_state["loaded"]
    assert ds.settings.all_faces  # every face is encoded; the Clusters and Similar pages derive the largest
    assert len(ds.faceset) == len(small_every)
    assert ds.faceset.key == small_every.key
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Photos with a face"] == f"{small_every.photos_with_face:,}"
    assert metrics["Faces"] == f"{len(small_every):,}"
    assert metrics["Skipped"] == str(len(small_every.skipped) - small_every.other_files)
    assert at.image and len(at.image[0].value) == min(60, len(small_every))  # the thumbnail grid
    assert f"{len(small_every)} faces" in sidebar_text(at)
    if small_every.skipped:
        assert at.dataframe[0].value["reason"].notna().all()


def test_every_face_is_encoded_once_and_the_pages_views_switch_without_encoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_faceset, dataset_dir: Path
) -> None:
    (tmp_path / "photos").mkdir()
    groups = group_folder(tmp_path / "photos", tmp_path / "query.jpg", small_faceset, dataset_dir)
    monkeypatch.setenv("FACECORE_ALLOWED_ROOTS", os.fspath(groups["root"]))
    at = new_app().run()
    at.text_input(key="folder_path").set_value(os.fspath(groups["root"]))
    finish_job(at.button(key="encode_folder").click().run())
    assert not at.exception, at.exception
    ds = at.session_state["loaded"]
    every, largest = ds.faceset, ds.faceset.largest()
    assert ds.settings.all_faces and every.photos_with_several_faces >= len(groups["tiles"])
    metrics = {m.label: m for m in at.metric}
    assert metrics["Faces"].value == f"{len(every):,}"
    assert f"{every.photos_with_several_faces:,} photos hold several" in str(metrics["Faces"].proto.delta)
    assert at.query_params["faces"] == "largest"

    def clusters_faces() -> str:
        at.switch_page(CLUSTERS).run()
        assert not at.exception, at.exception
        return next(c.value for c in at.caption if " faces in " in c.value).split(" faces in ")[0]

    assert clusters_faces() == f"{len(largest):,}"  # the article's pages: the largest face of each photo
    at.switch_page(PEOPLE).run()
    people = {m.label: m.value for m in at.metric}
    assert int(people["Faces in a person"].replace(",", "")) + int(people["Unsorted faces"].replace(",", "")) == len(
        every)  # the People page: every face
    at.switch_page(DATASET).run()
    at.toggle(key="all_faces").set_value(True).run()
    assert "encode_job" not in at.session_state and at.session_state["loaded"].faceset is every  # nothing encoded
    assert at.query_params["faces"] == "all"
    assert clusters_faces() == f"{len(every):,}"
    at.switch_page(DATASET).run()
    at.toggle(key="all_faces").set_value(False).run()
    assert clusters_faces() == f"{len(largest):,}" and at.session_state["loaded"].faceset is every

    reload = new_app()  # the address in a new session: the same faces from the cache, the view it names
    reload.query_params.update(dict(at.query_params), faces="all")
    reload.run()
    assert not reload.exception, reload.exception
    again = reload.session_state["loaded"]
    assert again.faceset.key == every.key and again.faceset.encoded == 0 and reload.session_state["all_faces"]


def test_a_folder_outside_the_allowed_roots_is_refused(tmp_path: Path) -> None:
    at = new_app().run()
    at.text_input(key="folder_path").set_value(os.fspath(tmp_path))
    finish_job(at.button(key="encode_folder").click().run())
    assert not at.exception
    assert "outside the allowed folders" in at.error[0].value
    assert "loaded" not in at.session_state


def test_a_missing_folder_is_an_error_not_a_traceback(allow_small_dataset: Path) -> None:
    at = new_app().run()
    at.text_input(key="folder_path").set_value(os.fspath(allow_small_dataset / "nobody"))
    finish_job(at.button(key="encode_folder").click().run())
    assert not at.exception
    assert "does not exist" in at.error[0].value


def test_uploaded_photos_and_a_zip_are_encoded(small_people) -> None:
    photos = sorted(small_people[0].glob("*.jpg"))[:3]
    zipped = sorted(small_people[1].glob("*.jpg"))[:3]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for p in zipped:
            zf.write(p, f"{small_people[1].name}/{p.name}")
        zf.writestr("notes.txt", "not a photo")
    files = [(p.name, p.read_bytes(), "image/jpeg") for p in photos]
    files.append(("more.zip", buf.getvalue(), "application/zip"))
    at = new_app().run()
    at.file_uploader(key="uploads").set_value(files)
    at.run()
    finish_job(at.button(key="encode_uploads").click().run())
    assert not at.exception
    fs = at.session_state["loaded"].faceset
    assert {f.name for f in fs.faces} >= {f"more.zip/{small_people[1].name}/{p.name}" for p in zipped[:1]}
    assert len(fs) >= 4
    assert {s.path: s.reason for s in fs.skipped}.get("more.zip/notes.txt") == "unsupported type"


def test_the_lfw_sample_says_clearly_that_it_needs_the_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    import sklearn.datasets

    def offline(**kwargs):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(sklearn.datasets, "fetch_lfw_people", offline)
    at = new_app().run()
    finish_job(at.button(key="encode_lfw").click().run())
    assert not at.exception
    assert "no internet access" in at.error[0].value
    assert "loaded" not in at.session_state


def test_delete_removes_the_dataset_from_the_cache(tmp_path: Path, monkeypatch, small_people) -> None:
    cache = tmp_path / "own-cache.sqlite"  # not the session cache the other tests reuse
    monkeypatch.setenv("FACECORE_CACHE", os.fspath(cache))
    folder = tmp_path / "three"
    folder.mkdir()
    for p in sorted(small_people[3].glob("*.jpg"))[:3]:
        (folder / p.name).symlink_to(p)
    monkeypatch.setenv("FACECORE_ALLOWED_ROOTS", os.fspath(folder))
    at = new_app().run()
    at.text_input(key="folder_path").set_value(os.fspath(folder))
    finish_job(at.button(key="encode_folder").click().run())
    digests = at.session_state["loaded"].digests
    store = EncodingStore(cache)
    every = EncoderSettings(all_faces=True).key  # the app encodes every face
    assert store.get_many(digests, every)
    at.button(key="delete_cache").click().run()
    assert not at.exception
    assert not store.get_many(digests, every)
    assert "loaded" not in at.session_state
    assert os.fspath(cache) in at.success[0].value


def test_a_reload_brings_uploaded_photos_back_from_the_cache(small_people) -> None:
    photos = sorted(small_people[4].glob("*.jpg"))[:5]
    at = new_app().run()
    at.file_uploader(key="uploads").set_value([(p.name, p.read_bytes(), "image/jpeg") for p in photos])
    at.run()
    finish_job(at.button(key="encode_uploads").click().run())
    fs = at.session_state["loaded"].faceset
    token = at.query_params["upload"]
    assert len(fs) >= 4 and token

    reload = new_app()  # the same address in a new session: the uploader is empty, the cache is not
    reload.query_params.update(dict(at.query_params))
    reload.run()
    assert not reload.exception, reload.exception
    again = reload.session_state["loaded"].faceset
    assert again.key == fs.key and again.encoded == 0
    assert {m.label: m.value for m in reload.metric}["Faces"] == f"{len(fs):,}"
    labels = {m.label for m in reload.metric}
    assert "Opened in" in labels and "Encoded in" not in labels  # nothing encoded: the reopening time, named so

    wrong = new_app()
    wrong.query_params["upload"] = "not-a-token"
    wrong.run()
    assert not wrong.exception
    assert any("no longer known" in w.value for w in wrong.warning) and "upload" not in wrong.query_params


def test_imported_encodings_load_show_faces_and_come_back_on_reload(
    allow_small_dataset: Path, small_faceset, tmp_path: Path, monkeypatch
) -> None:
    from facecore import encodings_npz

    monkeypatch.setenv("FACECORE_CACHE", os.fspath(tmp_path / "import-cache.sqlite"))  # nothing encoded here
    data = encodings_npz(small_faceset)
    at = new_app().run()
    at.file_uploader(key="import_file").set_value(("six.npz", data, "application/octet-stream")).run()
    at.button(key="import_encodings").click().run()
    assert not at.exception, at.exception
    fs = at.session_state["loaded"].faceset
    assert len(fs) == len(small_faceset) and np.array_equal(fs.encodings, small_faceset.encodings)
    assert [f.person for f in fs.faces] == small_faceset.persons
    from pages._shared.cached import crops
    from pages._shared.pictures import PLACEHOLDER

    for jpeg in crops(fs, [0, 1]):  # faces cut from their photos: the cache had no crops of them
        assert jpeg != PLACEHOLDER
        assert np.asarray(Image.open(io.BytesIO(jpeg))).std() > 10
    link = dict(at.query_params)
    assert "imported" in link and link["faces"] == "largest"
    at.toggle(key="all_faces").set_value(True).run()  # every face on the Clusters and Similar pages
    link = dict(at.query_params)
    assert link["faces"] == "all"  # the address keeps the view, as it does for a folder

    again = new_app()
    again.query_params.update(link)
    again.run()
    assert not again.exception, again.exception
    assert again.session_state["loaded"].faceset.key == fs.key
    assert again.session_state["all_faces"] is True and dict(again.query_params)["faces"] == "all"
    sidebar = " ".join(c.value for c in again.sidebar.caption)  # an import holds every face the file gave
    assert "every face on every page" in sidebar and "largest face per photo" not in sidebar
    assert not any("encoded before every face was kept" in i.value for i in again.info)

    bad = io.BytesIO()
    np.savez(bad, encodings=np.full((3, 128), np.nan, np.float32), path=np.array(["a.jpg", "b.jpg", "c.jpg"]))
    refused = new_app().run()
    refused.file_uploader(key="import_file").set_value(("bad.npz", bad.getvalue(), "application/octet-stream")).run()
    refused.button(key="import_encodings").click().run()
    assert not refused.exception
    assert "bad.npz was not imported" in refused.error[0].value and "loaded" not in refused.session_state


def test_a_restarted_app_reads_the_imported_set_opened_last_ahead_and_its_page_takes_it(
    allow_small_dataset: Path, small_faceset, tmp_path: Path, monkeypatch
) -> None:
    import gc

    import streamlit as st

    import app
    import pages._shared.cached as cached
    import pages._shared.jobs as jobs
    from facecore import encodings_npz, last_opened
    from facecore import settings as S

    def stop() -> None:  # the app stopped (its sessions deleted): nothing holds the set, Streamlit's caches are gone
        gc.collect()
        st.cache_data.clear()
        st.cache_resource.clear()

    def fit_again(*args, **kwargs):
        raise AssertionError("the set was fitted or projected again")

    cache = tmp_path / "import-cache.sqlite"
    monkeypatch.setenv("FACECORE_CACHE", os.fspath(cache))
    at = new_app().run()
    at.file_uploader(key="import_file").set_value(("six.npz", encodings_npz(small_faceset), "application/x")).run()
    at.button(key="import_encodings").click().run()
    link, key = dict(at.query_params), at.session_state["loaded"].faceset.key
    assert last_opened(EncodingStore(cache)) == ("imported", link["imported"])  # remembered as opened last
    del at
    stop()
    assert not [fs for fs in jobs._loaded_sets.values() if fs.key == key]

    kept_model = cached.kept_model
    monkeypatch.setattr(cached, "kept_model", fit_again)
    assert app._read_ahead() == f"{len(small_faceset):,} faces"  # never grouped: read, and not fitted at the start
    monkeypatch.setattr(cached, "kept_model", kept_model)
    grouped = new_app()
    grouped.query_params.update(link)
    grouped.run().switch_page(CLUSTERS).run()  # grouped at the article's settings: the fits are kept
    assert not grouped.exception, grouped.exception
    del grouped
    stop()

    # Restarted, the app reads it while nobody asks and prepares the Clusters page's first drawing from the kept fits.
    assert app._read_ahead() == f"{len(small_faceset):,} faces, and the Clusters page's first drawing"

    def read_again(*args):
        raise AssertionError("the page read the set again")

    monkeypatch.setattr(jobs, "load_imported", read_again)
    monkeypatch.setattr(cached, "kept_model", fit_again)  # what model_for computes on a miss
    again = new_app()
    again.query_params.update(link)  # the page the restart left open
    again.run()
    assert not again.exception, again.exception
    assert again.session_state["loaded"].faceset.key == key
    again.switch_page(CLUSTERS).run()  # at the article's settings: the model the start prepared
    assert not again.exception, again.exception
    assert (again.slider(key="dims").value, again.slider(key="k").value) == (S.DEFAULT_DIMS, S.DEFAULT_K)
    assert "faces in 10 groups" in " ".join(c.value for c in again.caption)


def test_time_left_says_estimating_until_the_rate_is_measured() -> None:
    from types import SimpleNamespace

    from facecore import Progress
    from pages._shared.jobs import progress_text

    job = SimpleNamespace(progress=Progress(3, 100, 0, 3, 4.0, None, None), phase="", stopping=False)
    assert progress_text(job) == (0.03, "3 of 100 photos · 0 from the cache · 3 faces · estimating the time left…")
    job.progress = Progress(20, 100, 0, 20, 10.0, 40.0, 2.0)
    assert progress_text(job)[1].endswith("2.0 photos/s · about 40 s left")
    job.progress = Progress(100, 100, 0, 90, 50.0, 0.0, 2.0)
    assert "left" not in progress_text(job)[1]
