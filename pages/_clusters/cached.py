"""The Clusters page's cached getters (see :mod:`pages._shared.cached` for how the caches are keyed and forgotten)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from facecore import FaceSet, SimilarityModel, explained_variance, suggest_k
from facecore import settings as S
from pages._clusters.charts import variance_figure
from pages._clusters.tables import cluster_table
from pages._shared.cached import crops, derived
from pages._shared.pictures import face_uris
from pages._shared.views import face_label

if TYPE_CHECKING:  # scikit-learn is imported only when something is fitted
    from sklearn.decomposition import PCA


@derived
@st.cache_data(max_entries=16, show_spinner=f"Scoring 2 … {S.K_HINT_MAX} groups…")
def k_hint_for(key: str, dims: int, k_max: int, _reduced: np.ndarray) -> list[tuple[int, float]]:
    """Silhouette score per K for the reduced faces of the model ``(key, dims)``."""
    return suggest_k(_reduced, range(2, min(S.K_HINT_MAX, k_max) + 1))


@derived
@st.cache_data(max_entries=64, show_spinner=False)
def cluster_table_for(key: str, dims: int, k: int, _fs: FaceSet, _model: SimilarityModel):
    """One row per cluster (size, main person) for the model ``(key, dims, k)``."""
    return cluster_table(_fs, _model)


#: Up to this many faces, the scatter's hover pictures are all sent with the first drawing (~2 KB a face);
#: above, they are sent on demand (see pages/_clusters/hover.py).
HOVER_ALL_UP_TO = 6000


def hover_entries(fs: FaceSet, rows: Sequence[int] | np.ndarray) -> dict[str, list[str]]:
    """``{row: [small picture data URI, "file\\nfolder: …"]}`` for the faces at ``rows``, read from the cache
    file without keeping the crops (the small pictures are what is kept)."""
    uris = face_uris(crops(fs, rows, keep=False))
    return {str(int(r)): [u, f"{face_label(fs.faces[int(r)])}\nfolder: {fs.faces[int(r)].person or '-'}"]
            for r, u in zip(rows, uris, strict=True)}  # fmt: skip


@derived
@st.cache_resource(max_entries=4, show_spinner=False)
def hover_payload_for(key: str, _fs: FaceSet) -> str:
    """Every face's hover entry of the set ``key`` as one JSON string (made once: rebuilding and serialising
    the dict cost a sixth of a second on every rerun), when it has at most HOVER_ALL_UP_TO faces; else "{}"."""
    if len(_fs) > HOVER_ALL_UP_TO:
        return "{}"
    return json.dumps(hover_entries(_fs, np.arange(len(_fs))), separators=(",", ":"))


@derived
@st.cache_resource(max_entries=32, show_spinner=False)
def variance_figure_for(key: str, dims: int, _pca: PCA) -> go.Figure:
    """The explained-variance chart of the set ``key`` with ``dims`` marked (not rebuilt when only K moves)."""
    ratio, cumulative = explained_variance(_pca)
    return variance_figure(ratio, cumulative, dims)
