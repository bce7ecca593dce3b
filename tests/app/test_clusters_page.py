"""The Clusters page through Streamlit's AppTest and its helpers: sliders, the crowded scatter, hover faces."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facecore import EncodingStore, fit_model
from tests.app.support import CLUSTERS, loaded_app


def test_clusters_page_renders_and_follows_the_sliders(small_faceset, monkeypatch) -> None:
    import facecore.encode.job

    def no_encoding(*args, **kwargs):
        raise AssertionError("a slider move must never encode")

    monkeypatch.setattr(facecore.encode.job, "encode_images", no_encoding)
    at = loaded_app(small_faceset, CLUSTERS)
    assert at.slider(key="dims").value == 20
    assert at.slider(key="k").value == 10
    assert not at.dataframe  # the table of the groups is built once its expander is opened
    at.session_state["group_table"] = True  # the user opens it
    at.run()
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


def _values(values) -> list:
    """The values a Plotly JSON array holds (numpy arrays arrive as base64 ``bdata``)."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).tolist()
    return list(values)


def _count(values) -> int:
    return len(_values(values))


def test_a_crowded_scatter_draws_a_share_of_each_group_and_counts_them_all(small_faceset, monkeypatch) -> None:
    from facecore import settings

    monkeypatch.setattr(settings, "CHART_DRAW_AT_MOST", 40)
    monkeypatch.setattr(settings, "CHART_FIRST_DRAW_AT_MOST", 20)
    at = loaded_app(small_faceset, CLUSTERS)
    n = len(small_faceset)
    charts = {json.loads(c.proto.spec)["layout"].get("xaxis", {}).get("title", {}).get("text"): c
              for c in at.get("plotly_chart")}  # fmt: skip
    sizes = _values(json.loads(charts["group"].proto.spec)["data"][0]["y"])  # the groups' sizes, from their chart
    for at_most, more in ((20, " (more after your first change)"), (40, "")):  # the session's first drawing, then
        fig = json.loads(at.get("plotly_chart")[0].proto.spec)
        groups = [t for t in fig["data"] if t.get("name", "").startswith("group ")]
        assert [t["name"] for t in groups] == [f"group {c} ({size:,})" for c, size in enumerate(sizes)]  # all counted
        drawn = sum(_count(t["x"]) for t in groups)
        assert abs(drawn - at_most) <= len(sizes) and all(_count(t["x"]) >= 1 for t in groups)
        assert any(f"draws {drawn:,} of the {n:,} faces, the same share of every group, so it redraws quickly{more};"
                   in c.value for c in at.caption)  # fmt: skip
        at.run()  # any rerun (a slider, a click) draws the rest

    at.toggle(key="draw_all").set_value(True).run()  # the user asks for every point
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert sum(_count(t["x"]) for t in fig["data"] if t.get("name", "").startswith("group ")) == n
    assert not any("draws" in c.value for c in at.caption)


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


def test_the_scatter_uses_webgl_only_for_many_drawn_points(small_faceset, monkeypatch) -> None:
    """WebGL's start costs more than drawing a few thousand points: the session's first, lighter drawing of a
    large set is SVG, and the fuller drawings after it WebGL."""
    import pages._clusters.charts as charts
    from facecore import drawn_rows

    monkeypatch.setattr(charts, "WEBGL_ABOVE", 40)  # the six-person set stands for a large one
    model = fit_model(small_faceset.encodings, dims=5, k=3)
    args = (model.reduced, model.labels, model.centroids, None)
    types = lambda fig: {t.type for t in fig.data if (t.name or "").startswith("group")}  # noqa: E731
    assert types(charts.scatter_figure(*args, hover_pictures=True)) == {"scattergl"}  # every face drawn
    few = drawn_rows(model.labels, 30)
    first = charts.scatter_figure(*args, hover_pictures=True, rows=few)
    assert types(first) == {"scatter"}
    assert sum(len(t.x) for t in first.data if t.name.startswith("group")) == len(few)
    assert types(charts.scatter_figure(*args, hover_pictures=True, rows=drawn_rows(model.labels, 60))) == {"scattergl"}
    assert types(charts.scatter_figure(*args, three_d=True, hover_pictures=True)) == {"scatter3d"}


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


@pytest.mark.parametrize("on_demand", [False, True])
def test_the_face_card_gets_only_values_streamlit_sends_without_pandas(small_faceset, monkeypatch, on_demand) -> None:
    """Streamlit looks for data frames among a component's other values, importing pandas to do so (0.5 s of a
    fresh server's first Clusters drawing at 100,000 faces): the card gets strings, numbers and tuples only."""
    import pages._clusters.hover as hover

    sent, component = [], hover._component
    monkeypatch.setattr(hover, "_component", lambda **kw: (sent.append(kw["data"]), component(**kw))[1])
    if on_demand:  # a large set's card: its faces come when asked for
        monkeypatch.setattr(hover, "HOVER_ALL_UP_TO", 10)
    at = loaded_app(small_faceset, CLUSTERS)
    assert not at.exception, at.exception
    assert sent and sent[-1]["on_demand"] is on_demand
    assert all(v is None or isinstance(v, (tuple, str, bytes, int, float, bool)) for v in sent[-1].values())
    faces = json.loads(sent[-1]["add_json"])
    assert faces == {} if on_demand else set(faces) == {str(r) for r in range(len(small_faceset))}


def test_a_selected_point_names_its_face_however_the_browser_sends_it() -> None:
    import base64

    from pages._clusters.tables import point_row

    typed = {"dtype": "i4", "bdata": base64.b64encode(np.array([41, 3], np.int32).tobytes()).decode()}
    assert [point_row(v) for v in ([41, 3], {"0": 41, "1": 3}, typed, 41, None)] == [41, 41, 41, 41, None]
