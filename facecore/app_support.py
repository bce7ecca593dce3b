"""Small pure helpers for the Streamlit pages: tables, captions and downloads built from a face set.

Every function here takes a :class:`~facecore.faceset.FaceSet` (and a fitted
:class:`~facecore.similarity.SimilarityModel` where clusters matter) and
returns plain data: pandas frames, lists of strings, bytes. They hold the
loops over faces so the pages stay widgets and layout only. No Streamlit
import; nothing is written to disk.
"""

from __future__ import annotations

import io
from base64 import b64encode
from collections.abc import Sequence

import numpy as np
import pandas as pd
from PIL import Image, UnidentifiedImageError

from .errors import DatasetError
from .faceset import FaceSet
from .similarity import SimilarityModel
from .sources import ImageRef, Skipped


def thumb_keys(faceset: FaceSet, indices: Sequence[int] | np.ndarray) -> list[tuple[str, int]]:
    """The ``(digest, face index)`` cache keys of the faces at ``indices``, for ``EncodingStore.thumbnails``."""
    return [(faceset.faces[int(i)].digest, faceset.faces[int(i)].in_photo) for i in indices]


def face_names(faceset: FaceSet) -> list[str]:
    """One label per face: its file name, with ``#n`` for the second and later faces of a photo."""
    return [f.name if f.in_photo == 0 else f"{f.name} #{f.in_photo + 1}" for f in faceset.faces]


def hover_texts(faceset: FaceSet, labels: np.ndarray) -> list[str]:
    """Plotly hover text per face: file name, person (parent folder) and cluster, ``<br>``-separated."""
    names = face_names(faceset)
    return [
        f"{name}<br>person: {f.person or '-'}<br>cluster: {int(c)}"
        for name, f, c in zip(names, faceset.faces, labels, strict=True)
    ]


def clusters_frame(faceset: FaceSet, model: SimilarityModel) -> pd.DataFrame:
    """One row per face: path, face index, person, cluster and its ``dims`` PC coordinates (PC1, PC2, ...)."""
    frame = pd.DataFrame(
        {
            "path": [f.name for f in faceset.faces],
            "face": [f.in_photo for f in faceset.faces],
            "person": [f.person or "" for f in faceset.faces],
            "cluster": np.asarray(model.labels, dtype=np.int64),
        }
    )
    pcs = pd.DataFrame(model.reduced, columns=[f"PC{i + 1}" for i in range(model.dims)])
    return pd.concat([frame, pcs], axis=1)


def cluster_summary(faceset: FaceSet, model: SimilarityModel) -> pd.DataFrame:
    """One row per cluster: size, its most common person and that person's share of the cluster.

    The person columns are empty when the file names carry no person folder.
    """
    persons = pd.Series([f.person for f in faceset.faces], dtype=object)
    labels = pd.Series(np.asarray(model.labels, dtype=np.int64))
    sizes = model.index.sizes()
    rows = []
    for c in range(model.k):
        named = persons[labels == c].dropna()
        top = named.value_counts()
        main, count = (str(top.index[0]), int(top.iloc[0])) if len(top) else ("", 0)
        rows.append(
            {
                "cluster": c,
                "faces": int(sizes[c]),
                "main person": main,
                "share": round(count / sizes[c], 3) if sizes[c] and main else None,
                "people": int(named.nunique()),
            }
        )
    return pd.DataFrame(rows)


def members_by_centroid(model: SimilarityModel, cluster: int) -> np.ndarray:
    """Indices of the faces of ``cluster``, nearest its centroid first (in PCA space)."""
    members = model.index.members(cluster)
    d = np.linalg.norm(model.reduced[members] - model.centroids[cluster], axis=1)
    return members[np.argsort(d, kind="stable")]


def distances_to(model: SimilarityModel, query: np.ndarray, indices: Sequence[int] | np.ndarray) -> np.ndarray:
    """128-d Euclidean distances from the ``(128,)`` query encoding to the faces at ``indices``."""
    idx = np.asarray(indices, dtype=np.int64)
    q = np.asarray(query, dtype=np.float32).ravel()
    return np.linalg.norm(model.encodings[idx] - q, axis=1)


def ranking_frame(
    faceset: FaceSet, indices: Sequence[int] | np.ndarray, distances: Sequence[float] | np.ndarray, threshold: float
) -> pd.DataFrame:
    """A ranked result as a table: rank, path, person, 128-d distance, "likely same person" (distance < threshold)."""
    idx = np.asarray(indices, dtype=np.int64)
    dist = np.asarray(distances, dtype=np.float64)
    names = face_names(faceset)
    return pd.DataFrame(
        {
            "rank": np.arange(1, len(idx) + 1),
            "path": [names[i] for i in idx],
            "person": [faceset.faces[i].person or "" for i in idx],
            "distance": np.round(dist, 4),
            "likely same person": dist < threshold,
        }
    )


def captions(
    faceset: FaceSet,
    indices: Sequence[int] | np.ndarray,
    distances: Sequence[float] | np.ndarray | None = None,
    threshold: float | None = None,
) -> list[str]:
    """Short captions for a thumbnail grid: ``distance (✓ if below threshold) · person or file name``."""
    out = []
    for n, i in enumerate(np.asarray(indices, dtype=np.int64)):
        f = faceset.faces[i]
        who = f.person or f.name.rsplit("/", 1)[-1]
        if distances is None:
            out.append(who)
            continue
        d = float(distances[n])
        mark = " ✓" if threshold is not None and d < threshold else ""
        out.append(f"{d:.2f}{mark} · {who}")
    return out


def same_person_share(faceset: FaceSet, query_person: str | None, indices: Sequence[int] | np.ndarray) -> float | None:
    """Share of the faces at ``indices`` whose person equals ``query_person`` (None when unknown or empty)."""
    idx = np.asarray(indices, dtype=np.int64)
    if query_person is None or len(idx) == 0:
        return None
    return float(np.mean([faceset.faces[i].person == query_person for i in idx]))


def skipped_frame(skipped: Sequence[Skipped]) -> pd.DataFrame:
    """The skipped files as a table with columns path, reason, detail."""
    return pd.DataFrame(
        {
            "path": [s.path for s in skipped],
            "reason": [s.reason for s in skipped],
            "detail": [s.detail for s in skipped],
        }
    )


def encodings_npz(faceset: FaceSet) -> bytes:
    """The encodings with their names as a compressed ``.npz``.

    Arrays: ``encodings`` (n, 128) float32, ``path``, ``person``, ``digest``
    (sha256 of the photo), ``face`` (index in the photo) and ``box``
    (n, 4) int (top, right, bottom, left) px.
    """
    buf = io.BytesIO()
    np.savez_compressed(
        buf,
        encodings=np.asarray(faceset.encodings, dtype=np.float32),
        path=np.array([f.name for f in faceset.faces], dtype=str),
        person=np.array([f.person or "" for f in faceset.faces], dtype=str),
        digest=np.array([f.digest for f in faceset.faces], dtype=str),
        face=np.array([f.in_photo for f in faceset.faces], dtype=np.int64),
        box=np.array([f.box for f in faceset.faces], dtype=np.int64).reshape(-1, 4),
    )
    return buf.getvalue()


def lfw_sample(
    min_faces_per_person: int = 30, max_people: int = 8, per_person: int = 15
) -> tuple[list[ImageRef], list[Skipped]]:
    """A small built-in sample: LFW photos through ``sklearn.datasets.fetch_lfw_people``, as in-memory JPEGs.

    Names are ``<person>/<n>.jpg`` so the identity-aware parts of the app work.
    The first call downloads about 200 MB from the internet; raises
    :class:`DatasetError` saying so when the download is impossible.
    """
    from sklearn.datasets import fetch_lfw_people

    try:
        lfw = fetch_lfw_people(min_faces_per_person=min_faces_per_person, resize=1.0, color=True, slice_=None)
    except OSError as exc:  # URLError, socket errors, a read-only data folder
        raise DatasetError(
            "The LFW sample could not be downloaded: this server has no internet access "
            f"({exc}). Load a folder on the server or upload photos instead."
        ) from exc
    images = np.asarray(lfw.images)
    if images.size and images.max() <= 1.0:  # some sklearn versions scale pixels to 0..1
        images = images * 255.0
    images = np.clip(images, 0, 255).astype(np.uint8)
    refs: list[ImageRef] = []
    taken: dict[int, int] = {}
    for img, target in zip(images, lfw.target, strict=True):
        person = int(target)
        if person >= max_people or taken.get(person, 0) >= per_person:
            continue
        taken[person] = taken.get(person, 0) + 1
        name = str(lfw.target_names[person]).replace(" ", "_")
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="JPEG", quality=92)
        refs.append(ImageRef(name=f"{name}/{taken[person]:03d}.jpg", data=buf.getvalue()))
    return refs, []


def hover_image_uris(jpegs: Sequence[bytes], side: int = 64, quality: int = 75) -> list[str]:
    """Small ``data:image/jpeg;base64,…`` URIs of face crops, for showing a face where the mouse hovers.

    Each crop is shrunk to at most ``side`` px: about 2 KB per face, so the
    browser gets one page-sized payload for a few thousand faces. A crop
    Pillow cannot read becomes an empty string (no picture on hover).
    """
    uris = []
    for data in jpegs:
        try:
            with Image.open(io.BytesIO(data)) as im:
                im = im.convert("RGB")
                im.thumbnail((side, side), Image.Resampling.LANCZOS)
                buf = io.BytesIO()
                im.save(buf, format="JPEG", quality=quality)
        except (UnidentifiedImageError, OSError):
            uris.append("")
            continue
        uris.append("data:image/jpeg;base64," + b64encode(buf.getvalue()).decode("ascii"))
    return uris
