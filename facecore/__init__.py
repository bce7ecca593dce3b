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
    "Action": "corrections",
    "Calibration": "verdict",
    "ClusterIndex": "search",
    "Constraints": "people",
    "DatasetError": "errors",
    "DistanceDistributions": "verdict",
    "EncodedImage": "encoding",
    "EncoderSettings": "settings",
    "EncodingStore": "store",
    "Evaluation": "evaluation",
    "Face": "faceset",
    "FaceCoreError": "errors",
    "FaceSet": "faceset",
    "Grouping": "people",
    "ImageRef": "sources",
    "InvalidParameterError": "errors",
    "MergeSuggestion": "people",
    "ModelMissingError": "errors",
    "NeighbourGraph": "people",
    "NoFaceFoundError": "errors",
    "NotEnoughFacesError": "errors",
    "Progress": "faceset",
    "Scores": "grouping_quality",
    "SearchResult": "search",
    "SearchTuning": "tuning",
    "Similar": "similarity",
    "SimilarityModel": "similarity",
    "Skipped": "sources",
    "SweepPoint": "grouping_quality",
    "TuningPoint": "tuning",
    "UnreadableImageError": "errors",
    "UnsafeInputError": "errors",
    "Verdict": "verdict",
    "auto_k": "cluster",
    "calibrate": "verdict",
    "cluster_search": "search",
    "decode_image": "imaging",
    "default_threshold": "verdict",
    "delete_corrections": "corrections",
    "detect_faces": "encoding",
    "different_people": "corrections",
    "dims_for_variance": "reduce",
    "distance_distributions": "verdict",
    "encode_bytes": "encoding",
    "encode_faces": "encoding",
    "encode_images": "faceset",
    "encode_query": "encoding",
    "encodings_npz": "exchange",
    "evaluate": "evaluation",
    "exact_search": "search",
    "explained_variance": "reduce",
    "find_similar": "similarity",
    "fit_kmeans": "cluster",
    "fit_model": "similarity",
    "fit_pca": "reduce",
    "from_uploads": "sources",
    "group_faces": "people",
    "group_faceset": "people",
    "list_corrections": "corrections",
    "load_corrections": "corrections",
    "load_models": "encoding",
    "match_verdict": "verdict",
    "merge_persons": "corrections",
    "move_faces": "corrections",
    "name_faces": "corrections",
    "name_person": "corrections",
    "name_persons": "people",
    "neighbour_graph": "people",
    "not_this_person": "corrections",
    "open_dataset": "sources",
    "people_report": "people",
    "project": "reduce",
    "propose_split": "people",
    "read_zip": "sources",
    "recommended_threshold": "verdict",
    "scan_folder": "sources",
    "score_labels": "grouping_quality",
    "split_person": "corrections",
    "suggest_k": "cluster",
    "suggest_merges": "people",
    "threshold_sweep": "grouping_quality",
    "tune_search": "tuning",
    "undo_correction": "corrections",
}

__all__ = [
    "Action",
    "Calibration",
    "ClusterIndex",
    "Constraints",
    "DatasetError",
    "DistanceDistributions",
    "EncodedImage",
    "EncoderSettings",
    "EncodingStore",
    "Evaluation",
    "Face",
    "FaceCoreError",
    "FaceSet",
    "Grouping",
    "ImageRef",
    "InvalidParameterError",
    "MergeSuggestion",
    "ModelMissingError",
    "NeighbourGraph",
    "NoFaceFoundError",
    "NotEnoughFacesError",
    "Progress",
    "Scores",
    "SearchResult",
    "SearchTuning",
    "Similar",
    "SimilarityModel",
    "Skipped",
    "SweepPoint",
    "TuningPoint",
    "UnreadableImageError",
    "UnsafeInputError",
    "Verdict",
    "auto_k",
    "calibrate",
    "cluster_search",
    "decode_image",
    "default_threshold",
    "delete_corrections",
    "detect_faces",
    "different_people",
    "dims_for_variance",
    "distance_distributions",
    "encode_bytes",
    "encode_faces",
    "encode_images",
    "encode_query",
    "encodings_npz",
    "evaluate",
    "exact_search",
    "explained_variance",
    "find_similar",
    "fit_kmeans",
    "fit_model",
    "fit_pca",
    "from_uploads",
    "group_faces",
    "group_faceset",
    "list_corrections",
    "load_corrections",
    "load_models",
    "match_verdict",
    "merge_persons",
    "move_faces",
    "name_faces",
    "name_person",
    "name_persons",
    "neighbour_graph",
    "not_this_person",
    "open_dataset",
    "people_report",
    "project",
    "propose_split",
    "read_zip",
    "recommended_threshold",
    "scan_folder",
    "score_labels",
    "split_person",
    "suggest_k",
    "suggest_merges",
    "threshold_sweep",
    "tune_search",
    "undo_correction",
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
    from .corrections import (
        Action,
        delete_corrections,
        different_people,
        list_corrections,
        load_corrections,
        merge_persons,
        move_faces,
        name_faces,
        name_person,
        not_this_person,
        split_person,
        undo_correction,
    )
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
    from .exchange import encodings_npz
    from .faceset import Face, FaceSet, Progress, encode_images
    from .grouping_quality import Scores, SweepPoint, score_labels, threshold_sweep
    from .imaging import decode_image
    from .people import (
        Constraints,
        Grouping,
        MergeSuggestion,
        NeighbourGraph,
        group_faces,
        group_faceset,
        name_persons,
        neighbour_graph,
        people_report,
        propose_split,
        suggest_merges,
    )
    from .reduce import dims_for_variance, explained_variance, fit_pca, project
    from .search import ClusterIndex, SearchResult, cluster_search, exact_search
    from .settings import EncoderSettings
    from .similarity import Similar, SimilarityModel, find_similar, fit_model
    from .sources import ImageRef, Skipped, from_uploads, open_dataset, read_zip, scan_folder
    from .store import EncodingStore
    from .tuning import SearchTuning, TuningPoint, tune_search
    from .verdict import (
        Calibration,
        DistanceDistributions,
        Verdict,
        calibrate,
        default_threshold,
        distance_distributions,
        match_verdict,
        recommended_threshold,
    )
