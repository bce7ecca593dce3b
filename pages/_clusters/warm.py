"""What a restarted server prepares for the set it read ahead, before a browser asks: the Clusters page's first
drawing at the article's settings.

``python app.py`` reads the set opened last into memory in a thread once the server answers (app.py,
:func:`facecore.read_last_opened`); :func:`first_drawing` then computes, in the same thread, what that page's
first run would otherwise compute while the browser waits: the page's modules, the cache file's counts, and,
when the set's fits and map are kept in the cache file (read, never fitted or mapped here), the PCA and K-means
model and the similarity map. Each goes in the Streamlit cache the page reads; a page asking
meanwhile waits for the value being computed instead of computing it twice. A fresh server's first Clusters
drawing at 100,000 faces, opened 5 s after the start: 2.98 s instead of 3.45 s (median of 5, alternated;
BENCHMARKS.md 16d). Other settings and pages compute as before.
"""

from __future__ import annotations

import importlib
import logging
import threading
from contextlib import contextmanager

from facecore import FaceSet, kept_faceset_map, model_kept
from facecore import settings as S
from pages._clusters.maps import map_job_for
from pages._shared.cached import cache_stats, model_for, store
from pages._shared.state import clamp, dims_range, k_range

#: The Clusters page's modules not imported here already: imported ahead of its first run.
PAGE_MODULES = ("pages._clusters.charts", "pages._clusters.explain", "pages._clusters.hover",
                "pages._clusters.scatter", "pages._clusters.tables", "pages._shared.frame", "pages._shared.widgets",
                "pages._similar.cached")  # fmt: skip

#: The logger of Streamlit's "missing ScriptRunContext" warning, which its spinners log outside a page's run.
_CONTEXT_LOG = "streamlit.runtime.scriptrunner_utils.script_run_context"


class _NotThisThread(logging.Filter):
    """Drops the log records of one thread (the warnings a cache's spinner logs when no page runs)."""

    def __init__(self, thread: int) -> None:
        super().__init__()
        self.thread = thread

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread != self.thread


@contextmanager
def _no_page_warnings():
    """Outside a page's run a cached function's spinner has nobody to show it to and says so in the server's log
    ("missing ScriptRunContext! This warning can be ignored…"): this thread's such warnings are left out."""
    log, quiet = logging.getLogger(_CONTEXT_LOG), _NotThisThread(threading.get_ident())
    log.addFilter(quiet)
    try:
        yield
    finally:
        log.removeFilter(quiet)


def first_drawing(fs: FaceSet) -> bool:
    """Compute and keep what the Clusters page's first run for ``fs`` at the article's settings reads (see the
    module's docstring); False when its fits are not kept (then only the modules and the counts are prepared).
    Errors propagate: the caller logs them, and the page computes and reports them itself."""
    for name in PAGE_MODULES:
        importlib.import_module(name)
    from streamlit import delta_generator

    # A process's first element looks once whether Streamlit runs in a REPL, through the whole stack of the
    # page's run (inspect.stack: 0.05-0.09 s of the first drawing here); looked here, through this thread's short
    # one. Private to Streamlit: nothing is done when it is gone.
    getattr(delta_generator, "_maybe_print_use_warning", lambda: None)()
    dims = clamp(S.DEFAULT_DIMS, *dims_range(len(fs)))
    k = clamp(S.DEFAULT_K, *k_range(len(fs)))
    with _no_page_warnings():
        cache = store()
        cache_stats(str(cache.path), cache.stamp())
        if not model_kept(cache, fs.key, dims, k, S.DEFAULT_SEED):
            return False  # never grouped at these settings: fitted when a page asks, not at every start
        # No Plotly figure here: Plotly looks into pandas when sys.modules holds it, and a page importing pandas
        # at the same time (the People page, at a start) made that look fail halfway through pandas' import.
        model_for(fs.key, dims, k, fs.encodings)
        kept_map = kept_faceset_map(fs, "tsne", 2, 0, cache)  # MapJob's defaults
        if kept_map is not None:  # its job takes it, not read twice (a set never mapped: mapped when a page asks)
            map_job_for(fs.key, 2, fs, kept_map)
    return True
