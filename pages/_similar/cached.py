"""The Similar faces page's cached getters: search quality, what a distance means, tuning, the query photo
(see :mod:`pages._shared.cached` for how the caches are keyed and forgotten)."""

from __future__ import annotations

import streamlit as st

from facecore import (
    Calibration,
    DistanceDistributions,
    EncodedImage,
    EncoderSettings,
    Evaluation,
    FaceSet,
    NotEnoughFacesError,
    SearchTuning,
    SimilarityModel,
    calibrate,
    distance_distributions,
    encode_query,
    evaluate,
    tune_search,
)
from facecore import verdict_threshold as default_verdict_threshold
from pages._shared.cached import PEOPLE_AUTO_UP_TO, derived, face_models

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


@derived
@st.cache_data(max_entries=8, show_spinner="Measuring what a distance means in these photos…")
def calibration_for(key: str, _fs: FaceSet) -> Calibration | None:
    """What each threshold means on the set ``key``, its folders taken as people; None without named people."""
    try:
        return calibrate(_fs.encodings, _fs.persons, **_SAMPLES if len(_fs) > PEOPLE_AUTO_UP_TO else {})
    except NotEnoughFacesError:
        return None


@derived
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


@derived
@st.cache_resource(max_entries=8, show_spinner="Trying numbers of groups and groups searched…")
def tuning_for(key: str, top: int, _fs: FaceSet) -> SearchTuning:
    """K and nprobe keeping 95 % of the exact top-``top`` at the fewest comparisons on the set ``key``."""
    return tune_search(_fs.encodings, top=top)
