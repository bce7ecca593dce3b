"""The Similar faces page's cached getters: search quality, what a distance means, tuning, the query photo
(see :mod:`pages._shared.cached` for how the caches are keyed and forgotten). A large set's calibration and
distance histograms are measured in the background and kept in the cache file (facecore.storage.set_results):
the first answer never waits for them."""

from __future__ import annotations

import json

import streamlit as st

from facecore import (
    Calibration,
    DistanceDistributions,
    EncodedImage,
    EncoderSettings,
    Evaluation,
    FaceSet,
    SearchTuning,
    SimilarityModel,
    decode_image,
    encode_query,
    evaluate,
    measure_in_background,
    stored_set_result,
    tune_search,
    wait_for_set_results,
)
from pages._shared.cached import PEOPLE_AUTO_UP_TO, derived, face_models, store
from pages._shared.pictures import photo_with_faces, read_photo
from pages._shared.roots import allowed_roots

#: Above this many faces, the quality over every face is measured on a sample of this many queries.
QUALITY_QUERIES = 5000


@derived
@st.cache_data(max_entries=32, show_spinner="Searching with every face as the query…")
def quality_for(
    key: str, dims: int, k: int, nprobe: int, top: int, _fs: FaceSet, _model: SimilarityModel
) -> Evaluation:
    """Leave-one-out retrieval quality of the model ``(key, dims, k)``, folders taken as identities."""
    return evaluate(_model, _fs.persons, top=top, nprobe=nprobe, max_queries=QUALITY_QUERIES)


@derived
@st.cache_data(max_entries=32, show_spinner="Looking for a face…")
def query_for(digest: str, settings_key: str, _data: bytes, _settings: EncoderSettings) -> EncodedImage:
    """Encode an uploaded query photo (keyed by its sha256 and the encoder settings)."""
    face_models()
    return encode_query(_data, _settings)


#: Samples for measuring what a distance means on a large set (seconds instead of tens of seconds at 10^5 faces).
_SAMPLES = {"max_queries": 2000, "max_pairs": 1_000_000}
#: Up to this many faces a set's calibration and histograms are measured while the page waits (under a second);
#: above, in the background (5-15 s at 10^5 faces), and the first answer uses the size rule's threshold meanwhile.
MEASURE_NOW_UP_TO = 5_000


class _NotYet(Exception):
    """A set's result is not in the cache file yet (raised, so st.cache_data does not keep the absence)."""


def wanted(fs: FaceSet) -> dict[str, dict[str, int]]:
    """The set's calibration and histograms with their sampling (kept in the cache file under these)."""
    big = len(fs) > PEOPLE_AUTO_UP_TO
    return {"calibration": dict(_SAMPLES) if big else {},
            "distributions": {"max_pairs": _SAMPLES["max_pairs"]} if big else {}}  # fmt: skip


@derived
@st.cache_data(max_entries=16, show_spinner=False)
def _kept(key: str, kind: str, params: str, _fs: FaceSet):
    ready, value = stored_set_result(store(), _fs, kind, json.loads(params))
    if not ready:
        raise _NotYet(kind)
    return value


def start_measuring(fs: FaceSet) -> bool:
    """Measure the set's calibration and histograms in the background unless kept already; True when kept.
    Small sets are measured now (the page waits under a second)."""
    done = measure_in_background(store(), fs, wanted(fs))
    if not done and len(fs) <= MEASURE_NOW_UP_TO:
        with st.spinner("Measuring what a distance means in these photos…"):
            wait_for_set_results(store(), fs)
        done = True
    return done


def set_measure(fs: FaceSet, kind: str) -> tuple[bool, object | None]:
    """``(ready, value)`` of the set's ``kind`` ("calibration" or "distributions"); None: no named people.
    Never waits for a large set: its measuring is started in the background."""
    params = wanted(fs)[kind]
    text = json.dumps(params, sort_keys=True)
    try:
        return True, _kept(fs.key, kind, text, fs)
    except _NotYet:
        pass
    if start_measuring(fs):
        try:
            return True, _kept(fs.key, kind, text, fs)
        except _NotYet:
            pass
    return False, None


def calibration_for(fs: FaceSet) -> Calibration | None:
    """What each threshold means on the set, its folders taken as people; None without named people or while
    it is being measured (:func:`set_measure` says which)."""
    return set_measure(fs, "calibration")[1]


@derived
@st.cache_resource(max_entries=8, show_spinner="Trying numbers of groups and groups searched…")
def tuning_for(key: str, top: int, _fs: FaceSet) -> SearchTuning:
    """K and nprobe keeping 95 % of the exact top-``top`` at the fewest comparisons on the set ``key``."""
    return tune_search(_fs.encodings, top=top)


@derived
@st.cache_resource(max_entries=8, show_spinner=False)
def photo_rows_for(key: str, _fs: FaceSet) -> dict[str, tuple[int, ...]]:
    """The face rows of every photo of the set ``key`` with several faces, by content digest, largest face first."""
    rows: dict[str, list[int]] = {}
    for i, face in enumerate(_fs.faces):
        rows.setdefault(face.digest, []).append(i)
    return {d: tuple(sorted(r, key=lambda i: _fs.faces[i].in_photo)) for d, r in rows.items() if len(r) > 1}


@st.cache_data(max_entries=32, show_spinner=False)
def numbered_upload(digest: str, chosen: int, _data: bytes, boxes: tuple) -> bytes:
    """An uploaded photo (keyed by its sha256) with its faces boxed and numbered, face ``chosen`` marked."""
    return photo_with_faces(decode_image(_data), boxes, chosen)


@st.cache_data(max_entries=32, show_spinner=False)
def numbered_photo(folder: str, name: str, chosen: int, boxes: tuple) -> bytes | None:
    """Photo ``name`` of the server ``folder`` with its faces boxed and numbered; None when it cannot be read
    (read inside the folder or the allowed roots it was read under)."""
    rgb = read_photo(folder, name, allowed_roots())
    return None if rgb is None else photo_with_faces(rgb, boxes, chosen)


def distributions_for(fs: FaceSet) -> DistanceDistributions | None:
    """Same-person and different-person distance histograms of the set; None without named people or while
    they are being measured."""
    return set_measure(fs, "distributions")[1]


def measure_soon(fs: FaceSet) -> None:
    """Start measuring a large set's calibration and histograms in the background (the Clusters page, after
    drawing: by the time the user opens Similar faces, its first answer can use them). Small sets: nothing,
    the Similar faces page measures them in well under a second."""
    if len(fs) > MEASURE_NOW_UP_TO:
        measure_in_background(store(), fs, wanted(fs))
