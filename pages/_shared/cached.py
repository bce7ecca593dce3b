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

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from facecore import (
    EncodingStore,
    FaceSet,
    SimilarityModel,
    face_thumbnails,
    imported_key,
    kept_model,
    kept_pca,
    load_models,
)
from facecore import settings as S
from pages._shared.pictures import PLACEHOLDER, photo_with_box
from pages._shared.roots import allowed_roots
from pages._shared.views import face_names, matching_faces

if TYPE_CHECKING:  # scikit-learn is imported only when something is fitted
    from sklearn.decomposition import PCA

#: The getters whose results are derived from a face set (encodings, crops): forgotten together.
_DERIVED: list = []


def derived(fn: Callable) -> Callable:
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
    """The faces of the set ``key`` whose name contains ``text`` (:func:`pages._shared.views.matching_faces`), kept per
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


@derived
@st.cache_resource(max_entries=8, show_spinner=False)
def pca_for(key: str, _encodings: np.ndarray) -> PCA:
    """The full PCA of a face set; ``key`` is its ``FaceSet.key``. Kept in the cache file too
    (:func:`facecore.kept_pca`): a set opened again, even by a new server, is not fitted again."""
    return kept_pca(store(), key, _encodings)


@derived
@st.cache_resource(max_entries=64, show_spinner="Grouping the faces…")
def model_for(key: str, dims: int, k: int, _encodings: np.ndarray) -> SimilarityModel:
    """PCA to ``dims`` + K-means with ``k`` clusters; the PCA is fitted once per set and sliced, the K-means
    centres kept in the cache file (:func:`facecore.kept_model`: reopening costs a projection, not a fit)."""
    return kept_model(store(), key, _encodings, dims, k, pca_for(key, _encodings), seed=S.DEFAULT_SEED)


@derived
@st.cache_data(max_entries=512, show_spinner=False)
def thumbs_for(cache_path: str, settings_key: str, keys: tuple[tuple[str, int], ...]) -> dict[tuple[str, int], bytes]:
    """JPEG face crops for ``(photo digest, face in photo)`` keys, from the cache file."""
    return _store(cache_path).thumbnails(keys, settings_key)


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
    return face_thumbnails(fs, rows, store(), allowed_roots())


@derived
@st.cache_data(max_entries=512, show_spinner=False)
def imported_crops_for(key: str, rows: tuple[int, ...], _fs: FaceSet) -> dict[tuple[str, int], bytes]:
    """Face crops of imported faces at ``rows`` of the set ``key``, cut from their photos."""
    return _imported_crops(_fs, rows)


@derived
@st.cache_resource(max_entries=8, show_spinner=False)
def names_for(key: str, _fs: FaceSet) -> list[str]:
    """One label per face of the set ``key``: its file name, with ``#n`` for later faces of a photo."""
    return face_names(_fs)


#: Up to this many faces, pages that only mention persons (Similar faces) group the faces themselves;
#: above, they do once the People page (or a click) has grouped them: it takes a while at 10^5 faces.
PEOPLE_AUTO_UP_TO = 20_000

@st.cache_data(max_entries=64, show_spinner=False)
def boxed_photo(folder: str, name: str, box: tuple) -> bytes | None:
    """Photo ``name`` of the server ``folder`` with the face ``box`` drawn; None when it cannot be read
    (read inside the folder or the allowed roots it was read under)."""
    return photo_with_box(folder, name, box, allowed=allowed_roots())



def forget_all() -> None:
    """Drop every in-memory result derived from face sets (PCA, K-means, crops, pictures).

    The cached results hold encodings and the thumbnails are face crops: when
    a user deletes a dataset they go from memory too, not only from the cache
    file. This clears other sessions' entries as well, which only costs them a refit.
    """
    for fn in _DERIVED:
        fn.clear()
