"""This session's state: one key per setting, and the page address (URL) that mirrors it.

Per-user state lives only in ``st.session_state``:

- ``LOADED``: this session's :class:`LoadedSet` (face set and where it came from)
- ``JOB``: the encoding job this session follows, if any (see ``pages._shared.jobs``)
- one key per setting in :data:`SETTINGS` (dims, k, nprobe, top, threshold):
  the widget's own key, so the value lives in exactly one place; the page
  address mirrors it, so a link or a reload gives the same view.

Values that arrive from the address are validated here; a bad one is
dropped from the address with a message, never a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import streamlit as st

from facecore import EncoderSettings, FaceSet, max_dims
from facecore import settings as S
from pages._shared.faces_view import EVERY_FACE, article_view, every_face_view
from pages._shared.views import face_label

LOADED, JOB, NOTICE, ERROR = "loaded", "encode_job", "notice", "encode_error"

#: Upper end of the K slider at least (the article uses about 10); larger sets go up to 16 sqrt(n), the
#: largest K the automatic tuning tries.
K_MAX = 50
#: Faces the Clusters and Similar pages need: two to cluster, one more to compare.
MIN_FACES = 3


@dataclass(frozen=True)
class LoadedSet:
    """The photos of one session: the encoded faces, a label saying where they came from, how they were encoded."""

    faceset: FaceSet
    label: str
    settings: EncoderSettings
    #: the server folder (or zip) it was read from; None for uploads and the sample
    folder: str | None = None
    #: seconds the user waited for it: finding the photos, starting the workers, encoding
    waited: float = 0.0
    #: uploaded photos: the token under which the cache remembers them, so a reload reopens them
    token: str | None = None
    #: imported encodings: the key (the file's sha256) that reopens them from the cache
    imported: str | None = None
    #: the set with every photo when some are hidden from it (``faceset`` is then what is kept); else None
    whole: FaceSet | None = None

    @property
    def everything(self) -> FaceSet:
        """The set with its hidden photos too (near-duplicate groups are found, and undone, on it)."""
        return self.whole if self.whole is not None else self.faceset

    @property
    def digests(self) -> tuple[str, ...]:
        """Every photo read (with a face or not, hidden or not): what the cache holds for this set."""
        return self.faceset.digests

    @cached_property
    def largest(self) -> LoadedSet:
        """This set with the largest face of each photo only (:meth:`facecore.FaceSet.largest`: nothing encoded)."""
        return replace(self, faceset=self.faceset.largest(), whole=None if self.whole is None else self.whole.largest())


@dataclass(frozen=True)
class Setting:
    """One user setting: its key (widget, session and address alike), default and parser for address values."""

    key: str
    default: Any
    parse: Callable[[str], Any]


def _positive_int(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 10_000:
        raise ValueError(f"{value} is out of range")
    return value


def _threshold(text: str) -> float:
    value = round(float(text), 2)
    if not 0.3 <= value <= 1.0:
        raise ValueError(f"{value} is out of range")
    return value


SETTINGS = {
    s.key: s
    for s in (
        Setting("dims", S.DEFAULT_DIMS, _positive_int),
        Setting("k", S.DEFAULT_K, _positive_int),
        Setting("nprobe", S.DEFAULT_NPROBE, _positive_int),
        Setting("top", S.DEFAULT_TOP, _positive_int),
        Setting("threshold", S.SAME_PERSON_THRESHOLD, _threshold),
        Setting("people_threshold", S.PEOPLE_THRESHOLD, _threshold),  # the People page clamps it to 0.3-0.7
    )
}

#: Widgets whose value should survive a visit to another page (file uploaders cannot be set, so not them).
KEPT_WIDGETS = (
    *SETTINGS, "detector", "all_faces", "folder_path", "scatter_3d", "scatter_view", "gallery_cluster", "query_source",
    "query_face", "query_search", "people_person", "people_page",
)

#: Address keys naming the loaded server folder and how it was encoded, and the query face.
URL_FOLDER, URL_UPLOAD, URL_IMPORTED = "folder", "upload", "imported"
URL_DETECTOR, URL_FACES, URL_FACE = "detector", "faces", "face"
URL_KEYS = (URL_FOLDER, URL_UPLOAD, URL_IMPORTED, URL_DETECTOR, URL_FACES, URL_FACE, *SETTINGS)


def loaded() -> LoadedSet | None:
    """This session's photos, or None before any were loaded."""
    return st.session_state.get(LOADED)


def keep_widget_state() -> None:
    """Keep the values of :data:`KEPT_WIDGETS` while another page is shown.

    Streamlit drops a widget's state at the end of a run that does not draw
    it; assigning the value to its key on every run prevents that.
    """
    for key in KEPT_WIDGETS:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def clamp(value: int | float, lo: int | float, hi: int | float) -> int:
    return int(min(max(value, lo), hi))


def dims_range(n_faces: int) -> tuple[int, int]:
    return 2, max(2, max_dims(n_faces))


def k_range(n_faces: int) -> tuple[int, int]:
    return 2, max(2, min(n_faces, max(K_MAX, min(n_faces // 2, int(16 * n_faces**0.5)))))


def setting(key: str, lo: float | None = None, hi: float | None = None) -> Any:
    """The session's value of a setting (its default before it is set), kept within ``lo``…``hi`` and stored."""
    value = st.session_state.get(key, SETTINGS[key].default)
    if lo is not None and hi is not None:
        value = clamp(value, lo, hi) if isinstance(SETTINGS[key].default, int) else min(max(value, lo), hi)
    st.session_state[key] = value
    return value


def model_params(n_faces: int) -> tuple[int, int]:
    """This session's (dims, k), defaulting to the article's 20 and 10 and clamped to what ``n_faces`` allows."""
    return setting("dims", *dims_range(n_faces)), setting("k", *k_range(n_faces))


def clear_url() -> None:
    """Remove the loaded set's keys from the page address."""
    for key in URL_KEYS:
        if key in st.query_params:
            del st.query_params[key]


def write_url() -> None:
    """Name the loaded server folder, its encoder settings and the settings in the page address."""
    ds = loaded()
    job = st.session_state.get(JOB)
    folder = ds.folder if ds is not None else getattr(job, "folder", None)
    token = ds.token if ds is not None else None
    imported = ds.imported if ds is not None else None
    settings = ds.settings if ds is not None else getattr(job, "settings", None)
    want: dict[str, str] = {}
    if imported:  # the faces' view too: read_url takes it from the address for imported encodings as well
        want = {URL_IMPORTED: imported, URL_FACES: "all" if every_face_view() else "largest"}
    elif (folder or token) and settings is not None:
        want = {URL_FOLDER: folder} if folder else {URL_UPLOAD: token}
        want |= {URL_DETECTOR: settings.detector, URL_FACES: "all" if every_face_view() else "largest"}
    if want:
        want |= {key: str(st.session_state[key]) for key in SETTINGS if key in st.session_state}
        row = st.session_state.get("query_face")
        shown = article_view(ds).faceset if ds is not None else None  # the query face is a row of that view
        if shown is not None and isinstance(row, int) and 0 <= row < len(shown):
            want[URL_FACE] = face_label(shown.faces[row])
    params = st.query_params
    for key in URL_KEYS:
        if key in want and params.get(key) != want[key]:
            params[key] = want[key]
        elif key not in want and key in params:
            del params[key]


@dataclass(frozen=True)
class UrlRequest:
    """What the page address asks to load: a server folder, or uploaded photos the cache remembers (a token),
    with the encoder settings."""

    folder: str | None
    token: str | None
    settings: EncoderSettings
    imported: str | None = None


def read_url() -> UrlRequest | None:
    """The folder the page address asks for, once per session, with its settings taken into the session.

    Settings with a bad value are dropped from the address with a notice;
    the folder itself is checked by the caller (allowed roots).
    """
    params = st.query_params
    folder, token, imported = params.get(URL_FOLDER), params.get(URL_UPLOAD), params.get(URL_IMPORTED)
    asked = folder or token or imported
    if not asked or loaded() is not None or st.session_state.get(JOB) or st.session_state.get("url_read"):
        return None
    st.session_state["url_read"] = True  # once per session: a failure is not retried on every rerun
    bad = []
    for key, spec in SETTINGS.items():
        if key in params:
            try:
                st.session_state[key] = spec.parse(params[key])
            except ValueError:
                bad.append(key)
                del params[key]
    if URL_FACE in params:
        st.session_state["query_face_name"] = params[URL_FACE]  # a row once the photos are loaded
    detector = params.get(URL_DETECTOR, EncoderSettings.detector)
    if detector not in S.DETECTORS:
        bad.append(URL_DETECTOR)
        detector = EncoderSettings.detector
    if bad:
        st.session_state[NOTICE] = f"The page address had values that cannot be used ({', '.join(bad)}): ignored."
    st.session_state[EVERY_FACE] = params.get(URL_FACES) == "all"  # the view: every face is encoded either way
    return UrlRequest(folder, token, EncoderSettings(detector=detector, all_faces=True), imported)


def resolve_query_name() -> None:
    """Turn a query face named by the page address into its row, once the photos are loaded."""
    ds = loaded()
    name = st.session_state.get("query_face_name")
    if ds is None or name is None:
        return
    del st.session_state["query_face_name"]
    row = next((i for i, f in enumerate(article_view(ds).faceset.faces) if face_label(f) == name), None)
    if row is None:
        st.session_state[NOTICE] = f"The face named in the page address ({name[:200]}) is not among these photos."
    else:
        st.session_state["query_face"] = row
