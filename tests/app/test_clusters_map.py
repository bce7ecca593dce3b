"""The Clusters page's similarity map through AppTest: the default view, the PCA axes one click away, the
sliders recolouring the same map, its centres on their groups, the face card's person."""

from __future__ import annotations

import base64
import json

import numpy as np

from facecore import EncodingStore, centre_places, faceset_layout_key, fit_model
from facecore.storage.maps import load_map
from tests.app.support import CLUSTERS, loaded_app


def _array(values) -> np.ndarray:
    """A Plotly JSON array (numpy arrays arrive as base64 ``bdata``, with a ``shape`` when 2-D)."""
    if isinstance(values, dict):
        out = np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"])
        shape = values.get("shape")
        return out.reshape([int(v) for v in str(shape).split(",")]) if shape else out
    return np.asarray(values)


def _scatter(at) -> dict:
    return json.loads(at.get("plotly_chart")[0].proto.spec)


def _places(fig: dict) -> dict[int, tuple[float, float]]:
    """Each drawn face's (x, y), by its row in the set (the query star left out)."""
    out = {}
    for t in fig["data"]:
        if t.get("name", "").startswith("group ") or t.get("legendgroup") is not None:
            rows = _array(t["customdata"])[:, 0]
            xy = zip(_array(t["x"]).tolist(), _array(t["y"]).tolist(), strict=True)
            out.update(zip(rows.tolist(), xy, strict=True))
    return out


def _centres(fig: dict) -> np.ndarray:
    t = next(t for t in fig["data"] if t.get("name") == "centroids")
    return np.column_stack([_array(t["x"]), _array(t["y"])]).astype(np.float32)


def test_the_map_is_the_default_view_and_the_pca_axes_one_click_away(small_faceset, session_cache) -> None:
    fs = small_faceset
    at = loaded_app(fs, CLUSTERS)
    assert at.radio(key="scatter_view").value == "map"
    fig = _scatter(at)
    kept, method = load_map(EncodingStore(session_cache), faceset_layout_key(fs))  # computed once, in the cache
    assert method == "tsne"
    places = _places(fig)
    assert len(places) == len(fs)
    np.testing.assert_allclose([places[r] for r in range(len(fs))], kept, rtol=1e-6)
    assert fig["layout"]["xaxis"]["showticklabels"] is False  # a map's axes have no units
    assert any("faces that look alike lie together" in c.value for c in at.caption)

    at.radio(key="scatter_view").set_value("pca").run()
    assert not at.exception
    fig = _scatter(at)
    model = fit_model(fs.encodings, dims=20, k=10)
    pca = _places(fig)
    assert np.allclose(np.abs([pca[r] for r in range(len(fs))]), np.abs(model.reduced[:, :2]), atol=1e-4)
    assert fig["layout"]["xaxis"]["title"]["text"] == "PC1"
    assert any("PC1 and PC2" in c.value for c in at.caption)


def test_the_k_slider_recolours_the_map_without_moving_a_face(small_faceset, session_cache) -> None:
    fs = small_faceset
    at = loaded_app(fs, CLUSTERS)
    before = _places(_scatter(at))
    at.slider(key="k").set_value(4).run()
    assert not at.exception
    fig = _scatter(at)
    assert _places(fig) == before  # same faces at the same places
    groups = [t for t in fig["data"] if t.get("name", "").startswith("group ")]
    assert len(groups) == 4  # recoloured: four groups now
    at.slider(key="dims").set_value(5).run()
    assert _places(_scatter(at)) == before

    # each centre is drawn where its group's most typical face is on the map
    model = fit_model(fs.encodings, dims=5, k=4)
    xy = np.array([before[r] for r in range(len(fs))], dtype=np.float32)
    expected = centre_places(xy, model.reduced, model.labels, model.centroids)
    np.testing.assert_allclose(_centres(_scatter(at)), expected, rtol=1e-5)


def test_the_map_in_3d_and_the_hover_names_each_faces_person(small_faceset) -> None:
    from pages._people.cached import people_for

    fs = small_faceset
    at = loaded_app(fs, CLUSTERS)
    grouping, _ = people_for(fs)
    for t in _scatter(at)["data"]:
        if t.get("name", "").startswith("group "):
            row, _, person = _array(t["customdata"]).T
            assert (person == grouping.labels[row]).all()  # the face card's person
    at.toggle(key="scatter_3d").set_value(True).run()
    assert not at.exception
    faces = [t for t in _scatter(at)["data"] if t.get("name", "").startswith("group ")]
    assert faces and all(t["type"] == "scatter3d" for t in faces)
    assert sum(len(_array(t["z"])) for t in faces) == len(fs)



def test_a_large_set_shows_the_pca_axes_and_a_progress_line_until_its_map_is_ready(small_faceset, monkeypatch) -> None:
    import threading

    import facecore.layout.map_job as map_job
    import pages._clusters.maps as maps

    release = threading.Event()
    real = map_job.faceset_map

    def slow_map(*args, **kwargs):  # the real map, once the test lets it finish
        assert release.wait(120)
        return real(*args, **kwargs)

    monkeypatch.setattr(map_job, "faceset_map", slow_map)
    monkeypatch.setattr(map_job, "kept_faceset_map", lambda *args: None)  # as if no map were kept yet
    monkeypatch.setattr(maps, "MAP_WAIT_UP_TO", 10)  # the six people count as a large set
    maps.map_job_for.clear()
    try:
        at = loaded_app(small_faceset, CLUSTERS)
        assert at.radio(key="scatter_view").value == "map"
        assert "Drawing the similarity map of" in at.get("progress")[0].proto.text
        fig = _scatter(at)
        assert fig["layout"]["xaxis"]["title"]["text"] == "PC1"  # the PCA axes stand in meanwhile
        at.slider(key="k").set_value(5).run()  # the page stays usable
        assert not at.exception and len(at.selectbox(key="gallery_cluster").options) == 5  # 5 groups to show
    finally:
        release.set()
    assert maps.map_job_for(small_faceset.key, 2, small_faceset).wait(120)
    at.run()
    assert not at.exception and not at.get("progress")
    assert _scatter(at)["layout"]["xaxis"]["showticklabels"] is False  # the map, once ready


def test_the_query_panel_names_the_querys_person(small_faceset) -> None:
    from pages._people.cached import people_for
    from pages._shared.views import person_label

    grouping, names = people_for(small_faceset)
    row = int(np.flatnonzero(grouping.labels >= 0)[0])
    at = loaded_app(small_faceset, CLUSTERS, query_face=row)
    panel = " ".join(c.value for c in at.caption)
    assert f"person: {person_label(int(grouping.labels[row]), names)}" in panel
