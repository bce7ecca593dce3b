"""Face finder: the Streamlit entry point. Run with ``python app.py [streamlit options]`` (what ``make app``
does) or ``streamlit run app.py [options]``.

Registers the pages (each draws its own frame: see pages/_shared/frame.py) and keeps
the page address in step with the settings after every run.
"""


#: What the pages' first drawings import beyond Streamlit: Plotly and facecore's reading of imported sets, search
#: and map (the Clusters page's first drawing needs no more; the pages that need pandas and SciPy import them, and
#: the Photos page imports them in the background while it is shown: pages/_shared/preload.py). None of them imports
#: the pages, and facecore has no import cycles (tests/test_architecture.py), so a page importing them at the same
#: time waits for this thread's import of a module at most, never in a circle.
SERVER_MODULES = ("numpy", "plotly.graph_objects", "facecore.storage.imported", "facecore.search.index",
                  "facecore.layout.face_map", "facecore.storage.set_fits", "facecore.search.similarity")  # fmt: skip


def _read_ahead() -> str | None:
    """Read the set opened last through the cache file into memory (:func:`facecore.read_last_opened`) when that
    file exists, for the page a restart left open (its address names the set), and prepare the Clusters page's first
    drawing of it (:func:`pages._clusters.warm.first_drawing`); what was done, for the log."""
    import logging

    from facecore import EncodingStore, read_last_opened
    from facecore import settings as S

    path = S.default_cache_path()
    faceset = read_last_opened(EncodingStore(path)) if path.exists() else None
    if faceset is None:
        return None
    try:
        from pages._clusters.warm import first_drawing

        prepared = first_drawing(faceset)  # the Clusters page's first run at the article's settings finds it done
    except Exception:  # noqa: BLE001 - only a head start: the page computes it itself and reports
        logging.getLogger(__name__).exception("preparing the first drawing of the set read ahead failed")
        prepared = False
    return f"{len(faceset):,} faces" + (", and the Clusters page's first drawing" if prepared else "")


def _import_when_ready(ready, modules=SERVER_MODULES, poll_s: float = 0.05, first=_read_ahead) -> list[str]:
    """Wait until ``ready()`` is true, then import ``modules`` and call ``first`` (reading ahead the set opened last:
    a page asking for it while it is read waits for it instead of reading it too); return the modules that failed
    (logged: a page imports and reports them itself). Nothing more: importing the other pages' libraries here ran
    beside a first page opened at once and made it no faster.
    ``python app.py`` runs it in a thread: the server answers browsers first (importing while it started delayed
    that by 0.25 s), then a fresh server's first page run finds these imported (a new server's first Clusters load
    at 100,000 faces: 3.85 s instead of 4.4 s, paired runs) and its set read."""
    import importlib
    import logging
    import time

    while not ready():
        time.sleep(poll_s)
    log = logging.getLogger(__name__)

    failed = []
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - only a head start
            log.exception("importing %s ahead of the first page failed", name)
            failed.append(name)
    try:  # after the first drawing's imports, which are done while the browser starts
        if (what := first()) is not None:
            log.info("read ahead the set opened last: %s", what)
    except Exception as exc:  # noqa: BLE001 - only a head start: the page reads it itself and reports
        log.info("the set opened last was not read ahead: %s", exc)
    return failed


def _serve() -> None:
    """``python app.py [options]``: ``streamlit run app.py [options]`` in this process, with the server's first
    session like every other. Streamlit runs a new server's first session in its old pages/ folder mode (pages/
    exists beside this file) until this file has called st.navigation once; in that mode a mistyped page address
    shows a "Page not found" dialog before this file can leave it out (below)."""
    import sys
    import threading

    from streamlit.runtime import Runtime, RuntimeState
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.web import cli

    PagesManager.uses_pages_directory = False
    answering = lambda: Runtime.exists() and Runtime.instance().state != RuntimeState.INITIAL  # noqa: E731 - /_stcore/health's test
    threading.Thread(target=_import_when_ready, args=(answering,), name="facecore-imports", daemon=True).start()
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
