"""Every ``st.cache_*`` getter of the app, and the one place that forgets them.

Both caches are shared by every session, so their functions are keyed only
by content digests (``FaceSet.key``, photo sha256) and take bulky data as
``_underscored`` arguments that are not hashed. A second user gets a cached
result only for exactly the same photos, which they already have. Large
results (the fitted model with its encodings, names, hover pictures, the
persons) use ``st.cache_resource``: one object shared by every session, never
changed, instead of ``st.cache_data``'s copy per call (51 MB of encodings at
100,000 faces, copied on every rerun of every session).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from sklearn.decomposition import PCA

from facecore import (
    Calibration,
    DistanceDistributions,
    EncodedImage,
    EncoderSettings,
    EncodingStore,
    Evaluation,
    FaceSet,
    NotEnoughFacesError,
    SearchTuning,
    SimilarityModel,
    allowed_roots_from_env,
    calibrate,
    distance_distributions,
    encode_query,
    evaluate,
    explained_variance,
    face_thumbnails,
    fit_model,
    fit_pca,
    imported_key,
    load_models,
    suggest_k,
    tune_search,
)
from facecore import settings as S
from facecore import (
    verdict_threshold as default_verdict_threshold,
)
from pages._charts import variance_figure
from pages._pictures import PLACEHOLDER, face_uris
from pages._views import cluster_table, face_label, face_names, matching_faces

#: The getters whose results are derived from a face set (encodings, crops): forgotten together.
_DERIVED: list = []


def _derived(fn: Callable) -> Callable:
    _DERIVED.append(fn)
    return fn


@st.cache_resource
def _store(path: str) -> EncodingStore:
    return EncodingStore(path)


def store() -> EncodingStore:
    """The encoding cache at ``$FACECORE_CACHE`` (or the default path), opened once per process."""
    return _store(str(S.default_cache_path()))


@st.cache_data(max_entries=64, show_spinner=False)
def matches_for(key: str, text: str, limit: int, _names: list[str]) -> tuple[list[int], int]:
    """The faces of the set ``key`` whose name contains ``text`` (:func:`pages._views.matching_faces`), kept per
    search: going through 10^5 names took 50-80 ms of every rerun of the Similar faces page."""
    return matching_faces(_names, text, limit)


@st.cache_data(max_entries=4, show_spinner=False)
def cache_stats(path: str, stamp: tuple) -> dict[str, int]:
    """The cache's counts and size (:meth:`EncodingStore.stats`), counted again only when its files change
    (``stamp``): every page run shows them, and counting 10^5 faces took 30-80 ms of each slider move."""
    return _store(path).stats()


@st.cache_resource(show_spinner="Loading the face models…")
def face_models() -> object:
    """dlib's detector and encoder, loaded once per server process for query photos."""
    return load_models()


@_derived
@st.cache_resource(max_entries=8, show_spinner=False)
def pca_for(key: str, _encodings: np.ndarray) -> PCA:
    """The full PCA of a face set; ``key`` is its ``FaceSet.key``."""
    return fit_pca(_encodings)


@_derived
@st.cache_resource(max_entries=64, show_spinner="Grouping the faces…")
def model_for(key: str, dims: int, k: int, _encodings: np.ndarray) -> SimilarityModel:
    """PCA to ``dims`` + K-means with ``k`` clusters; the PCA is fitted once per set and sliced."""
    return fit_model(_encodings, dims, k, seed=S.DEFAULT_SEED, pca=pca_for(key, _encodings))


@_derived
@st.cache_data(max_entries=16, show_spinner=f"Scoring 2 … {S.K_HINT_MAX} groups…")
def k_hint_for(key: str, dims: int, k_max: int, _reduced: np.ndarray) -> list[tuple[int, float]]:
    """Silhouette score per K for the reduced faces of the model ``(key, dims)``."""
    return suggest_k(_reduced, range(2, min(S.K_HINT_MAX, k_max) + 1))


#: Above this many faces, the quality over every face is measured on a sample of this many queries.
QUALITY_QUERIES = 5000


@_derived
@st.cache_data(max_entries=32, show_spinner="Searching with every face as the query…")
def quality_for(
    key: str, dims: int, k: int, nprobe: int, top: int, _fs: FaceSet, _model: SimilarityModel
) -> Evaluation:
    """Leave-one-out retrieval quality of the model ``(key, dims, k)``, folders taken as identities."""
    return evaluate(_model, _fs.persons, top=top, nprobe=nprobe, max_queries=QUALITY_QUERIES)


@_derived
@st.cache_data(max_entries=64, show_spinner=False)
def cluster_table_for(key: str, dims: int, k: int, _fs: FaceSet, _model: SimilarityModel):
    """One row per cluster (size, main person) for the model ``(key, dims, k)``."""
    return cluster_table(_fs, _model)


@_derived
@st.cache_data(max_entries=512, show_spinner=False)
def thumbs_for(cache_path: str, settings_key: str, keys: tuple[tuple[str, int], ...]) -> dict[tuple[str, int], bytes]:
    """JPEG face crops for ``(photo digest, face in photo)`` keys, from the cache file."""
    return _store(cache_path).thumbnails(keys, settings_key)


@_derived
@st.cache_data(max_entries=32, show_spinner="Looking for a face…")
def query_for(digest: str, settings_key: str, _data: bytes, _settings: EncoderSettings) -> EncodedImage:
    """Encode an uploaded query photo (keyed by its sha256 and the encoder settings)."""
    face_models()
    return encode_query(_data, _settings)


def crops(fs: FaceSet, rows: Sequence[int] | np.ndarray, keep: bool = True) -> list[bytes]:
    """The 112 px JPEG face crops of the faces at ``rows`` (a grey square where the cache has none).

    ``keep=False`` reads the cache file without keeping the crops in memory
    (for callers that keep something derived from them instead).
    """
    keys = fs.thumb_keys(rows)
    if imported_key(fs) is not None:  # imported encodings: crops cut from their photos where those are readable
        found = imported_crops_for(fs.key, tuple(int(r) for r in rows), fs) if keep else _imported_crops(fs, rows)
    elif keep:
        found = thumbs_for(str(store().path), fs.settings_key, tuple(keys))
    else:
        found = store().thumbnails(keys, fs.settings_key)
    return [found.get(key, PLACEHOLDER) for key in keys]


def _imported_crops(fs: FaceSet, rows: Sequence[int] | np.ndarray) -> dict[tuple[str, int], bytes]:
    return face_thumbnails(fs, rows, store(), allowed_roots_from_env())


@_derived
@st.cache_data(max_entries=512, show_spinner=False)
def imported_crops_for(key: str, rows: tuple[int, ...], _fs: FaceSet) -> dict[tuple[str, int], bytes]:
    """Face crops of imported faces at ``rows`` of the set ``key``, cut from their photos."""
    return _imported_crops(_fs, rows)


#: Up to this many faces, the scatter's hover pictures are all sent with the first drawing (~2 KB a face);
#: above, they are sent on demand (see pages/_hover_faces.py).
HOVER_ALL_UP_TO = 6000


def hover_entries(fs: FaceSet, rows: Sequence[int] | np.ndarray) -> dict[str, list[str]]:
    """``{row: [small picture data URI, "file\\nfolder: …"]}`` for the faces at ``rows``, read from the cache
    file without keeping the crops (the small pictures are what is kept)."""
    uris = face_uris(crops(fs, rows, keep=False))
    return {str(int(r)): [u, f"{face_label(fs.faces[int(r)])}\nfolder: {fs.faces[int(r)].person or '-'}"]
            for r, u in zip(rows, uris, strict=True)}  # fmt: skip


@_derived
@st.cache_resource(max_entries=4, show_spinner=False)
def hover_payload_for(key: str, _fs: FaceSet) -> str:
    """Every face's hover entry of the set ``key`` as one JSON string (made once: rebuilding and serialising
    the dict cost a sixth of a second on every rerun), when it has at most HOVER_ALL_UP_TO faces; else "{}"."""
    if len(_fs) > HOVER_ALL_UP_TO:
        return "{}"
    return json.dumps(hover_entries(_fs, np.arange(len(_fs))), separators=(",", ":"))


@_derived
@st.cache_resource(max_entries=8, show_spinner=False)
def names_for(key: str, _fs: FaceSet) -> list[str]:
    """One label per face of the set ``key``: its file name, with ``#n`` for later faces of a photo."""
    return face_names(_fs)


#: Up to this many faces, pages that only mention persons (Similar faces) group the faces themselves;
#: above, they do once the People page (or a click) has grouped them: it takes a while at 10^5 faces.
PEOPLE_AUTO_UP_TO = 20_000


#: Samples for measuring what a distance means on a large set (seconds instead of tens of seconds at 10^5 faces).
_SAMPLES = {"max_queries": 2000, "max_pairs": 1_000_000}


@_derived
@st.cache_data(max_entries=8, show_spinner="Measuring what a distance means in these photos…")
def calibration_for(key: str, _fs: FaceSet) -> Calibration | None:
    """What each threshold means on the set ``key``, its folders taken as people; None without named people."""
    try:
        return calibrate(_fs.encodings, _fs.persons, **_SAMPLES if len(_fs) > PEOPLE_AUTO_UP_TO else {})
    except NotEnoughFacesError:
        return None


@_derived
@st.cache_data(max_entries=8, show_spinner=False)
def distributions_for(key: str, _fs: FaceSet) -> DistanceDistributions | None:
    """Same-person and different-person distance histograms of the set ``key``; None without named people."""
    try:
        sample = {"max_pairs": _SAMPLES["max_pairs"]} if len(_fs) > PEOPLE_AUTO_UP_TO else {}
        return distance_distributions(_fs.encodings, _fs.persons, **sample)
    except NotEnoughFacesError:
        return None


def verdict_threshold(fs: FaceSet) -> float:
    """The default "same person" threshold for this set (:func:`facecore.verdict_threshold`)."""
    return default_verdict_threshold(calibration_for(fs.key, fs), len(fs))


@_derived
@st.cache_resource(max_entries=8, show_spinner="Trying numbers of groups and groups searched…")
def tuning_for(key: str, top: int, _fs: FaceSet) -> SearchTuning:
    """K and nprobe keeping 95 % of the exact top-``top`` at the fewest comparisons on the set ``key``."""
    return tune_search(_fs.encodings, top=top)


@_derived
@st.cache_resource(max_entries=32, show_spinner=False)
def variance_figure_for(key: str, dims: int, _pca: PCA) -> go.Figure:
    """The explained-variance chart of the set ``key`` with ``dims`` marked (not rebuilt when only K moves)."""
    ratio, cumulative = explained_variance(_pca)
    return variance_figure(ratio, cumulative, dims)


def forget_all() -> None:
    """Drop every in-memory result derived from face sets (PCA, K-means, crops, pictures).

    The cached results hold encodings and the thumbnails are face crops: when
    a user deletes a dataset they go from memory too, not only from the cache
    file. This clears other sessions' entries as well, which only costs them a refit.
    """
    for fn in _DERIVED:
        fn.clear()
