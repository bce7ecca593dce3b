"""The background encoding job: started by the Dataset page or a link, followed by every page until it ends.

A job (:class:`facecore.encode.job.EncodeJob`) finds and encodes one set of
photos in a thread, so pages stay responsive and show progress. What happens when its session ends: the job
runs to the end, writing every photo into the encoding cache, and nobody
adopts the result; the next visit to the same folder (or the same link) finds
the photos in the cache. Jobs are shared by source: a second session (a
reload, another tab) asking for the same folder and settings while it runs
follows the same job instead of encoding the photos twice.
"""

from __future__ import annotations

import dataclasses
import threading
import weakref
from dataclasses import replace

import streamlit as st

from facecore import (
    Collect,
    EncodeJob,
    EncoderSettings,
    FaceCoreError,
    FaceSet,
    check_folder,
    hidden_digests,
    imported_key,
    imported_sets,
    load_imported,
    open_saved_set,
    remember_opened,
    scan_folder,
    set_read_ahead,
)
from pages._shared import state as _state
from pages._shared.cached import store
from pages._shared.roots import allowed_roots

#: How long a reload waits for a folder from the address before drawing the page (a cached folder takes ~1 s).
RESTORE_WAIT_S = 8.0
#: Seconds between two redraws of the progress while a job runs (each redraw is a rerun and a browser repaint,
#: on the cores that encode).
POLL_S = 1.0


_loaded_sets: weakref.WeakValueDictionary[str, FaceSet] = weakref.WeakValueDictionary()
_loaded_lock = threading.Lock()


def shared(fs: FaceSet) -> FaceSet:
    """The one in-memory copy of this set: sessions that load the same photos (same ``FaceSet.key``) share
    it instead of each holding its own encodings (51 MB at 100,000 faces). Freed when no session holds it."""
    with _loaded_lock:
        kept = _loaded_sets.setdefault(fs.key, fs)
    if kept is fs:
        return fs
    # the same faces and encodings (shared, not copied), with this load's own counts: a reload that read every
    # photo from the cache says so ("Opened in"), not what another session's encoding did
    return dataclasses.replace(kept, seconds=fs.seconds, encoded=fs.encoded, cached=fs.cached, stopped=fs.stopped)


_running: dict[tuple, EncodeJob] = {}  # (folder, settings key, reopen_old) -> the job encoding it, for every session
_running_lock = threading.Lock()


def start_job(
    label: str, settings: EncoderSettings, collect: Collect, folder: str | None = None, remember: bool = False,
    reopen_old: bool = True,
) -> EncodeJob:
    """Encode a set for this session (one job at a time); a folder already being encoded is followed, not redone.
    ``remember``: record the set in the cache so that a reload of the page opens it again (uploads).
    ``reopen_old``: photos cached before every face was kept reopen as they were (largest face per photo)."""
    st.session_state.pop(_state.ERROR, None)
    with _running_lock:
        key = (folder, settings.key, reopen_old) if folder else None
        job = _running.get(key) if key else None
        if job is None or not job.running:
            job = EncodeJob(label, settings, store(), collect, folder, remember, reopen_old).start()
            if key:
                _running[key] = job
    st.session_state[_state.JOB] = job
    return job


def start_folder_job(folder: str, settings: EncoderSettings, reopen_old: bool = True) -> EncodeJob:
    """Check ``folder`` against the allowed roots and encode it; raises FaceCoreError with a message to show."""
    roots = allowed_roots()
    path = check_folder(folder, roots)
    return start_job(f"{path.name} (folder)", settings, lambda stop: scan_folder(path, roots, stop), str(path),
                     reopen_old=reopen_old)  # fmt: skip


def adopt_finished_job() -> None:
    """Move a finished job's set (or error) into the session; called at the start of every page."""
    job: EncodeJob | None = st.session_state.get(_state.JOB)
    if job is None or job.running:
        return
    del st.session_state[_state.JOB]
    if job.error:
        st.session_state[_state.ERROR] = job.error
    if job.faceset is not None:
        forget_query()
        st.session_state[_state.LOADED] = keep_out_hidden(
            _state.LoadedSet(shared(job.faceset), job.label, job.settings, job.folder, job.waited, job.token)
        )


def keep_out_hidden(loaded: _state.LoadedSet) -> _state.LoadedSet:
    """``loaded`` with the photos hidden from it in the cache left out of its set (``whole`` then keeps every
    photo): what every page counts, searches and groups. Call it on a set just loaded or just re-hidden."""
    whole = loaded.everything
    kept = whole.without(hidden_digests(store(), whole.digests))
    if kept is whole:
        return replace(loaded, faceset=whole, whole=None)
    return replace(loaded, faceset=shared(kept), whole=whole)


def forget_query() -> None:
    """Drop the query of the previous set (a face of one set means nothing in another)."""
    for key in ("query_face", "scatter_last_pick"):
        st.session_state.pop(key, None)


def restore_from_url() -> None:
    """After a reload (a new session), load the folder named in the page address again.

    The folder passes the same allowed-roots check as a typed one. A cached
    folder is back within about a second; one still to be encoded (a first
    visit, or an encode the server did not finish) keeps encoding in the
    background, continuing from the photos already in the cache.
    """
    request = _state.read_url()
    if request is None:
        return
    if request.token or request.imported:
        _reopen_from_cache(request)
        return
    try:
        job = start_folder_job(request.folder, request.settings)
    except FaceCoreError as exc:  # shown on every page (a link may point to any of them)
        st.session_state[_state.NOTICE] = f"The folder in the page address was not loaded. {exc}"
        _state.clear_url()
        return
    st.session_state.update(folder_path=job.folder, detector=job.settings.detector)  # the view came with the address
    job.wait(RESTORE_WAIT_S)
    adopt_finished_job()


def _reopen_from_cache(request: _state.UrlRequest) -> None:
    """Uploaded photos (a token) or imported encodings (a key) named by the address, from the cache alone."""
    try:
        if request.imported:
            loaded = imported_in_session(_open_import(request.imported), request.imported)
        else:
            label, fs = open_saved_set(store(), request.token, request.settings)
            fs = shared(fs)
            # uploads saved in an older face mode reopen as they were encoded
            settings = next(s for s in request.settings.reopenable() if s.key == fs.settings_key)
            loaded = keep_out_hidden(_state.LoadedSet(fs, label, settings, token=request.token))
    except FaceCoreError as exc:
        st.session_state[_state.NOTICE] = f"The photos in the page address were not loaded. {exc}"
        _state.clear_url()
        return
    st.session_state[_state.LOADED] = loaded
    st.session_state.update(detector=loaded.settings.detector)


def _open_import(key: str) -> FaceSet:
    """An imported set by its key (or a prefix): the copy another session has open when there is one (a new
    session on a warm server skips 2-5 s of reading 10^5 faces), else read from the cache file. Only while
    the cache still lists it: a set deleted by one session is not handed to the next."""
    listed = [info.key for info in imported_sets(store()) if info.key.startswith(key)]
    if len(listed) == 1:
        with _loaded_lock:
            for fs in list(_loaded_sets.values()):
                if (mine := imported_key(fs)) and listed[0].startswith(mine):  # the set's key is a prefix
                    return fs
        if (ahead := set_read_ahead(store(), listed[0])) is not None:  # read by a new server before it was asked
            return shared(ahead)
    return shared(load_imported(store(), key))


def imported_label(fs) -> str:
    """How an imported set is named on screen."""
    return f"{len(fs):,} imported encodings"


def imported_in_session(fs: FaceSet, key: str | None = None) -> _state.LoadedSet:
    """An imported set as a session's photos (the photos hidden from it left out; ``key``: what its address names
    it by, default its own key), remembered in the cache file as the set opened last: a restarted app reads it
    back before a page asks for it (:func:`facecore.read_last_opened`)."""
    own = imported_key(fs)
    assert own is not None, "an imported set"
    remember_opened(store(), "imported", own)
    return keep_out_hidden(_state.LoadedSet(fs, imported_label(fs), EncoderSettings(), imported=key or own))


def progress_text(job: EncodeJob) -> tuple[float, str]:
    """Fraction done and a one-line status, e.g. "40 of 108 photos · 12 from the cache · 38 faces · 9.5 photos/s"."""
    p = job.progress
    if p is None or p.total == 0:
        return 0.0, job.phase
    parts = [f"{p.done:,} of {p.total:,} photos", f"{p.cached:,} from the cache", f"{p.faces:,} faces"]
    if p.rate:
        parts.append(f"{p.rate:.1f} photos/s")
    if job.stopping:
        parts.append("stopping…")
    elif p.eta is not None and p.done < p.total:
        parts.append(f"about {duration(p.eta)} left")
    elif p.done < p.total:  # the rate is measured after a warm-up (facecore.Progress)
        parts.append("estimating the time left…")
    return p.done / p.total, " · ".join(parts)


def duration(seconds: float) -> str:
    """A duration in plain words: "45 s", "2 min 05 s"."""
    seconds = max(0, round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


@st.fragment(run_every=POLL_S)
def progress_panel(with_stop: bool = True) -> None:
    """The running job's progress, redrawn every ``POLL_S`` seconds; the whole page reruns once it ends."""
    job: EncodeJob | None = st.session_state.get(_state.JOB)
    if job is None:
        return
    if not job.running:
        st.rerun(scope="app")  # adopt the result: every page changes
    fraction, text = progress_text(job)
    st.progress(fraction, text=f"Encoding {job.label}: {text}")
    if with_stop:
        st.button("Stop", key="stop_encoding", on_click=job.stop, icon=":material/stop_circle:",
                  help="Photos finished so far are kept in the cache; encode again later to continue.")  # fmt: skip
        st.caption(
            "You can switch pages or close this tab: the encoding finishes on this server and every photo goes "
            "into the cache, so opening the same folder (or this page's address) again picks it up."
        )
