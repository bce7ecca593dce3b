"""Photos that may be filed under the wrong person, when folders name people.

Each photo's face (its largest: the one its folder names) is compared with the centre (mean encoding) of its own
folder's *other* faces and with the centres of every other folder. Its score is the ratio of the two distances,
own / nearest other: below 1 the face sits nearer its own folder, above 1 nearer another folder, which is then
the ``likely`` right one. Measured on the shared CelebA people with 30 photos moved into random wrong folders
(3 draws): the ratio put all but 1-2 of the 30 among the first 30 of 2,338 faces; the share of a face's 10
nearest faces from other folders missed 14-18, distances to folders' faces by median 1-2.

Centres are sums divided by counts: ``O(faces x folders x 128)``, no pairwise distances.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from ..errors import InvalidParameterError

#: Faces scored at a time against every folder centre (memory: block x folders float32).
_BLOCK = 2048


@dataclass(frozen=True)
class Suspect:
    """A face whose folder may be wrong: ``score`` = distance to its folder's centre (without it) over the
    distance to the nearest other folder's centre, ``likely`` that other folder."""

    path: str
    folder: str
    likely: str
    score: float

    def as_dict(self) -> dict:
        return asdict(self)


def folder_disagreement(encodings: np.ndarray, folders: Sequence[str]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Score each face against the folders: ``(score, likely, names)``.

    ``encodings`` ``(n, 128)``, ``folders[i]`` the folder of face i (every face named). ``score`` ``(n,)``
    float32 is own-centre distance / nearest-other-centre distance (NaN for a face alone in its folder: nothing
    to compare it with); ``likely`` ``(n,)`` int64 indexes ``names`` (sorted folder names), the nearest other
    folder. Needs 2 folders or more.
    """
    enc = np.asarray(encodings, dtype=np.float32)
    if len(enc) != len(folders):
        raise InvalidParameterError(f"{len(enc)} encodings but {len(folders)} folders: give one folder per face")
    names, label = np.unique(np.array([str(f) for f in folders]), return_inverse=True)
    if len(names) < 2:
        raise InvalidParameterError(f"folders={len(names)} should be >= 2: suspects need other folders to compare")
    sums = np.zeros((len(names), enc.shape[1]), np.float32)
    np.add.at(sums, label, enc)
    counts = np.bincount(label, minlength=len(names)).astype(np.float32)
    centres = sums / counts[:, None]
    rest = counts[label] - 1  # the face's folder without the face
    own_centre = (sums[label] - enc) / np.maximum(rest, 1)[:, None]
    own = np.linalg.norm(enc - own_centre, axis=1)
    other = np.empty(len(enc), np.float32)
    likely = np.empty(len(enc), np.int64)
    c2 = (centres * centres).sum(axis=1)
    for start in range(0, len(enc), _BLOCK):
        block, lab = enc[start : start + _BLOCK], label[start : start + _BLOCK]
        d2 = (block * block).sum(axis=1)[:, None] + c2[None, :] - 2.0 * block @ centres.T
        d2[np.arange(len(block)), lab] = np.inf
        likely[start : start + _BLOCK] = d2.argmin(axis=1)
        other[start : start + _BLOCK] = np.sqrt(np.maximum(d2.min(axis=1), 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(rest > 0, own / np.maximum(other, 1e-6), np.nan).astype(np.float32)
    return score, likely, [str(n) for n in names]


def find_suspects(faceset, *, limit: int | None = None, min_score: float = 0.0) -> list[Suspect]:
    """Faces of ``faceset`` most likely filed under the wrong folder, most suspicious first.

    Only each photo's largest face counts (the one its folder names) and only faces with a folder; a folder's
    lone face is not scored. ``min_score`` keeps faces scoring at least that (1.0: nearer another folder than
    their own); ``limit`` keeps the first ones. Returns ``[]`` when fewer than 2 folders have faces.
    """
    rows = [i for i, f in enumerate(faceset.faces) if f.in_photo == 0 and f.person is not None]
    folders = [faceset.faces[i].person for i in rows]
    if len(set(folders)) < 2:
        return []
    score, likely, names = folder_disagreement(faceset.encodings[rows], folders)
    order = [i for i in np.argsort(-np.nan_to_num(score, nan=-1.0), kind="stable") if score[i] >= min_score]
    if limit is not None:
        order = order[:limit]
    return [
        Suspect(faceset.faces[rows[i]].name, folders[i], names[likely[i]], round(float(score[i]), 4)) for i in order
    ]
