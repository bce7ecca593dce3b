"""Tables and captions the pages show, built from a face set: presentation only.

Every function takes facecore results (a :class:`~facecore.faceset.FaceSet`,
a fitted :class:`~facecore.similarity.SimilarityModel`) and returns plain
data for a widget: pandas frames and strings (pictures: :mod:`pages._pictures`). No Streamlit calls, no
loops that decide anything: the numbers come from facecore.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

import numpy as np
import pandas as pd

from facecore import Face, FaceSet, SimilarityModel, Skipped, cluster_persons, typical_first

#: The grey square shown where the cache has no crop of a face.


def face_label(face: Face) -> str:
    """A face's label: its photo's name, with ``#n`` for the second and later faces of a photo."""
    return face.name if face.in_photo == 0 else f"{face.name} #{face.in_photo + 1}"


def face_names(faceset: FaceSet) -> list[str]:
    """One label per face: its file name, with ``#n`` for the second and later faces of a photo."""
    return [face_label(f) for f in faceset.faces]


def matching_faces(names: Sequence[str], text: str, limit: int) -> tuple[list[int], int]:
    """The rows whose name contains ``text`` (any case), the first ``limit`` of them, and how many match in all."""
    needle = text.strip().lower()
    rows = [i for i, name in enumerate(names) if needle in name.lower()] if needle else list(range(len(names)))
    return rows[:limit], len(rows)


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


def cluster_table(faceset: FaceSet, model: SimilarityModel) -> pd.DataFrame:
    """One row per cluster: size, its most common person and that person's share, how many people it holds."""
    return pd.DataFrame(cluster_persons(model.labels, faceset.persons, model.k))


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


def result_frame(
    faceset: FaceSet,
    rows: Sequence[int] | np.ndarray,
    distances: np.ndarray,
    threshold: float,
    names: Sequence[str],
    pictures: Sequence[str] | None = None,
    people: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Ranked results as a table: face picture (data URI, when given), rank, distance, same-person tick
    (strictly below the threshold), file (``names`` of every face), folder, and the People page's person of
    each result (``people``, one per row, when given)."""
    idx = np.asarray(rows, dtype=np.int64)
    dist = np.asarray(distances, dtype=np.float64)
    columns = {} if pictures is None else {"face": list(pictures)}
    columns |= {
        "rank": np.arange(1, len(idx) + 1),
        "distance": np.round(dist, 3),
        "same person?": np.where(dist < threshold, "✓", ""),
        "file": [names[i] for i in idx],
        "folder": [faceset.faces[i].person or "" for i in idx],
    }
    if people is not None:
        columns["person"] = list(people)
    return pd.DataFrame(columns)


def point_row(customdata: object) -> int | None:
    """The face row a selected scatter point carries: its ``customdata`` is the row, or ``[row, group]``
    (a list, or the typed array the browser sends back as ``{"0": row, "1": group}`` or base64 ``bdata``)."""
    value = customdata
    if isinstance(value, dict) and "bdata" in value:
        value = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value.get("dtype", "i4"))
    elif isinstance(value, dict):
        value = [value[k] for k in sorted(value, key=lambda k: int(k) if str(k).isdigit() else 0)]
    if isinstance(value, (list, tuple, np.ndarray)):
        value = value[0] if len(value) else None
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def selection_frame(faceset: FaceSet, rows: Sequence[int], labels: np.ndarray) -> pd.DataFrame:
    """Picked faces as a table: file, folder, group and box (top, right, bottom, left px)."""
    idx = np.asarray(rows, dtype=np.int64)
    return pd.DataFrame(
        {
            "file": [face_label(faceset.faces[i]) for i in idx],
            "folder": [faceset.faces[i].person or "" for i in idx],
            "group": np.asarray(labels, dtype=np.int64)[idx],
            "box": [" ".join(map(str, faceset.faces[i].box)) for i in idx],
        }
    )




def skipped_frame(skipped: Sequence[Skipped]) -> pd.DataFrame:
    """The skipped files as a table with columns path, reason, detail."""
    return pd.DataFrame(
        {
            "path": [s.path for s in skipped],
            "reason": [s.reason for s in skipped],
            "detail": [s.detail for s in skipped],
        }
    )






# ----------------------------------------------------------------- people (the People page, and others naming persons)


def person_label(person: int, names: Sequence[str | None]) -> str:
    """How a person is shown: its name, or "Person 7" (1-based) until named; "Unsorted" for ``-1``."""
    if person < 0:
        return "Unsorted"
    return names[person] or f"Person {person + 1}"


def people_frame(faceset: FaceSet, labels: np.ndarray, names: Sequence[str | None]) -> pd.DataFrame:
    """One row per face, persons first (by number, most typical face first), then the unsorted faces.

    Columns: ``person`` (the number shown on the page, empty when unsorted),
    ``name``, ``photo`` (path as loaded), ``face`` (0 = the photo's largest
    face), ``top``/``right``/``bottom``/``left`` (the face box in px of the photo).
    """
    labels = np.asarray(labels, dtype=np.int64)
    rows = np.concatenate([typical_first(faceset.encodings, labels), np.flatnonzero(labels < 0)])
    faces = [faceset.faces[int(r)] for r in rows]
    lab = labels[rows]
    frame = pd.DataFrame(
        {
            "person": pd.array([int(p) + 1 if p >= 0 else None for p in lab], dtype="Int64"),
            "name": [(names[p] or "") if p >= 0 else "" for p in lab],
            "photo": [f.name for f in faces],
            "face": [f.in_photo for f in faces],
        }
    )
    boxes = np.asarray([f.box for f in faces], dtype=np.int64).reshape(-1, 4)
    for i, col in enumerate(("top", "right", "bottom", "left")):
        frame[col] = boxes[:, i]
    return frame
