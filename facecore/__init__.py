"""facecore: find similar faces in a photo collection.

128-d face_recognition encodings, PCA, K-means and the article's
nearest-centroid search, with an encoding cache, identity-aware evaluation
and a CLI (``python -m facecore``). Never imports Streamlit.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

# Public name -> the module that defines it: the public API, written once (``__all__`` is its keys, and
# each subpackage's ``__all__`` the names it holds, see _exports). Loaded on first use (PEP 562), so an
# encoding worker imports only what it needs, not scikit-learn (~1.5 s per worker).
_LAZY = {
    "Action": "storage.person_facts",
    "AllowedRoots": "photos.roots",
    "ArchiveLimitError": "errors",
    "CacheError": "errors",
    "Calibration": "verdict.calibration",
    "ClusterError": "errors",
    "ClusterIndex": "search.index",
    "Collect": "encode.job",
    "Constraints": "people.constraints",
    "DEFAULT_BAR": "curation.face_quality",
    "DaskBackend": "encode.dask_backend",
    "DatasetError": "errors",
    "DependencyMissingError": "errors",
    "DistanceDistributions": "verdict.distances",
    "EncodeBackend": "encode.workers",
    "EncodeJob": "encode.job",
    "EncodedImage": "encode.encoding",
    "EncoderSettings": "settings",
    "EncodingStore": "storage.encodings",
    "Evaluation": "search.evaluation",
    "Face": "faceset",
    "FaceCoreError": "errors",
    "FaceSet": "faceset",
    "Grouping": "people.grouping",
    "IMAGE_EXTENSIONS": "settings",
    "ImageRef": "photos.refs",
    "ImportRefusedError": "errors",
    "InvalidParameterError": "errors",
    "LINK_BAR": "curation.face_quality",
    "LocalPool": "encode.workers",
    "MAP_METHODS": "layout.face_map",
    "MINIBATCH_ABOVE": "search.cluster",
    "MODEL_DIR_ENV": "encode.encoding",
    "MapJob": "layout.map_job",
    "MergeSuggestion": "people.suggestions",
    "ModelMissingError": "errors",
    "NEAR_COPY": "verdict.sentences",
    "NeighbourGraph": "people.graph",
    "NoFaceFoundError": "errors",
    "NotEnoughFacesError": "errors",
    "OnnxEncoderUnavailableError": "errors",
    "OnnxFaceEncoder": "encode.onnx_session",
    "Persons": "people.identities",
    "PhotoHashes": "curation.near_duplicates",
    "Progress": "faceset",
    "QUALITY_BAR_ENV": "curation.face_quality",
    "QUALITY_FIELDS": "curation.face_quality",
    "QualityBar": "curation.face_quality",
    "Scores": "people.scores",
    "SearchResult": "search.index",
    "SearchTuning": "search.tuning",
    "Similar": "search.similarity",
    "SimilarityModel": "search.similarity",
    "Skipped": "photos.refs",
    "SubFolder": "photos.roots",
    "Suspect": "curation.suspects",
    "SweepPoint": "people.scores",
    "THRESHOLD_RANGE": "people.faces",
    "THUMB_SIDE": "settings",
    "TuningPoint": "search.tuning",
    "UnreadableImageError": "errors",
    "UnsafeInputError": "errors",
    "Verdict": "verdict.sentences",
    "WorkerCrashedError": "errors",
    "allowed_roots_from_env": "photos.folders",
    "anchor_rows": "people.names",
    "apart_rows": "people.edits",
    "auto_k": "search.cluster",
    "backend_from_env": "encode.dask_backend",
    "cached_photo_hashes": "curation.keep_one",
    "calibrate": "verdict.calibration",
    "centre_places": "layout.chart_points",
    "check_folder": "photos.folders",
    "clear_cache": "storage.deletion",
    "close_clusters": "encode.dask_backend",
    "cluster_persons": "search.evaluation",
    "cluster_search": "search.index",
    "connect": "encode.dask_backend",
    "content_digest": "photos.refs",
    "convert_model": "encode.onnx_session",
    "copy_in_set": "verdict.sentences",
    "decide_roots": "photos.roots",
    "decode_image": "photos.imaging",
    "default_cache_path": "settings",
    "default_dataset_path": "settings",
    "default_threshold": "verdict.calibration",
    "default_workers": "encode.workers",
    "delete_corrections": "storage.person_facts",
    "delete_id_rows": "storage.person_ids",
    "delete_imported": "storage.imported",
    "delete_photo_hashes": "storage.photo_hashes",
    "delete_set": "storage.deletion",
    "delete_sets_with": "storage.saved_sets",
    "detect_faces": "encode.detection",
    "detect_faces_scored": "encode.detection",
    "different_people": "people.corrections",
    "dims_for_variance": "search.reduce",
    "distance_distributions": "verdict.distances",
    "distances_to": "search.similarity",
    "drawn_rows": "layout.chart_points",
    "duplicate_groups": "curation.keep_one",
    "encode_bytes": "encode.encoding",
    "encode_faces": "encode.encoding",
    "encode_images": "faceset",
    "encode_query": "encode.encoding",
    "encoder_engine": "encode.encoding",
    "encodings_npz": "photos.exchange",
    "evaluate": "search.evaluation",
    "exact_search": "search.index",
    "explained_variance": "search.reduce",
    "face_chips": "encode.detection",
    "face_qualities": "encode.encoding",
    "face_thumbnail": "photos.imaging",
    "face_thumbnails": "photos.thumbnails",
    "faces_in_regions": "layout.chart_points",
    "faceset_layout_key": "layout.face_map",
    "faceset_map": "layout.face_map",
    "find_near_duplicates": "curation.near_duplicates",
    "find_similar": "search.similarity",
    "find_suspects": "curation.suspects",
    "fit_kmeans": "search.cluster",
    "fit_model": "search.similarity",
    "fit_pca": "search.reduce",
    "folder_disagreement": "curation.suspects",
    "from_uploads": "photos.archives",
    "faceset_quality": "curation.face_quality",
    "frontality": "curation.face_quality",
    "get_photo_hashes": "storage.photo_hashes",
    "group_faces": "people.grouping",
    "group_faceset": "people.grouping",
    "hash_photo": "curation.near_duplicates",
    "hidden_digests": "storage.hidden_photos",
    "hide_photos": "storage.hidden_photos",
    "hit_persons": "verdict.sentences",
    "import_encodings": "storage.imported",
    "imported_key": "storage.imported",
    "imported_sets": "storage.imported",
    "kept_faceset_map": "layout.face_map",
    "kept_model": "storage.set_fits",
    "kept_pca": "storage.set_fits",
    "kmeans_labels": "people.scores",
    "lfw_sample": "photos.datasets",
    "last_opened": "storage.read_ahead",
    "list_corrections": "storage.person_facts",
    "list_subfolders": "photos.roots",
    "load_corrections": "people.corrections",
    "low_quality_rows": "curation.face_quality",
    "load_imported": "storage.imported",
    "load_models": "encode.detection",
    "load_session": "encode.onnx_session",
    "map_method": "layout.face_map",
    "map_points": "layout.face_map",
    "mark_different": "people.edits",
    "match_verdict": "verdict.sentences",
    "max_dims": "search.reduce",
    "measure_in_background": "storage.set_results",
    "members_by_centroid": "search.similarity",
    "merge_ids": "people.edits",
    "merge_persons": "people.corrections",
    "model_from_centroids": "search.similarity",
    "model_kept": "storage.set_fits",
    "move_faces": "people.corrections",
    "move_to": "people.edits",
    "name_faces": "people.corrections",
    "name_id": "people.edits",
    "name_person": "people.corrections",
    "name_persons": "people.names",
    "near_duplicate_groups": "curation.near_duplicates",
    "neighbour_graph": "people.graph",
    "neighbours_kept": "layout.map_quality",
    "not_this_person": "people.corrections",
    "nothing_found": "encode.job",
    "onnx_encoder": "encode.encoding",
    "open_dataset": "photos.datasets",
    "open_saved_set": "storage.saved_sets",
    "parse_bar": "curation.face_quality",
    "passes_bar": "curation.face_quality",
    "people_report": "people.report",
    "person_ids": "search.evaluation",
    "persons_for": "people.identities",
    "photo_hashes": "curation.near_duplicates",
    "photo_ids": "people.faces",
    "photos_to_hide": "curation.keep_one",
    "project": "search.reduce",
    "propose_split": "people.suggestions",
    "put_photo_hashes": "storage.photo_hashes",
    "read_last_opened": "storage.read_ahead",
    "remember_opened": "storage.read_ahead",
    "quality_bar": "curation.face_quality",
    "quality_rows": "curation.face_quality",
    "quality_spread": "curation.face_quality",
    "read_encodings": "photos.exchange",
    "read_zip": "photos.archives",
    "recall": "search.index",
    "recommended_threshold": "verdict.calibration",
    "representatives": "people.names",
    "roots_from_env": "photos.roots",
    "same_person_neighbours": "layout.map_quality",
    "save_set": "storage.saved_sets",
    "scan_folder": "photos.folders",
    "score_labels": "people.scores",
    "set_read_ahead": "storage.read_ahead",
    "set_results_error": "storage.set_results",
    "shutdown_pools": "encode.workers",
    "silence_bomb_warnings": "photos.imaging",
    "similarity_map": "layout.face_map",
    "source_model_path": "encode.dlib_file",
    "split_parts": "people.edits",
    "split_person": "people.corrections",
    "stored_set_result": "storage.set_results",
    "suggest_k": "search.cluster",
    "suggest_merges": "people.suggestions",
    "threshold_sweep": "people.scores",
    "tune_search": "search.tuning",
    "typical_first": "people.names",
    "undo_correction": "storage.person_facts",
    "unhide_last": "storage.hidden_photos",
    "unhide_photos": "storage.hidden_photos",
    "verdict_threshold": "verdict.calibration",
    "wait_for_set_results": "storage.set_results",
    "worker_pids": "encode.workers",
    "write_imported": "storage.imported",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def _exports(
    package: str, extra: dict[str, str] | None = None
) -> tuple[list[str], Callable[[str], Any], Callable[[], list[str]]]:
    """A subpackage's ``__all__``, ``__getattr__`` and ``__dir__``, read from ``_LAZY`` (the one list).

    ``package`` is the subpackage's ``__name__`` (``"facecore.people"``); its public names are those
    ``_LAZY`` maps to one of its modules, plus ``extra`` (name -> module of the subpackage): names public
    to readers of the subpackage (bench) but not part of the top-level API. All load on first use.
    """
    prefix = package.removeprefix(f"{__name__}.") + "."
    names = {name: module for name, module in _LAZY.items() if module.startswith(prefix)}
    names |= {name: prefix + module for name, module in (extra or {}).items()}

    def get(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f".{module}", __name__), name)

    def listing() -> list[str]:
        return sorted(set(names) | set(vars(importlib.import_module(package))))

    return sorted(names), get, listing
