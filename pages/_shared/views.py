"""Tables and captions the pages show, built from a face set: presentation only.

Every function takes facecore results (a :class:`~facecore.faceset.FaceSet`,
a fitted :class:`~facecore.similarity.SimilarityModel`) and returns plain
data for a widget: pandas frames and strings (pictures: :mod:`pages._shared.pictures`). No Streamlit calls, no
loops that decide anything: the numbers come from facecore.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from facecore import Face, FaceSet

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


# ----------------------------------------------------------------- people (the People page, and others naming persons)


def person_label(person: int, names: Sequence[str | None]) -> str:
    """How a person is shown: its name, or "Person 7" (1-based) until named; "Unsorted" for ``-1``."""
    if person < 0:
        return "Unsorted"
    return names[person] or f"Person {person + 1}"


