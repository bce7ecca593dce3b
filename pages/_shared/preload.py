"""What a page starts loading before it needs it: the chart library in the browser, the heavy modules on the server.

A page's first Plotly chart waits for Streamlit's Plotly bundle (4.7 MB of JavaScript, fetched and
compiled on the chart's arrival: 1-2 s of the browser's one thread on the 100,000-face Clusters page,
measured with Chrome's profiler), and a fresh server's first page run waits for scikit-learn, SciPy and
pandas to import (~1.5 s) before it can fit or read anything. :func:`preload` is called at the top of every
page, before the page reads its photos: in the browser a small component (no iframe, nothing drawn)
imports Streamlit's own Plotly bundle from the server once per browser tab, while the server is still
working; on the server, while the Photos page is shown, a daemon thread imports the heavy modules once per
process (on a page that needs them at once, two threads importing on two busy cores were no faster: the page
imports them itself). Both only start earlier what the page would do anyway; when the bundle's file is not
found (another Streamlit build), nothing is preloaded in the browser.
"""

from __future__ import annotations

import functools
import importlib
import logging
import threading
from pathlib import Path

import streamlit as st

log = logging.getLogger(__name__)

#: Imported on the server in the background, in this order (what the Clusters and Similar faces pages fit and draw
#: with). Libraries only: none of them imports facecore or the pages, so the page's own imports, which wait for these
#: when they need them, can never wait in a circle with this thread.
HEAVY_MODULES = ("sklearn.decomposition", "sklearn.cluster", "scipy.sparse", "pandas", "plotly.graph_objects")

_JS = """
export default function ({ data }) {
  const url = data && data.bundle;
  if (!url || window.__facecorePreloaded) return;
  window.__facecorePreloaded = true;
  // The same address the page's own lazy import resolves to: the module is fetched and compiled once.
  const start = () => import(new URL(url, document.baseURI).href).catch(() => {});
  if ("requestIdleCallback" in window) requestIdleCallback(start, { timeout: 300 }); else setTimeout(start, 0);
}
"""

#: The component draws nothing: its place in the sidebar is hidden too (no gap above the menu).
_CSS = ".st-key-facecore_preload { display: none; }"
_component = st.components.v2.component("facecore_preload", js=_JS, css=_CSS, isolate_styles=False)
_started = threading.Event()


@functools.cache
def plotly_bundle() -> str | None:
    """The Plotly bundle's address relative to the app (``static/js/PlotlyChart.<hash>.js``), or None."""
    folder = Path(st.__file__).parent / "static" / "static" / "js"
    found = sorted(folder.glob("PlotlyChart.*.js"))
    return f"static/js/{found[0].name}" if len(found) == 1 else None


def _import_heavy() -> None:
    for name in HEAVY_MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - only a head start: the page imports (and reports) it itself
            log.exception("preloading %s failed", name)


def preload(server: bool = False) -> None:
    """Start the chart library's import in the browser (once per tab) and, with ``server`` (a page that needs none of
    them itself, e.g. the Photos page), the heavy modules' import on the server (once per process)."""
    if server and not _started.is_set():
        _started.set()
        threading.Thread(target=_import_heavy, name="facecore-preload", daemon=True).start()
    if (bundle := plotly_bundle()) is not None:
        with st.sidebar:
            _component(data={"bundle": bundle}, key="facecore_preload")
