"""Face finder: the Streamlit entry point. Run with ``streamlit run app.py``.

Registers the pages, picks up a finished encoding job and draws the shared
sidebar (dataset status, cache location); the pages do the rest.
"""

import streamlit as st

from pages._common import (
    CLUSTERS_PAGE,
    DATASET_PAGE,
    FAVICON,
    SIMILAR_PAGE,
    adopt_finished_job,
    keep_widget_state,
    render_sidebar,
    restore_from_url,
    write_url,
)

st.set_page_config(page_title="Face finder", page_icon=FAVICON, layout="wide")

# Page files are named *_page.py so that their url paths (dataset, clusters,
# similar) differ from the file names: Streamlit still runs a fresh process's
# first script run (and every AppTest run) in its old pages/-folder mode, where
# pages/clusters.py would own the url "clusters" and run without this script
# (no sidebar, no page config).

page = st.navigation(
    [
        st.Page(DATASET_PAGE, title="Dataset", icon=":material/photo_library:", url_path="dataset", default=True),
        st.Page(CLUSTERS_PAGE, title="Clusters", icon=":material/bubble_chart:", url_path="clusters"),
        st.Page(SIMILAR_PAGE, title="Similar faces", icon=":material/person_search:", url_path="similar"),
    ]
)
keep_widget_state()
adopt_finished_job()
restore_from_url()  # the loaded folder lives in the page address, so a reload brings it back
render_sidebar()
try:
    page.run()
finally:  # also after st.stop()/st.rerun() in a page
    write_url()
