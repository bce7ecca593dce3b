"""The similarity map of the Clusters page: one background job per set and view, shared by every session.

facecore computes the map (:class:`facecore.MapJob`, t-SNE in a thread, kept in
the cache file); this module only decides whether the page waits for it and
shows its progress. Up to :data:`MAP_WAIT_UP_TO` faces the page waits (a few
seconds); above, the page draws the PCA axes and a progress line until the
map is ready, and stays usable meanwhile.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from facecore import FaceSet, MapJob
from pages._shared.cached import derived, store
from pages._shared.jobs import duration

#: Up to this many faces the page waits for a new map: 2-D t-SNE took 3.8 CPU s at 2,338 faces and 19.5 at
#: 20,000 (docs/bench/map.txt, one core), so about 8 s of a busy core here; above, the map comes in the background.
MAP_WAIT_UP_TO = 5_000
#: A 3-D map is offered up to this many faces: 3-D t-SNE has no FFT gradient (120 CPU s at 20,000 faces).
MAP_3D_UP_TO = 20_000
#: Seconds between two redraws of the map's progress line.
POLL_S = 1.0


@derived
@st.cache_resource(max_entries=8, show_spinner=False)
def map_job_for(key: str, dims: int, _fs: FaceSet, _kept: np.ndarray | None = None) -> MapJob:
    """The map job of the set ``key`` in ``dims`` (2 or 3): started once per server process, shared by every
    session; a map kept in the cache file comes back from it within a second (``_kept``: already read from it)."""
    return MapJob(_fs, dims=dims, store=store(), kept=_kept).start()


def map_job(fs: FaceSet, dims: int) -> MapJob:
    """The set's map job, waited for when the set is small enough (:data:`MAP_WAIT_UP_TO`)."""
    job = map_job_for(fs.key, dims, fs)
    if job.running and len(fs) <= MAP_WAIT_UP_TO:
        with st.spinner(f"Laying out {len(fs):,} faces so that faces that look alike lie together…"):
            job.wait()
    return job


@st.fragment(run_every=POLL_S)
def map_progress(job: MapJob) -> None:
    """A progress line while the map is computed; the whole page is drawn again once it is ready."""
    if not job.running:
        st.rerun(scope="app")
    step = "finding each face's nearest faces" if job.fraction == 0 else f"{job.fraction:.0%}"
    st.progress(job.fraction, text=f"Drawing the similarity map of {job.n_faces:,} faces ({job.dims}-D): "
                f"{step} after {duration(job.waited)}. Until it is ready the chart shows the PCA "
                "axes; everything else on the page works meanwhile.")  # fmt: skip
