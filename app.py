"""Face finder: the Streamlit entry point. Run with ``python app.py [streamlit options]`` (what ``make app``
does) or ``streamlit run app.py [options]``.

Registers the pages (each draws its own frame: see pages/_shared/frame.py) and keeps
the page address in step with the settings after every run.
"""


def _serve() -> None:
    """``python app.py [options]``: ``streamlit run app.py [options]`` in this process, with the server's first
    session like every other. Streamlit runs a new server's first session in its old pages/ folder mode (pages/
    exists beside this file) until this file has called st.navigation once; in that mode a mistyped page address
    shows a "Page not found" dialog before this file can leave it out (below)."""
    import sys

    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.web import cli

    PagesManager.uses_pages_directory = False
    sys.argv = ["streamlit", "run", __file__, *sys.argv[1:]]
    cli.main()


if __name__ == "__main__":
    # Streamlit runs this file as __main__. Encoding workers are started with
    # multiprocessing's "spawn", which imports the main module again as
    # __mp_main__: for them this file must do nothing.
    from streamlit import runtime

    if not runtime.exists():  # started as a program (python app.py), not by Streamlit's script runner
        raise SystemExit(_serve())  # Streamlit's command line exits by itself; this is never reached
    import streamlit as st
    from streamlit.commands import navigation as _navigation

    from pages._shared.state import write_url
    from pages._shared.widgets import PAGES

    # Streamlit's own menu is hidden (.streamlit/config.toml) and pages/_shared/widgets.py
    # draws the menu instead, so the menu is the same in Streamlit's first-session
    # pages/ folder mode, which would list every file of pages/.
    # No icons here: the browser tab would fetch a page's :material/...: icon from Google's servers.
    # An old or mistyped address (/dataset was the Photos page's) opens the home page, the Photos page:
    # st.navigation already falls back to it, and only Streamlit's "Page not found" dialog is left out.
    _navigation.send_page_not_found = lambda ctx: None
    page = st.navigation(
        [st.Page(p.path, title=p.title, url_path=p.url, default=i == 0) for i, p in enumerate(PAGES)],
        position="hidden",
    )
    try:
        page.run()
    finally:  # also after st.stop()/st.rerun() in a page
        write_url()
