"""What the pages share: cached getters at the page/core edge, the background encoding job, the sidebar.

Per-user state lives only in ``st.session_state``:

- ``dataset``: this session's :class:`LoadedDataset` (face set and where it came from)
- ``encode_job``: the :class:`EncodeJob` running for this session, if any
- ``dims``, ``k``: the model parameters chosen on the Clusters page
- ``query_face``: index of the dataset face used as the query (set by a scatter click too)

``st.cache_data`` is shared by every session, so its functions are keyed only
by content digests (``FaceSet.key``, photo sha256) and receive bulky data as
``_underscored`` arguments that are not hashed. A second user gets a cached
result only for exactly the same photos, which they already have.
"""

from __future__ import annotations

import io
import logging
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import streamlit as st
from PIL import Image
from sklearn.decomposition import PCA

from facecore import (
    EncodedImage,
    EncoderSettings,
    EncodingStore,
    Evaluation,
    FaceCoreError,
    FaceSet,
    ImageRef,
    Progress,
    Skipped,
    encode_images,
    encode_query,
    evaluate,
    fit_model,
    fit_pca,
    load_models,
    scan_folder,
    suggest_k,
)
from facecore import settings as S
from facecore.app_support import cluster_summary, hover_image_uris, thumb_keys
from facecore.reduce import max_dims
from facecore.similarity import SimilarityModel
from facecore.sources import allowed_roots_from_env, check_folder

log = logging.getLogger(__name__)

DATASET_PAGE = "pages/dataset_page.py"
CLUSTERS_PAGE = "pages/clusters_page.py"
SIMILAR_PAGE = "pages/similar_page.py"

#: Upper end of the K slider (the article uses about 10).
K_MAX = 50
#: Faces the Clusters and Similar pages need: two to cluster, one more to compare.
MIN_FACES = 3
#: Image types the uploaders accept (zip archives are added where allowed).
UPLOAD_TYPES = sorted(ext.lstrip(".") for ext in S.IMAGE_EXTENSIONS)


# --------------------------------------------------------------------------- session data


@dataclass(frozen=True)
class LoadedDataset:
    """The dataset of one session: its faces, a label saying where it came from, and its cache digests."""

    faceset: FaceSet
    label: str
    settings: EncoderSettings
    digests: tuple[str, ...]
    #: the server folder (or zip) it was read from; None for uploads and the sample
    folder: str | None = None


Collect = Callable[[Callable[[], bool]], tuple[list[ImageRef], list[Skipped]]]


class EncodeJob:
    """Find and encode one dataset in a background thread, so the page can show progress and a Stop button.

    ``collect(should_stop)`` returns the images to encode (folder scan, uploads,
    LFW download). The thread never calls Streamlit; the page polls
    :attr:`progress` and reads :attr:`result` or :attr:`error` once it ends.
    Navigating to another page does not stop it.
    """

    def __init__(
        self, label: str, settings: EncoderSettings, store: EncodingStore, collect: Collect, folder: str | None = None
    ) -> None:
        self.label = label
        self.folder = folder
        self.settings = settings
        self.phase = "Looking for photos…"
        self.progress: Progress | None = None
        self.result: LoadedDataset | None = None
        self.error: str | None = None
        self._store = store
        self._collect = collect
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"encode {label}", daemon=True)

    def start(self) -> EncodeJob:
        self._thread.start()
        return self

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def stop(self) -> None:
        """Ask the job to stop; photos already encoded are kept (and cached)."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job ends (or ``timeout`` seconds); return True if it ended."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        try:
            refs, skipped = self._collect(self._stop.is_set)
            if not refs:
                self.error = f"No photos found in {self.label}: {_skip_summary(skipped)}"
                return
            self.phase = f"Encoding {len(refs):,} photos…"
            faceset = encode_images(
                refs,
                self.settings,
                self._store,
                skipped=skipped,
                on_progress=self._on_progress,
                should_stop=self._stop.is_set,
            )
            self.result = LoadedDataset(faceset, self.label, self.settings, faceset.digests, self.folder)
        except FaceCoreError as exc:
            self.error = str(exc)
        except Exception as exc:  # a thread that dies silently would leave the page waiting forever
            log.exception("encoding %s failed", self.label)
            self.error = f"Encoding failed unexpectedly ({type(exc).__name__}: {exc}). The server log has details."

    def _on_progress(self, progress: Progress) -> None:
        self.progress = progress


def _skip_summary(skipped: Sequence[Skipped]) -> str:
    if not skipped:
        return "it holds no files with a photo extension (.jpg, .png, …)."
    counts = Counter(s.reason for s in skipped)
    shown = ", ".join(f"{n} {reason}" for reason, n in counts.most_common())
    return f"{len(skipped)} files skipped ({shown})."


def start_job(label: str, settings: EncoderSettings, collect: Collect, folder: str | None = None) -> EncodeJob:
    """Start encoding a dataset for this session (one job at a time); ``folder`` names a server folder source."""
    st.session_state.pop("encode_error", None)
    job = EncodeJob(label, settings, store(), collect, folder).start()
    st.session_state["encode_job"] = job
    return job


def adopt_finished_job() -> None:
    """Move a finished job's dataset (or error) into the session; called on every run by app.py."""
    job: EncodeJob | None = st.session_state.get("encode_job")
    if job is None or job.running:
        return
    del st.session_state["encode_job"]
    if job.error:
        st.session_state["encode_error"] = job.error
    if job.result is not None:
        forget_query()
        st.session_state["dataset"] = job.result


#: URL query keys naming the loaded server folder and how it was encoded, so that
#: reloading the page (a new Streamlit session) loads it again from the cache.
URL_FOLDER, URL_DETECTOR, URL_FACES = "folder", "detector", "faces"
#: ... and the PCA dimension and K the pages use
URL_DIMS, URL_K = "dims", "k"
URL_KEYS = (URL_FOLDER, URL_DETECTOR, URL_FACES, URL_DIMS, URL_K)
#: How long a reload waits for the folder before drawing the page (a cached folder takes about a second).
RESTORE_WAIT_S = 8.0


def clear_url() -> None:
    """Remove the dataset's keys from the page address."""
    for key in URL_KEYS:
        if key in st.query_params:
            del st.query_params[key]


def write_url() -> None:
    """Name the loaded server folder, its encoder settings, dims and K in the page address (app.py, after the page)."""
    params = st.query_params
    ds: LoadedDataset | None = st.session_state.get("dataset")
    if ds is None:
        return
    want = {}
    if ds.folder:
        want = {
            URL_FOLDER: ds.folder,
            URL_DETECTOR: ds.settings.detector,
            URL_FACES: "all" if ds.settings.all_faces else "largest",
        }
        want |= {key: str(st.session_state[key]) for key in (URL_DIMS, URL_K) if key in st.session_state}
    for key in URL_KEYS:
        if key in want and params.get(key) != want[key]:
            params[key] = want[key]
        elif key not in want and key in params:
            del params[key]


def restore_from_url() -> None:
    """After a reload (a new session), load the folder named in the page address again (app.py, before the page).

    The folder passes the same allowed-roots check as a typed one. A cached
    folder is back within about a second; one still to be encoded keeps
    encoding in the background, with its progress on the Dataset page.
    """
    params = st.query_params
    if st.session_state.get("dataset") is not None:
        return
    folder = params.get(URL_FOLDER)
    if not folder or st.session_state.get("encode_job") is not None or st.session_state.get("url_restore_tried"):
        return
    st.session_state["url_restore_tried"] = True  # once per session: a failure is not retried on every rerun
    detector = params.get(URL_DETECTOR, "hog")
    settings = EncoderSettings(detector=detector if detector in S.DETECTORS else "hog",
                               all_faces=params.get(URL_FACES) == "all")  # fmt: skip
    roots = allowed_roots_from_env()
    try:
        path = check_folder(folder, roots)
    except FaceCoreError as exc:
        st.session_state["encode_error"] = f"The folder in the page address was not loaded. {exc}"
        clear_url()
        return
    st.session_state.update(folder_path=str(path), detector=settings.detector, all_faces=settings.all_faces)
    for key in (URL_DIMS, URL_K):  # clamped to what the dataset allows where they are used
        value = params.get(key, "")
        if value.isdigit():
            st.session_state[key] = int(value)
    job = start_job(f"{path.name} (folder)", settings, lambda stop: scan_folder(path, roots, stop), str(path))
    job.wait(RESTORE_WAIT_S)
    adopt_finished_job()


def forget_query() -> None:
    """Drop the query of the previous dataset (its face index means nothing in a new one)."""
    for key in ("query_face", "query_face_select", "scatter_last_pick"):
        st.session_state.pop(key, None)


def forget_dataset() -> None:
    """Remove this session's dataset and every in-memory result derived from it."""
    st.session_state.pop("dataset", None)
    forget_query()
    clear_url()  # a reload must not load it again
    # The cached PCA/K-means results hold encodings and the thumbnails are face
    # crops: drop them from memory too, not only from the cache file. This
    # clears other sessions' entries as well, which only costs them a refit.
    for fn in (pca_for, model_for, k_hint_for, summary_for, thumbs_for, query_for, hover_images_for, quality_for):
        fn.clear()


def progress_text(job: EncodeJob) -> tuple[float, str]:
    """Fraction done and a one-line status, e.g. "40 of 108 photos · 12 from the cache · 38 faces · about 25 s left"."""
    p = job.progress
    if p is None or p.total == 0:
        return 0.0, job.phase
    parts = [f"{p.done:,} of {p.total:,} photos", f"{p.cached:,} from the cache", f"{p.faces:,} faces"]
    if job.stopping:
        parts.append("stopping…")
    elif p.eta is not None and p.done < p.total:
        parts.append(f"about {_duration(p.eta)} left")
    return p.done / p.total, " · ".join(parts)


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


# --------------------------------------------------------------------------- cached getters


@st.cache_resource
def _store(path: str) -> EncodingStore:
    return EncodingStore(path)


def store() -> EncodingStore:
    """The encoding cache at ``$FACECORE_CACHE`` (or the default path), opened once per process."""
    return _store(str(S.default_cache_path()))


@st.cache_resource(show_spinner="Loading the face models…")
def face_models() -> object:
    """dlib's detector and encoder, loaded once per server process for query photos."""
    return load_models()


@st.cache_data(max_entries=8, show_spinner=False)
def pca_for(key: str, _encodings: np.ndarray) -> PCA:
    """The full PCA of a face set; ``key`` is its ``FaceSet.key``."""
    return fit_pca(_encodings)


@st.cache_data(max_entries=64, show_spinner="Clustering…")
def model_for(key: str, dims: int, k: int, _encodings: np.ndarray) -> SimilarityModel:
    """PCA to ``dims`` + K-means with ``k`` clusters; the PCA is fitted once per set and sliced."""
    return fit_model(_encodings, dims, k, seed=S.DEFAULT_SEED, pca=pca_for(key, _encodings))


@st.cache_data(max_entries=16, show_spinner="Scoring K = 2 … 30 (silhouette)…")
def k_hint_for(key: str, dims: int, k: int, k_max: int, _reduced: np.ndarray) -> list[tuple[int, float]]:
    """Silhouette score per K for the reduced faces (``k`` only names the model in the key)."""
    return suggest_k(_reduced, range(2, min(30, k_max) + 1))


@st.cache_data(max_entries=32, show_spinner="Searching with every face as the query…")
def quality_for(
    key: str, dims: int, k: int, nprobe: int, top: int, _faceset: FaceSet, _model: SimilarityModel
) -> Evaluation:
    """Leave-one-out retrieval quality of the model ``(key, dims, k)``, folders taken as identities."""
    return evaluate(_model, _faceset.persons, top=top, nprobe=nprobe)


@st.cache_data(max_entries=64, show_spinner=False)
def summary_for(key: str, dims: int, k: int, _faceset: FaceSet, _model: SimilarityModel):
    """One row per cluster (size, main person) for the model ``(key, dims, k)``."""
    return cluster_summary(_faceset, _model)


@st.cache_data(max_entries=512, show_spinner=False)
def thumbs_for(cache_path: str, settings_key: str, keys: tuple[tuple[str, int], ...]) -> dict[tuple[str, int], bytes]:
    """JPEG face crops for ``(photo digest, face index)`` keys, from the cache file."""
    return _store(cache_path).thumbnails(keys, settings_key)


@st.cache_data(max_entries=32, show_spinner="Looking for a face…")
def query_for(digest: str, settings_key: str, _data: bytes, _settings: EncoderSettings) -> EncodedImage:
    """Encode an uploaded query photo (keyed by its sha256 and the encoder settings)."""
    face_models()
    return encode_query(_data, _settings)


def model_params(n_faces: int) -> tuple[int, int]:
    """This session's (dims, k), defaulting to the article's 20 and 10 and clamped to what ``n_faces`` allows."""
    dims = clamp(st.session_state.get("dims", S.DEFAULT_DIMS), *dims_range(n_faces))
    k = clamp(st.session_state.get("k", S.DEFAULT_K), *k_range(n_faces))
    return dims, k


def dims_range(n_faces: int) -> tuple[int, int]:
    return 2, max(2, max_dims(n_faces))


def k_range(n_faces: int) -> tuple[int, int]:
    return 2, max(2, min(n_faces, K_MAX))


def clamp(value: int | float, lo: int | float, hi: int | float) -> int:
    return int(min(max(value, lo), hi))


def current_model(ds: LoadedDataset) -> SimilarityModel:
    """The fitted model for this session's dataset and (dims, k)."""
    dims, k = model_params(len(ds.faceset))
    return model_for(ds.faceset.key, dims, k, ds.faceset.encodings)


#: Widgets whose value should survive a visit to another page (file uploaders cannot be set, so not them).
KEPT_WIDGETS = (
    "detector", "all_faces", "folder_path", "clusters_dims", "clusters_k", "scatter_3d", "gallery_cluster",
    "query_source", "similar_nprobe", "similar_top", "similar_threshold",
)  # fmt: skip


def keep_widget_state() -> None:
    """Keep the values of :data:`KEPT_WIDGETS` while another page is shown.

    Streamlit drops a widget's state at the end of a run that does not draw
    it; assigning the value to its key on every run (app.py) prevents that.
    """
    for key in KEPT_WIDGETS:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def seed_widget(widget_key: str, value: int | float) -> None:
    """Give a widget its value before it is drawn (state of widgets on other pages is dropped by Streamlit)."""
    st.session_state[widget_key] = value


# --------------------------------------------------------------------------- thumbnails


def _favicon() -> Image.Image:
    """A small face drawn here: a ``:material/...:`` page icon would be fetched from Google's servers."""
    from PIL import ImageDraw

    im = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    draw = ImageDraw.Draw(im)
    draw.rounded_rectangle((0, 0, 63, 63), radius=14, fill=(37, 99, 235, 255))
    draw.ellipse((12, 10, 52, 54), fill=(255, 255, 255, 255))
    for x in (23, 37):
        draw.ellipse((x, 24, x + 5, 30), fill=(37, 99, 235, 255))
    draw.arc((22, 28, 42, 44), start=20, end=160, fill=(37, 99, 235, 255), width=3)
    return im


#: The browser tab's icon (works offline).
FAVICON = _favicon()


def _placeholder() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (S.THUMB_SIDE, S.THUMB_SIDE), (226, 229, 235)).save(buf, format="JPEG")
    return buf.getvalue()


PLACEHOLDER = _placeholder()


def thumbs(ds: LoadedDataset, indices: Sequence[int] | np.ndarray, keep: bool = True) -> list[bytes]:
    """The 112 px face crops of the faces at ``indices`` (a grey square where the cache has none).

    ``keep=False`` reads the cache file without keeping the crops in memory
    (for callers that keep something derived from them instead).
    """
    keys = thumb_keys(ds.faceset, indices)
    if keep:
        found = thumbs_for(str(store().path), ds.faceset.settings_key, tuple(keys))
    else:
        found = store().thumbnails(keys, ds.faceset.settings_key)
    return [found.get(key, PLACEHOLDER) for key in keys]


#: Above this many faces the scatter's hover shows text only (the pictures would be ~2 KB per face).
HOVER_FACES_MAX = 6000


@st.cache_data(max_entries=4, show_spinner=False)
def hover_images_for(key: str, _ds: LoadedDataset) -> list[str]:
    """Small face pictures (data URIs) of every face of the dataset ``key``, for the scatter hover."""
    fs = _ds.faceset
    if len(fs) > HOVER_FACES_MAX:
        return []
    return hover_image_uris(thumbs(_ds, range(len(fs)), keep=False))  # the small copies are what is kept


def gallery(ds: LoadedDataset, indices: Sequence[int] | np.ndarray, captions: list[str], width: int = 96) -> None:
    """A wrapping grid of face thumbnails with one caption each."""
    if len(indices) == 0:
        st.caption("No faces here.")
        return
    st.image(thumbs(ds, indices), caption=captions, width=width)


# --------------------------------------------------------------------------- layout pieces


def require_dataset(min_faces: int = 0) -> LoadedDataset:
    """This session's dataset; otherwise a friendly pointer to the Dataset page, and the page ends here."""
    ds: LoadedDataset | None = st.session_state.get("dataset")
    if ds is None:
        job = st.session_state.get("encode_job")
        if job is not None and job.running:
            st.info(
                "Your photos are still being encoded. Follow the progress on the Dataset page.",
                icon=":material/hourglass_top:",
            )
        else:
            st.info(
                "No photos loaded yet. Start on the Dataset page: pick a folder on this server, "
                "upload photos or a zip, or try the sample.",
                icon=":material/photo_library:",
            )
        st.page_link(DATASET_PAGE, label="Go to the Dataset page", icon=":material/arrow_forward:")
        st.stop()
    if len(ds.faceset) < min_faces:
        st.info(
            f"The loaded dataset has {len(ds.faceset)} face(s); this page needs at least {min_faces}. "
            "Load more photos on the Dataset page.",
            icon=":material/group_add:",
        )
        st.page_link(DATASET_PAGE, label="Go to the Dataset page", icon=":material/arrow_forward:")
        st.stop()
    return ds


def render_sidebar() -> None:
    """Dataset status and the cache location, on every page."""
    with st.sidebar:
        st.subheader("Dataset", divider="gray")
        ds: LoadedDataset | None = st.session_state.get("dataset")
        job: EncodeJob | None = st.session_state.get("encode_job")
        if job is not None and job.running:
            fraction, text = progress_text(job)
            st.progress(fraction, text=f"Encoding {job.label}: {text}")
        if ds is None:
            st.caption("No dataset loaded yet.")
        else:
            fs = ds.faceset
            mode = "every face" if ds.settings.all_faces else "largest face"
            st.markdown(f"**{ds.label}**")
            st.caption(
                f"{fs.images:,} photos · {len(fs):,} faces · {len(fs.skipped):,} skipped  \n"
                f"{ds.settings.detector.upper()} detector, {mode} per photo"
                + ("  \nStopped early: partial set" if fs.stopped else "")
            )
        st.subheader("Encoding cache", divider="gray")
        try:
            cache = store()
            stats = cache.stats()
        except (FaceCoreError, sqlite3.Error, OSError) as exc:  # a damaged file must not hide the pages
            st.error(str(exc))
        else:
            st.caption(f"{stats['images']:,} photos · {stats['faces']:,} faces · {stats['bytes'] / 1e6:.1f} MB")
            st.code(str(cache.path), language=None, wrap_lines=True)
        st.caption(
            ":material/lock: Processing is local: photos are read and encoded on this server and "
            "never sent anywhere. Face encodings are biometric data; delete them on the Dataset page."
        )
