"""Every page through Streamlit's AppTest: empty state, a real folder, slider moves, the similar-faces results.

The app is run from ``app.py`` (st.navigation) and pages are switched with
``at.switch_page``. Most tests put the encoded six-person set straight into
the session; one goes through the Dataset page by typing the folder path.
"""

from __future__ import annotations

import base64
import io
import json
import os
import urllib.error
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from facecore import EncoderSettings, EncodingStore, find_similar, fit_model, fit_pca

APP = Path(__file__).resolve().parent.parent / "app.py"
DATASET, CLUSTERS, SIMILAR = "pages/dataset.py", "pages/clusters.py", "pages/similar.py"
#: Order of the ranking tables on the Similar faces page (st.dataframe keeps no key in AppTest).
MATES, EXACT, FARTHEST = 0, 1, 2
#: Encoding runs inside the first page run that asks for it, so runs may take a while.
TIMEOUT = 600


def new_app() -> AppTest:
    return AppTest.from_file(str(APP), default_timeout=TIMEOUT)


def loaded_app(faceset, page: str, **state) -> AppTest:
    """An app whose session already holds ``faceset``, switched to ``page`` and run once."""
    from pages._shared.state import LoadedSet

    at = new_app()
    at.run()
    at.session_state["loaded"] = LoadedSet(faceset, "six people (test)", EncoderSettings())
    for key, value in state.items():
        at.session_state[key] = value
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def finish_job(at: AppTest) -> AppTest:
    """Wait for the session's encoding job (pages poll it in a fragment AppTest does not time) and rerun."""
    job = at.session_state["encode_job"] if "encode_job" in at.session_state else None
    if job is not None:
        assert job.wait(TIMEOUT)
    return at.run()


def sidebar_text(at: AppTest) -> str:
    return " ".join(str(el.value) for el in at.sidebar.children.values() if isinstance(getattr(el, "value", None), str))


@pytest.fixture
def allow_small_dataset(monkeypatch: pytest.MonkeyPatch, small_dataset: Path) -> Path:
    monkeypatch.setenv("FACECORE_ALLOWED_ROOTS", os.fspath(small_dataset))
    return small_dataset


# ----------------------------------------------------------------- empty state


@pytest.mark.parametrize("page", [DATASET, CLUSTERS, SIMILAR])
def test_every_page_has_a_friendly_empty_state(page: str) -> None:
    at = new_app().run()
    at.switch_page(page).run()
    assert not at.exception
    assert not at.error
    assert at.info, "an empty page should say what to do"
    if page != DATASET:
        assert "Photos page" in at.info[0].value
        assert [link.proto.label for link in at.main.get("page_link")] == ["Go to the Photos page"]
    menu = [link.proto.label for link in at.sidebar.get("page_link")]
    assert menu == ["Photos", "Clusters", "Similar faces", "People"]
    sidebar = sidebar_text(at)
    assert "No photos loaded yet" in sidebar and "Processing is local" in sidebar


def test_sessions_do_not_share_datasets(small_faceset) -> None:
    loaded_app(small_faceset, DATASET)
    other = new_app().run()
    assert "loaded" not in other.session_state
    assert any("No photos loaded yet" in i.value for i in other.info)


# ----------------------------------------------------------------- dataset page


def test_typing_a_folder_encodes_it_and_shows_the_summary(allow_small_dataset: Path, small_faceset) -> None:
    at = new_app().run()
    assert at.text_input(key="folder_path").value  # prefilled with the shared dataset
    at.text_input(key="folder_path").set_value(os.fspath(allow_small_dataset))
    finish_job(at.button(key="encode_folder").click().run())
    assert not at.exception
    assert not at.error
    ds = at.session_state["loaded"]
    assert len(ds.faceset) == len(small_faceset)
    assert ds.faceset.key == small_faceset.key
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Photos with a face"] == f"{small_faceset.photos_with_face:,}"
    assert metrics["Faces"] == f"{len(small_faceset):,}"
    assert metrics["Skipped"] == str(len(small_faceset.skipped) - small_faceset.other_files)
    assert at.image and len(at.image[0].value) == min(60, len(small_faceset))  # the thumbnail grid
    assert f"{len(small_faceset)} faces" in sidebar_text(at)
    if small_faceset.skipped:
        assert at.dataframe[0].value["reason"].notna().all()


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
    assert store.get_many(digests, EncoderSettings().key)
    at.button(key="delete_cache").click().run()
    assert not at.exception
    assert not store.get_many(digests, EncoderSettings().key)
    assert "loaded" not in at.session_state
    assert os.fspath(cache) in at.success[0].value


# ----------------------------------------------------------------- clusters page


def test_clusters_page_renders_and_follows_the_sliders(small_faceset, monkeypatch) -> None:
    import facecore.encode.job

    def no_encoding(*args, **kwargs):
        raise AssertionError("a slider move must never encode")

    monkeypatch.setattr(facecore.encode.job, "encode_images", no_encoding)
    at = loaded_app(small_faceset, CLUSTERS)
    assert at.slider(key="dims").value == 20
    assert at.slider(key="k").value == 10
    assert len(at.dataframe[0].value) == 10

    at.slider(key="k").set_value(4).run()
    assert not at.exception
    assert at.session_state["k"] == 4
    assert len(at.dataframe[0].value) == 4

    at.slider(key="dims").set_value(3).run()
    assert not at.exception
    at.toggle(key="scatter_3d").set_value(True).run()
    assert not at.exception

    at.selectbox(key="gallery_cluster").set_value(2).run()
    assert not at.exception
    sizes = at.dataframe[0].value["faces"].tolist()
    shown = [len(im.value) for im in at.image]  # most typical (up to 40), then the least typical (up to 10)
    assert shown[-2:] == [40, min(10, sizes[2] - 40)] if sizes[2] > 40 else shown[-1] == sizes[2]

    # the K hint, then following it
    at.button(key="k_hint").click().run()
    assert not at.exception
    hint = at.button(key="use_k_hint")
    assert hint.label.startswith("Use ") and " groups (silhouette " in hint.label
    if not hint.disabled:
        best = int(hint.label.split()[1])
        hint.click().run()
        assert at.slider(key="k").value == best


def _count(values) -> int:
    """How many values a Plotly JSON array holds (numpy arrays arrive as base64 ``bdata``)."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).size
    return len(values)


def test_a_crowded_scatter_draws_a_share_of_each_group_and_counts_them_all(small_faceset, monkeypatch) -> None:
    from facecore import settings

    monkeypatch.setattr(settings, "CHART_DRAW_AT_MOST", 40)
    at = loaded_app(small_faceset, CLUSTERS)
    n = len(small_faceset)
    sizes = at.dataframe[0].value["faces"].tolist()  # the groups' sizes, from the table
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    groups = [t for t in fig["data"] if t.get("name", "").startswith("group ")]
    assert [t["name"] for t in groups] == [f"group {c} ({size:,})" for c, size in enumerate(sizes)]  # all counted
    drawn = sum(_count(t["x"]) for t in groups)
    assert abs(drawn - 40) <= len(sizes) and all(_count(t["x"]) >= 1 for t in groups)
    assert any(f"draws {drawn:,} of the {n:,} faces" in c.value for c in at.caption)

    at.toggle(key="draw_all").set_value(True).run()  # the user asks for every point
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert sum(_count(t["x"]) for t in fig["data"] if t.get("name", "").startswith("group ")) == n
    assert not any("draws" in c.value for c in at.caption)


def test_widget_values_survive_a_visit_to_another_page(small_faceset, tmp_path: Path) -> None:
    at = loaded_app(small_faceset, CLUSTERS)
    at.slider(key="k").set_value(7).run()
    at.switch_page(SIMILAR).run()
    assert "K = 7 groups" in " ".join(c.value for c in at.caption)
    at.slider(key="threshold").set_value(0.5).run()
    at.switch_page(DATASET).run()
    at.text_input(key="folder_path").set_value(os.fspath(tmp_path)).run()
    at.radio(key="detector").set_value("cnn").run()
    at.switch_page(CLUSTERS).run()
    assert at.slider(key="k").value == 7
    at.switch_page(SIMILAR).run()
    assert at.slider(key="threshold").value == 0.5
    at.switch_page(DATASET).run()
    assert at.text_input(key="folder_path").value == os.fspath(tmp_path)
    assert at.radio(key="detector").value == "cnn"
    assert not at.exception and not at.warning


def test_a_tiny_dataset_gets_a_message_instead_of_sliders(small_faceset) -> None:
    from dataclasses import replace

    tiny = replace(small_faceset, faces=small_faceset.faces[:2], encodings=small_faceset.encodings[:2], key="tiny")
    for page in (CLUSTERS, SIMILAR):
        at = loaded_app(tiny, page)
        assert not at.slider
        assert "at least 3" in at.info[0].value


# ----------------------------------------------------------------- similar faces page


def _expected(faceset, face: int, dims: int, k: int, nprobe: int = 1, top: int = 10):
    model = fit_model(faceset.encodings, dims, k, pca=fit_pca(faceset.encodings))
    return model, find_similar(model, row=face, nprobe=nprobe, top=top)


def test_similar_page_lists_the_cluster_mates_facecore_finds(small_faceset) -> None:
    fs = small_faceset
    query = next(i for i, f in enumerate(fs.faces) if f.person == "person_7203")
    at = loaded_app(fs, SIMILAR, query_face=query)
    assert at.selectbox(key="query_face").value == query
    _, expected = _expected(fs, query, 20, 10)
    threshold = at.slider(key="threshold").value

    mates = at.dataframe[MATES].value
    assert mates["file"].tolist() == [fs.faces[i].name for i in expected.mates.indices]
    assert np.allclose(mates["distance"], np.round(expected.mates.distances, 3))
    assert (mates["folder"].head(5) == "person_7203").mean() >= 0.8  # mostly the same person
    exact = at.dataframe[EXACT].value
    assert exact["file"].tolist() == [fs.faces[i].name for i in expected.exact.indices]
    assert mates["same person?"].tolist() == ["✓" if d < threshold else "" for d in expected.mates.distances]
    assert all(uri.startswith("data:image/jpeg;base64,") for uri in exact["face"])  # each result shows its face

    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Comparisons"] == f"{expected.mates.comparisons:,}"
    assert metrics["Exact search"] == f"{expected.exact.comparisons:,}"
    assert metrics["Exact top found"] == f"{10 - expected.missed} of 10"
    assert len(at.image) == 1 and len(at.image[0].value)  # the query's crop


def test_the_verdict_is_calibrated_and_says_when_nothing_matches(small_faceset) -> None:
    from facecore import calibrate, recommended_threshold

    fs = small_faceset
    d = np.linalg.norm(fs.encodings[:, None] - fs.encodings[None], axis=2)
    np.fill_diagonal(d, np.inf)
    query = int(np.argmax(d.min(axis=1)))  # the loneliest face: nothing within 0.3 of it
    assert d[query].min() > 0.3
    at = loaded_app(fs, SIMILAR, query_face=query)
    expected = min(recommended_threshold(calibrate(fs.encodings, fs.persons)), 0.6)
    assert at.slider(key="threshold").value == pytest.approx(expected, abs=1e-3)  # measured on the folders
    if d[query].min() < expected:
        assert "likely the same person" in at.success[0].value
    else:
        assert "No confident match in this collection" in at.info[0].value
    assert any("of face pairs in this collection are the same person" in c.value for c in at.caption)
    assert at.get("plotly_chart")  # the two distance distributions with the threshold

    at.slider(key="threshold").set_value(0.3).run()  # nothing of the six people is that close
    assert not at.exception
    assert "No confident match in this collection" in at.info[0].value
    assert (at.dataframe[EXACT].value["same person?"] == "").all()  # no tick anywhere

    at.slider(key="threshold").set_value(1.0).run()  # everyone matches: several people, flagged
    assert "different people" in at.warning[0].value
    assert any("at most one of them is this person" in c.value for c in at.caption)


def test_similar_page_sliders_change_the_search(small_faceset) -> None:
    fs = small_faceset
    at = loaded_app(fs, SIMILAR, query_face=5, k=6)
    at.slider(key="nprobe").set_value(6).run()  # every cluster: the exact answer
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Exact top found"] == "10 of 10" and metrics["Groups searched"] == "all"
    at.slider(key="top").set_value(3).run()
    assert len(at.dataframe[MATES].value) == 3
    at.slider(key="threshold").set_value(0.3).run()
    assert not at.exception
    _, expected = _expected(fs, 5, 20, 6, nprobe=6, top=3)
    table = at.dataframe[MATES].value
    assert table["same person?"].tolist() == ["✓" if d < 0.3 else "" for d in expected.mates.distances]


def test_the_scatter_query_and_the_selectbox_share_one_face(small_faceset) -> None:
    # a click in the scatter sets "query_face" (the click itself is driven in test_browser.py)
    at = loaded_app(small_faceset, CLUSTERS, query_face=11)
    at.switch_page(SIMILAR).run()
    assert at.selectbox(key="query_face").value == 11
    at.selectbox(key="query_face").set_value(12).run()
    assert at.session_state["query_face"] == 12


def test_a_large_set_finds_the_query_face_by_a_search_box(small_faceset, monkeypatch) -> None:
    # above FULL_LIST_MAX faces the Face list holds the matches of a search box, not every face (10^5 names would
    # be megabytes per click); lowered here so the six people's faces take that path
    import pages._shared.widgets as widgets

    monkeypatch.setattr(widgets, "FULL_LIST_MAX", 10)
    fs = small_faceset
    at = loaded_app(fs, SIMILAR, query_face=0)
    box = at.selectbox(key="query_face")
    assert box.value == 0 and len(box.options) == min(len(fs), widgets.MATCHES_SHOWN)
    at.text_input(key="query_search").input("person_7207").run()
    assert not at.exception, at.exception
    box = at.selectbox(key="query_face")
    wanted = [i for i, f in enumerate(fs.faces) if f.person == "person_7207"]
    assert box.value == 0  # the face shown stays the query until another is picked
    assert len(box.options) == 1 + len(wanted) and all("person_7207" in o for o in box.options[1:])
    box.set_value(wanted[2]).run()
    assert not at.exception, at.exception
    _, expected = _expected(fs, wanted[2], 20, 10)
    assert at.dataframe[EXACT].value["file"].tolist() == [fs.faces[i].name for i in expected.exact.indices]
    assert any(f"{len(wanted)} faces match" in c.value for c in at.caption)


def test_an_uploaded_query_photo_finds_its_person(small_faceset, small_people) -> None:
    photo = sorted(small_people[2].glob("*.jpg"))[0]
    at = loaded_app(small_faceset, SIMILAR)
    at.radio(key="query_source").set_value("A new photo").run()
    assert not at.exception and at.info  # asks for a photo
    at.file_uploader(key="query_upload").set_value((photo.name, photo.read_bytes(), "image/jpeg")).run()
    assert not at.exception and not at.error
    exact = at.dataframe[EXACT].value
    assert exact["distance"].iloc[0] < 1e-3  # the photo itself is in the dataset
    assert (exact["folder"].head(5) == small_people[2].name).mean() >= 0.8


def test_an_uploaded_photo_without_a_face_is_explained(small_faceset) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (200, 200), (120, 160, 200)).save(buf, format="PNG")
    at = loaded_app(small_faceset, SIMILAR)
    at.radio(key="query_source").set_value("A new photo").run()
    at.file_uploader(key="query_upload").set_value(("sky.png", buf.getvalue(), "image/png")).run()
    assert not at.exception
    assert "No face" in at.error[0].value


# ----------------------------------------------------------------- faces on hover


def test_hover_pictures_are_small_jpegs_of_the_cached_faces(small_faceset, session_cache: Path) -> None:
    import base64

    from pages._shared.pictures import face_uris

    keys = small_faceset.thumb_keys(range(len(small_faceset)))
    crops = EncodingStore(session_cache).thumbnails(keys, small_faceset.settings_key)
    assert len(crops) == len(small_faceset)
    uris = face_uris([crops[k] for k in keys] + [b"not a jpeg"], side=64)
    assert uris[-1] == ""  # one unreadable crop: no picture, the others still come
    sizes = []
    for uri in uris[:-1]:
        head, b64 = uri.split(",", 1)
        assert head == "data:image/jpeg;base64"
        raw = base64.b64decode(b64)
        with Image.open(io.BytesIO(raw)) as im:
            assert im.format == "JPEG" and max(im.size) <= 64
            assert np.asarray(im).std() > 10  # a real face crop, not a flat placeholder
        sizes.append(len(uri))
    assert sum(sizes) / len(sizes) < 4000  # about 2 KB per face: a few thousand fit in one page


def test_the_scatter_leaves_the_hover_text_to_the_face_card(small_faceset) -> None:
    from pages._clusters.charts import scatter_figure
    from pages._clusters.tables import hover_texts

    model = fit_model(small_faceset.encodings, dims=5, k=3)
    hover = hover_texts(small_faceset, model.labels)
    args = (model.reduced, model.labels, model.centroids)
    faces = lambda fig: [t for t in fig.data if (t.name or "").startswith(("group", "query", "person_"))]  # noqa: E731
    for three_d in (False, True):  # the card shows in the 3-D view too
        card = scatter_figure(*args, None, three_d=three_d, selected=0, hover_pictures=True)
        assert all(t.hoverinfo == "none" and t.hovertext is None for t in faces(card))  # nothing more to send
        rows = np.concatenate([np.asarray(t.customdata)[:, 0] for t in faces(card)])
        assert sorted(rows.tolist()) == sorted([*range(len(small_faceset)), 0])  # every face and the star
        for t in faces(card):
            row, group, person = np.asarray(t.customdata).T
            assert (model.labels[row] == group).all() and (person == -1).all()  # the right group, no persons given
    plain = scatter_figure(*args, hover, selected=0)  # the downloaded HTML: Plotly's own label
    assert all(t.hovertemplate and t.hoverinfo is None for t in faces(plain))
    for t in faces(plain):
        assert list(t.hovertext) == [hover[i] for i in t.customdata]
    persons = np.arange(len(small_faceset)) % 3
    with_persons = scatter_figure(*args, None, hover_pictures=True, persons=persons)
    for t in faces(with_persons):
        row, _, person = np.asarray(t.customdata).T
        assert (person == persons[row]).all()  # the card names each face's person
    by_folder = scatter_figure(*args, hover, colors=np.array([0] * 50 + [1] * (len(small_faceset) - 50)),
                               color_names=["person_a", "person_b"])  # fmt: skip
    assert [t.name for t in by_folder.data][:2] == ["person_a (50)", f"person_b ({len(small_faceset) - 50})"]


def test_hover_entries_carry_each_face_with_its_file_and_folder(small_faceset) -> None:
    from pages._clusters.cached import hover_entries

    entries = hover_entries(small_faceset, [0, 5])
    assert set(entries) == {"0", "5"}
    uri, text = entries["5"]
    assert uri.startswith("data:image/jpeg;base64,") and len(uri) < 4000
    face = small_faceset.faces[5]
    assert text == f"{face.name}\nfolder: {face.person}"


def test_a_resting_mouse_gets_its_face_and_its_nearest_points_on_screen(small_faceset, monkeypatch) -> None:
    from types import SimpleNamespace

    import pages._clusters.hover as hover

    fs = small_faceset
    xy = np.random.default_rng(0).normal(size=(len(fs), 2))
    state = {"scatter_hover_faces": SimpleNamespace(want=7)}
    monkeypatch.setattr(hover, "st", SimpleNamespace(session_state=state))
    hover._answer("scatter_hover_faces", fs, xy, None)
    sent = state["scatter_hover_faces_add"]
    nearest = np.argsort(((xy - xy[7]) ** 2).sum(axis=1))[: min(hover.NEIGHBOURS, len(fs))]
    assert set(sent) == {str(r) for r in nearest} and "7" in sent  # the face itself first of all
    assert all(uri.startswith("data:image/jpeg;base64,") for uri, _ in sent.values())

    drawn = np.arange(0, len(fs), 3)  # a crowded chart draws a share: the neighbours come from what is drawn
    hover._answer("scatter_hover_faces", fs, xy, drawn)
    sent = state["scatter_hover_faces_add"]
    near = drawn[np.argsort(((xy[drawn] - xy[7]) ** 2).sum(axis=1))][: hover.NEIGHBOURS - 1]
    assert list(sent)[0] == "7" and set(sent) == {"7", *(str(r) for r in near)}



# ----------------------------------------------------------------- reload keeps the folder


def test_a_loaded_folder_is_named_in_the_address(small_faceset, small_dataset: Path) -> None:
    from pages._shared.state import LoadedSet

    at = new_app()
    at.run()
    at.session_state["loaded"] = LoadedSet(small_faceset, "six", EncoderSettings(), folder=os.fspath(small_dataset))
    at.switch_page(CLUSTERS).run()
    assert not at.exception, at.exception
    at.slider(key="k").set_value(6).run()
    assert at.query_params["k"] == "6" and at.query_params["dims"] == "20"
    assert at.query_params["folder"] == os.fspath(small_dataset)
    assert at.query_params["detector"] == "hog" and at.query_params["faces"] == "largest"


def test_a_reload_loads_the_folder_in_the_address_again(allow_small_dataset: Path, small_faceset) -> None:
    at = new_app()
    at.query_params.update(folder=os.fspath(allow_small_dataset), dims="7", k="4", faces="largest")
    at.run()  # a reload: a new session whose address names the folder
    assert not at.exception, at.exception
    ds = at.session_state["loaded"]
    assert ds.faceset.key == small_faceset.key  # the same faces, from the cache (no encoding)
    assert ds.faceset.encoded == 0 and ds.folder == os.fspath(allow_small_dataset)
    at.switch_page(SIMILAR).run()
    assert not at.exception, at.exception
    assert at.selectbox(key="query_face").value is not None  # the page works on it right away
    assert (at.session_state["dims"], at.session_state["k"]) == (7, 4)
    assert "K = 4 groups" in " ".join(str(c.value) for c in at.caption)
    assert at.session_state["folder_path"] == os.fspath(allow_small_dataset)


def test_a_folder_in_the_address_outside_the_allowed_roots_is_refused(
    allow_small_dataset: Path, tmp_path: Path
) -> None:
    at = new_app()
    at.query_params["folder"] = os.fspath(tmp_path)
    at.run()
    assert not at.exception, at.exception
    assert "loaded" not in at.session_state
    assert any("page address was not loaded" in w.value and "allowed" in w.value for w in at.warning)
    assert "folder" not in at.query_params


# ----------------------------------------------------------------- quality over the whole dataset


def test_similar_page_reports_quality_over_every_face(small_faceset) -> None:
    from facecore import evaluate

    fs = small_faceset
    model, _ = _expected(fs, 0, 20, 10)
    ev = evaluate(model, fs.persons, top=5, nprobe=1)
    at = loaded_app(fs, SIMILAR)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Same person, exact"] == f"{ev.exact_precision_at_k:.1%}"
    assert metrics["Same person, group search"] == f"{ev.cluster_precision_at_k:.1%}"
    assert metrics["Exact top kept"] == f"{ev.recall_of_exact:.1%}"
    assert ev.exact_precision_at_k > 0.9  # six real people: search mostly returns the same person

    at.slider(key="nprobe").set_value(10).run()  # every cluster: the shortcut becomes exact
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Exact top kept"] == "100.0%"
    assert metrics["Same person, group search"] == metrics["Same person, exact"]


def test_quality_names_one_person_filed_under_two_folders(small_faceset) -> None:
    import dataclasses

    fs = small_faceset
    split = max(set(fs.persons), key=fs.persons.count)
    faces, seen = [], 0
    for f in fs.faces:
        if f.person == split:
            f = dataclasses.replace(f, person=f"{split}_{'ab'[seen % 2]}")
            seen += 1
        faces.append(f)
    renamed = dataclasses.replace(fs, faces=tuple(faces), key=fs.key + "-split")
    at = loaded_app(renamed, SIMILAR)
    assert not at.exception, at.exception
    table = at.dataframe[-1].value  # the last table of the page (AppTest keeps no dataframe keys)
    assert (table.iloc[0]["folder"], table.iloc[0]["and folder"]) == (f"{split}_a", f"{split}_b")


def test_a_link_keeps_the_search_face_groups_and_threshold(allow_small_dataset: Path, small_faceset) -> None:
    at = new_app()
    at.query_params.update(folder=os.fspath(allow_small_dataset), k="6")
    at.run()
    at.switch_page(SIMILAR).run()
    at.selectbox(key="query_face").set_value(17).run()
    at.slider(key="nprobe").set_value(3).run()
    at.slider(key="threshold").set_value(0.45).run()
    assert not at.exception, at.exception
    link = dict(at.query_params)
    assert link["face"] == small_faceset.faces[17].name and link["nprobe"] == "3" and link["threshold"] == "0.45"

    shared = new_app()  # someone opens the link: a new session
    shared.query_params.update(link)
    shared.run()
    shared.switch_page(SIMILAR).run()
    assert not shared.exception, shared.exception
    assert shared.selectbox(key="query_face").value == 17
    assert shared.slider(key="nprobe").value == 3 and shared.slider(key="threshold").value == 0.45
    assert shared.dataframe[EXACT].value["file"].tolist() == at.dataframe[EXACT].value["file"].tolist()


def test_bad_values_in_the_address_are_dropped_with_a_message(allow_small_dataset: Path) -> None:
    for bad in ({"folder": "/tmp/\x00evil"}, {"folder": "x" * 10_000}):
        at = new_app()
        at.query_params.update(bad)
        at.run()
        assert not at.exception, at.exception
        assert any("page address was not loaded" in w.value for w in at.warning)
        assert "folder" not in at.query_params
    at = new_app()
    at.query_params.update(folder=os.fspath(allow_small_dataset), k="many", threshold="7")
    at.run()
    assert not at.exception, at.exception
    assert any("cannot be used (k, threshold)" in w.value for w in at.warning)
    assert "k" not in at.query_params and at.session_state["loaded"] is not None


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

    wrong = new_app()
    wrong.query_params["upload"] = "not-a-token"
    wrong.run()
    assert not wrong.exception
    assert any("no longer known" in w.value for w in wrong.warning) and "upload" not in wrong.query_params


def test_a_selected_point_names_its_face_however_the_browser_sends_it() -> None:
    import base64

    from pages._clusters.tables import point_row

    typed = {"dtype": "i4", "bdata": base64.b64encode(np.array([41, 3], np.int32).tobytes()).decode()}
    assert [point_row(v) for v in ([41, 3], {"0": 41, "1": 3}, typed, 41, None)] == [41, 41, 41, 41, None]


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
    assert "imported" in link

    again = new_app()
    again.query_params.update(link)
    again.run()
    assert not again.exception, again.exception
    assert again.session_state["loaded"].faceset.key == fs.key

    bad = io.BytesIO()
    np.savez(bad, encodings=np.full((3, 128), np.nan, np.float32), path=np.array(["a.jpg", "b.jpg", "c.jpg"]))
    refused = new_app().run()
    refused.file_uploader(key="import_file").set_value(("bad.npz", bad.getvalue(), "application/octet-stream")).run()
    refused.button(key="import_encodings").click().run()
    assert not refused.exception
    assert "bad.npz was not imported" in refused.error[0].value and "loaded" not in refused.session_state


def test_similar_names_the_querys_person_and_clusters_colour_by_person(small_faceset) -> None:
    from pages._people.cached import people_for

    fs = small_faceset
    at = loaded_app(fs, SIMILAR, query_face=3)
    grouping, names = people_for(fs)
    own = int(grouping.labels[3])
    text = " ".join(m.value for m in at.markdown)
    assert (f"Person {own + 1}" if own >= 0 else "not sorted into any person") in text
    exact = at.dataframe[EXACT].value
    _, expected = _expected(fs, 3, 20, 10)
    assert exact["person"].tolist() == [f"Person {grouping.labels[i] + 1}" if grouping.labels[i] >= 0
                                        else "Unsorted" for i in expected.exact.indices]  # fmt: skip

    at.switch_page(CLUSTERS).run()
    at.radio(key="color_by").set_value("person").run()
    assert not at.exception, at.exception
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)  # the scatter, as Plotly JSON
    legend = [t["name"] for t in fig["data"] if t.get("name", "").startswith(("Person", "Unsorted"))]
    assert len(legend) == grouping.n_persons + (1 if (grouping.labels < 0).any() else 0)
    assert f"Person 1 ({grouping.sizes[0]})" in legend


def test_one_click_tunes_the_groups_for_95_percent_recall(small_faceset) -> None:
    from facecore.search.tuning import tune_search

    at = loaded_app(small_faceset, SIMILAR)
    at.button(key="tune_search").click().run()
    assert not at.exception, at.exception
    expected = tune_search(small_faceset.encodings, top=10)
    assert (at.session_state["k"], at.slider(key="nprobe").value) == (expected.k, expected.nprobe)
    assert f"K = {expected.k} groups" in " ".join(c.value for c in at.caption)
    assert any(f"{expected.recall:.1%} of the exact top 10 kept" in e.label for e in at.expander)
    at.switch_page(CLUSTERS).run()
    assert at.slider(key="k").value == expected.k  # the Clusters page shows the tuned K too
