"""What every page does first: page settings, picking up a finished job or a folder from the address, the sidebar.

Each page script calls :func:`frame` at its top. That keeps the pages
identical however Streamlit runs them: through ``st.navigation`` in app.py,
or directly (Streamlit runs a new server's very first session in its old
``pages/`` folder mode, where app.py does not wrap the page).
"""

from __future__ import annotations

import streamlit as st

from pages._shared import auth as _auth
from pages._shared import state as _state
from pages._shared.jobs import adopt_finished_job, restore_from_url
from pages._shared.preload import preload
from pages._shared.widgets import FAVICON, sidebar


def frame(title: str) -> None:
    """Set up the page called ``title``: config, kept widget values, job and address pick-up, sidebar.

    The page address is written again at the end of the run (app.py) and by
    the settings' widgets; see :mod:`pages._shared.state`.
    """
    st.set_page_config(page_title=f"{title} · Face finder", page_icon=FAVICON, layout="wide")
    _auth.password_gate()  # a demo with a password in secrets.toml shows nothing else until it is given
    preload(server=title == "Photos")  # the chart library in the browser while the set is read; see preload.py
    _state.keep_widget_state()
    adopt_finished_job()
    restore_from_url()  # the loaded folder lives in the page address, so a reload brings it back
    _state.resolve_query_name()
    _state.write_url()  # settings changed by the last interaction (app.py writes it again after the page)
    sidebar(progress=title != "Photos")  # the Photos page shows the progress itself
    if notice := st.session_state.pop(_state.NOTICE, None):
        st.warning(notice, icon=":material/link_off:")
