"""The People page's table of faces and persons: presentation only (numbers from facecore)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from facecore import FaceSet, typical_first


def people_frame(
    faceset: FaceSet,
    labels: np.ndarray,
    names: Sequence[str | None],
    ids: Sequence[int] | np.ndarray | None = None,
    rows: np.ndarray | None = None,
) -> pd.DataFrame:
    """One row per face, persons first (largest first, most typical face first), then the unsorted faces;
    with ``rows`` (face rows, e.g. one person's, most typical first), one row per face of ``rows`` in that order.

    Columns: ``person`` (the number shown on the page: the person's stable id ``ids[label]``, else
    label + 1; empty when unsorted),
    ``name``, ``photo`` (path as loaded), ``face`` (0 = the photo's largest
    face), ``top``/``right``/``bottom``/``left`` (the face box in px of the photo).
    """
    labels = np.asarray(labels, dtype=np.int64)
    if rows is None:
        rows = np.concatenate([typical_first(faceset.encodings, labels), np.flatnonzero(labels < 0)])
    faces = [faceset.faces[int(r)] for r in rows]
    lab = labels[rows]
    frame = pd.DataFrame(
        {
            "person": pd.array([(int(ids[p]) if ids is not None else int(p) + 1) if p >= 0 else None for p in lab],
                               dtype="Int64"),  # fmt: skip
            "name": [(names[p] or "") if p >= 0 else "" for p in lab],
            "photo": [f.name for f in faces],
            "face": [f.in_photo for f in faces],
        }
    )
    boxes = np.asarray([f.box for f in faces], dtype=np.int64).reshape(-1, 4)
    for i, col in enumerate(("top", "right", "bottom", "left")):
        frame[col] = boxes[:, i]
    return frame
