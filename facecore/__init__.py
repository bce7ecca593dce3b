"""facecore: find similar faces in a photo collection.

128-d face_recognition encodings, PCA, K-means and the article's
nearest-centroid search, with an encoding cache, identity-aware evaluation
and a CLI (``python -m facecore``). Never imports Streamlit.
"""

from .cluster import auto_k, fit_kmeans, suggest_k
from .dataset import Face, FaceSet, Progress, encode_images
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
from .evaluate import Evaluation, evaluate
from .reduce import dims_for_variance, explained_variance, fit_pca, project
from .search import ClusterIndex, SearchResult, cluster_search, exact_search
from .settings import EncoderSettings
from .similarity import Similar, SimilarityModel, find_similar, fit_model
from .sources import ImageRef, Skipped, decode_image, from_uploads, open_dataset, read_zip, scan_folder
from .store import EncodingStore

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
