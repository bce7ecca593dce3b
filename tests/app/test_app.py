"""The app as a whole through Streamlit's AppTest: empty states, separate sessions, settings kept across pages,
the page address.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from facecore import EncoderSettings
from tests.app.support import CLUSTERS, DATASET, SIMILAR, loaded_app, new_app, sidebar_text


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


def test_a_reload_loads_the_folder_in_the_address_again(allow_small_dataset: Path, small_every) -> None:
    at = new_app()
    at.query_params.update(folder=os.fspath(allow_small_dataset), dims="7", k="4", faces="largest")
    at.run()  # a reload: a new session whose address names the folder
    assert not at.exception, at.exception
    ds = at.session_state["loaded"]
    assert ds.faceset.key == small_every.key  # every face, from the cache (no encoding); "largest" is the view
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


def test_python_app_imports_what_the_pages_need_once_the_server_answers() -> None:
    """`python app.py` imports the pages' libraries in a thread once the server answers (not before: the server
    would start later); run here in a new process, where none of them is imported yet."""
    import subprocess
    import sys
    from pathlib import Path

    code = """
import sys, app
asked = []
def ready():
    asked.append("pandas" in sys.modules)  # nothing imported while the server is not answering
    return len(asked) == 3
failed = app._import_when_ready(ready, poll_s=0, first=lambda: None)
assert asked == [False, False, False], asked
assert failed == [], failed
assert all(name in sys.modules for name in app.SERVER_MODULES)
order = []
failing = lambda: order.append("read") or 1 / 0
assert app._import_when_ready(lambda: True, ("json", "no_such_module_here"), first=failing) == ["no_such_module_here"]
assert order == ["read"]  # a failed reading ahead is only logged
print("ok")
"""
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
