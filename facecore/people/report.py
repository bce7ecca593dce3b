"""The people report: persons, their sizes and faces, and the grouping's scores against the folder
names when the photos are labelled.
"""

from __future__ import annotations

import numpy as np

from ..curation.face_quality import QualityBar, quality_bar
from .constraints import Constraints
from .faces import DEFAULT_MIN_SIZE, DEFAULT_THRESHOLD, face_fields
from .grouping import Grouping, group_faceset
from .names import name_persons
from .scores import kmeans_labels, score_labels

# --------------------------------------------------------------------------- report (CLI --json, app)


def rows_by_person(grouping: Grouping) -> list[np.ndarray]:
    """Face rows of every person, person 0 first (one sort, not one scan per person)."""
    order = np.argsort(grouping.labels, kind="stable")
    bounds = np.searchsorted(grouping.labels[order], np.arange(grouping.n_persons + 1))
    return [order[bounds[p] : bounds[p + 1]] for p in range(grouping.n_persons)]


def face_entries(faceset, rows) -> list[dict]:
    """``[{"path", "face", "box"}]`` for the face ``rows`` of a FaceSet: the photo, the face's number in it
    (0 = largest, as in the CSV export) and its ``[top, right, bottom, left]`` box in the photo's px after
    EXIF rotation. A group photo's faces share a path and differ by number and box."""
    faces = faceset.faces
    return [
        {"path": faces[int(r)].name, "face": int(faces[int(r)].in_photo), "box": [int(v) for v in faces[int(r)].box]}
        for r in rows
    ]


def _report_scores(faceset, grouping: Grouping, seed: int, kmeans: bool) -> dict | None:
    persons = faceset.persons
    known = sorted({p for p in persons if p is not None})
    if sum(p is not None for p in persons) < 2:
        return None
    s = score_labels(persons, grouping.labels)
    out = {k: v for k, v in s.as_dict().items() if k not in ("faces", "groups", "unsorted")}
    if kmeans and 2 <= len(known) <= len(persons):
        km = score_labels(persons, kmeans_labels(faceset.encodings, len(known), seed))
        out.update(kmeans_k=len(known), kmeans_pairwise_f=km.pairwise_f, kmeans_bcubed_f=km.bcubed_f)
    return out


def face_refs(faceset) -> list[str]:
    """How the CLI names each face: its photo's display path, ``PATH#N`` for face N >= 1 of a photo."""
    _, in_photo, display = face_fields(faceset)
    return [name if n == 0 else f"{name}#{n}" for name, n in zip(display, in_photo, strict=True)]


def people_report(
    faceset,
    threshold: float = DEFAULT_THRESHOLD,
    min_size: int = DEFAULT_MIN_SIZE,
    *,
    constraints: Constraints | None = None,
    seed: int = 0,
    kmeans: bool = True,
    store=None,
    bar: QualityBar | None = None,
) -> dict:
    """Group a FaceSet into persons; return a JSON-ready dict (what ``python -m facecore people --json`` prints).

    ``{"threshold", "min_size", "faces", "persons": [{"id", "name", "size", "paths", "faces"}],
    "unsorted": [paths], "unsorted_faces", "unsorted_low_quality", "quality_bar", "scores": {...} or None}``,
    persons largest first; ``faces``, ``unsorted_faces`` and ``unsorted_low_quality`` name each face by its
    photo, number and box (:func:`face_entries`). ``unsorted`` and ``unsorted_faces`` hold every face in no
    person; ``unsorted_low_quality`` those of them below the quality bar (``quality_bar``, in words), which
    join no person until moved (with ``store`` only: the quality is read from it; ``bar`` None is the app's,
    :func:`facecore.curation.face_quality.quality_bar`). With ``store``
    (an EncodingStore), ``id`` is the person's stable id and every correction stored there is applied
    (:func:`.identities.persons_for`, as in the app); without, ``constraints`` are applied and ids number
    the persons from 1. Paths are :func:`face_refs`. Scores (pairwise and BCubed precision/recall/F, and
    K-means with the true K when ``kmeans``) need folder names; they are None when fewer than two faces have one.
    """
    bar = quality_bar() if bar is None else bar
    if store is not None:
        from .identities import persons_for

        found = persons_for(store, faceset, threshold, min_size, seed=seed, bar=bar)
        g, names, ids = found.grouping, found.names, found.ids.tolist()
    else:
        c = constraints or Constraints.none()
        g = group_faceset(faceset, threshold, min_size, constraints=c, seed=seed)
        names, ids = name_persons(g, c.names), list(range(1, g.n_persons + 1))
    display = face_refs(faceset)
    persons = [
        {
            "id": ids[i],
            "name": names[i],
            "size": len(rows),
            "paths": [display[r] for r in rows],
            "faces": face_entries(faceset, rows),
        }
        for i, rows in enumerate(rows_by_person(g))
    ]
    return {
        "threshold": g.threshold,
        "method": g.method,
        "min_size": g.min_size,
        "faces": len(display),
        "persons": persons,
        "unsorted": [display[r] for r in g.unsorted],
        "unsorted_faces": face_entries(faceset, g.unsorted),
        "unsorted_low_quality": face_entries(faceset, g.low_quality),
        "quality_bar": bar.describe() if store is not None else "none",
        "scores": _report_scores(faceset, g, seed, kmeans),
    }
