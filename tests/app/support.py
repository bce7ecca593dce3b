"""What the AppTests of every page share: the app, a session with a face set loaded, a finished job."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from facecore import EncoderSettings

APP = Path(__file__).resolve().parents[2] / "app.py"
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
