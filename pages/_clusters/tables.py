"""The Clusters page's tables, built from a face set and a fitted model: presentation only (numbers from facecore)."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from facecore import FaceSet, SimilarityModel, cluster_persons
from pages._shared.views import face_label, face_names

if TYPE_CHECKING:  # pandas is imported when a table is made: the page's first drawing makes none (0.2-0.35 s)
    import pandas as pd


def hover_texts(faceset: FaceSet, labels: np.ndarray) -> list[str]:
    """Plotly hover text per face: file name, person (parent folder) and cluster, ``<br>``-separated."""
    names = face_names(faceset)
    return [
        f"{name}<br>person: {f.person or '-'}<br>cluster: {int(c)}"
        for name, f, c in zip(names, faceset.faces, labels, strict=True)
    ]


def clusters_frame(faceset: FaceSet, model: SimilarityModel) -> pd.DataFrame:
    """One row per face: path, face index, person, cluster and its ``dims`` PC coordinates (PC1, PC2, ...)."""
    import pandas as pd

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
    import pandas as pd

    return pd.DataFrame(cluster_persons(model.labels, faceset.persons, model.k))


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
    import pandas as pd

    idx = np.asarray(rows, dtype=np.int64)
    return pd.DataFrame(
        {
            "file": [face_label(faceset.faces[i]) for i in idx],
            "folder": [faceset.faces[i].person or "" for i in idx],
            "group": np.asarray(labels, dtype=np.int64)[idx],
            "box": [" ".join(map(str, faceset.faces[i].box)) for i in idx],
        }
    )
