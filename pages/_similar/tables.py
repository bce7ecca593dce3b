"""The Similar faces page's result table: presentation only (numbers from facecore)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from facecore import FaceSet


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
