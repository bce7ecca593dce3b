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
    FaceCoreError,
    FaceSet,
    SimilarityModel,
    encode_query,
    evaluate,
    fit_model,
    fit_pca,
    load_models,
    suggest_k,
)
from facecore import settings as S
from facecore.errors import NotEnoughFacesError
from facecore.exchange import face_thumbnails, imported_key
from facecore.reduce import explained_variance
from facecore.sources import allowed_roots_from_env
from facecore.tuning import SearchTuning, tune_search
from facecore.verdict import calibrate, default_threshold, distance_distributions, recommended_threshold
from pages._charts import variance_figure
from pages._views import PLACEHOLDER, cluster_table, face_label, face_names, face_uris

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
    """The default "same person" threshold for this set: measured on its folders when they name people
    (the loosest that keeps stranger matches at most 10 %), else the size rule; never above dlib's 0.6."""
    cal = calibration_for(fs.key, fs)
    try:
        measured = recommended_threshold(cal) if cal is not None else None
    except FaceCoreError:  # even the strictest threshold lets too many strangers through: use the size rule
        measured = None
    return round(min(measured if measured is not None else default_threshold(len(fs)), S.SAME_PERSON_THRESHOLD), 3)


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


# ----------------------------------------------------------------- people: persons found without K, with corrections
# (imports here keep the People section in one place at the end of this file)

from facecore import Constraints, Grouping, NeighbourGraph, Scores, SweepPoint  # noqa: E402
from facecore.corrections import list_corrections, load_corrections  # noqa: E402
from facecore.grouping_quality import score_labels, threshold_sweep  # noqa: E402
from facecore.people import (  # noqa: E402
    DEFAULT_THRESHOLD,
    THRESHOLD_RANGE,
    group_faceset,
    name_persons,
    neighbour_graph,
    photo_ids,
)

#: Strictness values of the People page's "where to set the slider" chart.
SWEEP_THRESHOLDS = tuple(round(0.3 + 0.025 * i, 3) for i in range(17))  # 0.30 … 0.70


def corrections_version(fs: FaceSet) -> tuple[tuple[int, float], ...]:
    """``(id, time)`` of every correction stored for ``fs``'s encoder settings: changes with each correction
    and undo, so the cached persons below are recomputed exactly when the corrections change."""
    return tuple((a.id, a.created) for a in list_corrections(store(), fs.settings_key))


@_derived
@st.cache_resource(max_entries=4, show_spinner="Measuring which faces are close to each other…")
def graph_for(key: str, _encodings: np.ndarray) -> NeighbourGraph:
    """The neighbour graph of the set ``key`` at the loosest threshold: built once, every regrouping filters it."""
    return neighbour_graph(_encodings, THRESHOLD_RANGE[1])


@_derived
@st.cache_resource(max_entries=64, show_spinner=False)
def _people(
    key: str, threshold: float, cache_path: str, version: tuple, _fs: FaceSet
) -> tuple[Grouping, tuple[str | None, ...], Constraints]:
    constraints = load_corrections(_store(cache_path), _fs)
    grouping = group_faceset(_fs, threshold, constraints=constraints, graph=graph_for(key, _fs.encodings))
    return grouping, name_persons(grouping, constraints.names), constraints


#: Up to this many faces, pages that only mention persons (Similar faces) group the faces themselves;
#: above, they do once the People page (or a click) has grouped them: it takes a while at 10^5 faces.
PEOPLE_AUTO_UP_TO = 20_000
_grouped: set[str] = set()  # the sets whose persons have been computed in this server process


def people_state(fs: FaceSet, threshold: float) -> tuple[Grouping, tuple[str | None, ...], Constraints]:
    """:func:`people_for` plus the stored corrections as face-row constraints (for suggestions)."""
    found = _people(fs.key, round(float(threshold), 3), str(store().path), corrections_version(fs), fs)
    _grouped.add(fs.key)
    return found


def people_ready(fs: FaceSet) -> bool:
    """True when asking for the persons of ``fs`` is quick: a small set, or one already grouped once."""
    return len(fs) <= PEOPLE_AUTO_UP_TO or fs.key in _grouped


def people_for(fs: FaceSet, threshold: float = DEFAULT_THRESHOLD) -> tuple[Grouping, tuple[str | None, ...]]:
    """The persons of ``fs`` at ``threshold``, with every correction stored in the cache file applied.

    ``threshold`` is the People page's strictness, 0.3-0.7 (its session value:
    ``pages._state.setting("people_threshold")``). Returns ``(grouping, names)``:
    ``grouping.labels[row]`` is the person of face ``row`` (0 = the largest
    person, -1 = unsorted), ``names[person]`` its name or None; show a person
    with ``pages._views.person_label(person, names)`` ("Ada" or "Person 7").
    Fast: the neighbour graph is built once per set and a regrouping takes
    ~0.05 s at 2,338 faces; the result is cached until a correction or an undo.
    Raises ``FaceCoreError`` (e.g. a threshold outside 0.3-0.7).
    """
    grouping, names, _ = people_state(fs, threshold)
    return grouping, names


def names_people(fs: FaceSet) -> bool:
    """True when the set's folders look like people's names: at least two folders with a face each."""
    return len({p for p in fs.persons if p is not None}) >= 2


@_derived
@st.cache_data(max_entries=8, show_spinner="Trying every strictness on these photos…")
def people_sweep_for(key: str, _fs: FaceSet) -> tuple[SweepPoint, ...] | None:
    """Persons found and their match with the folders at each of :data:`SWEEP_THRESHOLDS` (no corrections);
    None when the folders do not name people."""
    if not names_people(_fs):
        return None
    return threshold_sweep(_fs.encodings, photo_ids(_fs), _fs.persons, SWEEP_THRESHOLDS)


@_derived
@st.cache_data(max_entries=16, show_spinner="Grouping the faces…")
def kmeans_scores_for(key: str, dims: int, k: int, _fs: FaceSet) -> Scores | None:
    """How well the Clusters page's K-means groups (``dims``, ``k``) match the folders; None without named people."""
    if not names_people(_fs):
        return None
    return score_labels(_fs.persons, model_for(key, dims, k, _fs.encodings).labels)
