"""The Similar faces page through Streamlit's AppTest: results as facecore finds them, the verdict, quality,
query photos, links, tuning.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facecore import find_similar, fit_model, fit_pca
from tests.app.support import CLUSTERS, EXACT, MATES, SIMILAR, loaded_app, new_app


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
        from pages._people.cached import people_for

        grouping, labels = people_for(fs)  # the verdict names the person of the match, with its size
        who = int(grouping.labels[int(np.argmin(d[query]))])
        named = f"{labels[who]} ({grouping.sizes[who]} faces)" if who >= 0 else "the same person"
        assert f"likely {named}" in at.success[0].value
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
    verdict = (at.success or at.warning)[0].value  # the same bytes: said so, before the verdict
    assert verdict.startswith(f"This photo is already in the collection as {small_people[2].name}/{photo.name}.")


def test_an_uploaded_photo_without_a_face_is_explained(small_faceset) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (200, 200), (120, 160, 200)).save(buf, format="PNG")
    at = loaded_app(small_faceset, SIMILAR)
    at.radio(key="query_source").set_value("A new photo").run()
    at.file_uploader(key="query_upload").set_value(("sky.png", buf.getvalue(), "image/png")).run()
    assert not at.exception
    assert "No face" in at.error[0].value


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


def test_a_large_sets_first_answer_does_not_wait_for_its_calibration(
    small_faceset, session_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above MEASURE_NOW_UP_TO faces (5,000; here 0, on the six people) the calibration is measured in the
    background: the first answer uses the size rule's threshold and says so; once kept, a rerun has the measured
    threshold (the slider was not moved), the distance chart, and no note."""
    import dataclasses
    import shutil
    import threading

    from facecore import EncodingStore, calibrate, verdict_threshold, wait_for_set_results
    from facecore.storage import set_results
    from pages._similar import cached

    measured_may_end = threading.Event()  # the six people take milliseconds: hold the measurement back
    measure = set_results.measure
    monkeypatch.setattr(set_results, "measure", lambda *a: measured_may_end.wait(300) and measure(*a))

    fs = dataclasses.replace(small_faceset, key="not-measured-" + small_faceset.key)  # nothing kept for it yet
    cache = tmp_path / "cache.sqlite"
    shutil.copy(session_cache, cache)
    monkeypatch.setenv("FACECORE_CACHE", os.fspath(cache))
    monkeypatch.setattr(cached, "MEASURE_NOW_UP_TO", 0)
    at = loaded_app(fs, SIMILAR, query_face=0)
    assert at.slider(key="threshold").value == pytest.approx(verdict_threshold(None, len(fs)), abs=1e-3)  # size rule
    assert any("Measuring what a distance means" in c.value for c in at.caption)
    assert not at.get("plotly_chart")  # no distance chart before the distances are measured
    assert at.dataframe[EXACT].value["file"].tolist()  # but the answer is there
    measured_may_end.set()
    assert wait_for_set_results(EncodingStore(cache), fs, timeout=300)
    at.run()
    measured = verdict_threshold(calibrate(fs.encodings, fs.persons), len(fs))
    assert at.slider(key="threshold").value == pytest.approx(measured, abs=1e-3)
    assert not any("Measuring what a distance means" in c.value for c in at.caption)
    assert at.get("plotly_chart")


def test_photos_without_person_folders_get_no_empty_distance_chart(small_faceset) -> None:
    """Photos not sorted into folders named after people: no pair of faces is known to be one person or two, so
    the distance chart (which would draw two flat lines) is replaced by a sentence; the answer stays."""
    import dataclasses

    faces = tuple(dataclasses.replace(f, person=None) for f in small_faceset.faces)
    fs = dataclasses.replace(small_faceset, faces=faces, key="unnamed-" + small_faceset.key)
    at = loaded_app(fs, SIMILAR, query_face=0)
    assert not at.exception, at.exception
    assert not at.get("plotly_chart")
    assert any("not sorted into folders named after people" in c.value for c in at.caption)
    assert at.dataframe[EXACT].value["file"].tolist()
    named = loaded_app(small_faceset, SIMILAR, query_face=0)  # the same photos in their folders: the chart
    assert named.get("plotly_chart")
    assert not any("not sorted into folders named after people" in c.value for c in named.caption)
