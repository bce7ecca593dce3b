"""facecore: find similar faces in a photo collection.

128-d face_recognition encodings, PCA, K-means and the article's
nearest-centroid search, with an encoding cache, identity-aware evaluation
and a CLI (``python -m facecore``). Never imports Streamlit.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Public name -> the module that defines it. Loaded on first use (PEP 562), so an
# encoding worker imports only what it needs, not scikit-learn (~1.5 s per worker).
_LAZY = {
    "ClusterIndex": "search",
    "DatasetError": "errors",
    "EncodedImage": "encoding",
    "EncoderSettings": "settings",
    "EncodingStore": "store",
    "Evaluation": "evaluation",
    "Face": "faceset",
    "FaceCoreError": "errors",
    "FaceSet": "faceset",
    "ImageRef": "sources",
    "InvalidParameterError": "errors",
    "ModelMissingError": "errors",
    "NoFaceFoundError": "errors",
    "NotEnoughFacesError": "errors",
    "Progress": "faceset",
    "SearchResult": "search",
    "Similar": "similarity",
    "SimilarityModel": "similarity",
    "Skipped": "sources",
    "UnreadableImageError": "errors",
    "UnsafeInputError": "errors",
    "auto_k": "cluster",
    "cluster_search": "search",
    "decode_image": "imaging",
    "detect_faces": "encoding",
    "dims_for_variance": "reduce",
    "encode_bytes": "encoding",
    "encode_faces": "encoding",
    "encode_images": "faceset",
    "encode_query": "encoding",
    "evaluate": "evaluation",
    "exact_search": "search",
    "explained_variance": "reduce",
    "find_similar": "similarity",
    "fit_kmeans": "cluster",
    "fit_model": "similarity",
    "fit_pca": "reduce",
    "from_uploads": "sources",
    "load_models": "encoding",
    "open_dataset": "sources",
    "project": "reduce",
    "read_zip": "sources",
    "scan_folder": "sources",
    "suggest_k": "cluster",
}

__all__ = [
    "ClusterIndex",
    "DatasetError",
    "EncodedImage",
    "EncoderSettings",
    "EncodingStore",
    "Evaluation",
    "Face",
    "FaceCoreError",
    "FaceSet",
    "ImageRef",
    "InvalidParameterError",
    "ModelMissingError",
    "NoFaceFoundError",
    "NotEnoughFacesError",
    "Progress",
    "SearchResult",
    "Similar",
    "SimilarityModel",
    "Skipped",
    "UnreadableImageError",
    "UnsafeInputError",
    "auto_k",
    "cluster_search",
    "decode_image",
    "detect_faces",
    "dims_for_variance",
    "encode_bytes",
    "encode_faces",
    "encode_images",
    "encode_query",
    "evaluate",
    "exact_search",
    "explained_variance",
    "find_similar",
    "fit_kmeans",
    "fit_model",
    "fit_pca",
    "from_uploads",
    "load_models",
    "open_dataset",
    "project",
    "read_zip",
    "scan_folder",
    "suggest_k",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


if TYPE_CHECKING:  # for type checkers and IDEs: the eager imports
    from .cluster import auto_k, fit_kmeans, suggest_k
    from .encoding import EncodedImage, detect_faces, encode_bytes, encode_faces, encode_query, load_models
    from .errors import (
        DatasetError,
        FaceCoreError,
        InvalidParameterError,
        ModelMissingError,
        NoFaceFoundError,
        NotEnoughFacesError,
        UnreadableImageError,
        UnsafeInputError,
    )
    from .evaluation import Evaluation, evaluate
    from .faceset import Face, FaceSet, Progress, encode_images
    from .imaging import decode_image
    from .reduce import dims_for_variance, explained_variance, fit_pca, project
    from .search import ClusterIndex, SearchResult, cluster_search, exact_search
    from .settings import EncoderSettings
    from .similarity import Similar, SimilarityModel, find_similar, fit_model
    from .sources import ImageRef, Skipped, from_uploads, open_dataset, read_zip, scan_folder
    from .store import EncodingStore
