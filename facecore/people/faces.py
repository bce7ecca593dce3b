"""What the people code reads from a FaceSet and checks at its boundary: each face's photo and place in it,
the photo ids that keep two faces of one photo apart, the threshold range and the defaults.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import settings as S
from ..errors import InvalidParameterError

#: Thresholds (Euclidean distance between encodings) a grouping accepts.
THRESHOLD_RANGE = (0.3, 0.7)
#: Chosen (with FIRST_PASS_GAP) on a random half of the 150 shared CelebA people and on 30/50-person
#: draws from it: mean pairwise F over those 9 sets 0.963 at 0.6 (0.952 at 0.575, 0.954 at 0.625;
#: gaps of 0.05 and 0.15 did worse or no better). On the other, held-out half: pairwise F 0.932, BCubed F 0.946,
#: against 0.916 / 0.913 for K-means given the true K (bench/people.py). Set in facecore.settings.
DEFAULT_THRESHOLD = S.PEOPLE_THRESHOLD
#: Groups of fewer faces are "unsorted": a person has two faces at least (at 2, no score changes:
#: single faces count as singletons either way; 3 cost 0.0002 pairwise F on the tuning half).
DEFAULT_MIN_SIZE = S.PEOPLE_MIN_SIZE


# --------------------------------------------------------------------------- faces of a FaceSet


def face_fields(faceset) -> tuple[list[str], list[int], list[str]]:
    """``(digests, number in photo, display names)`` of every face of a FaceSet, in row order.

    The one place that reads FaceSet.faces' attribute names.
    """
    faces = faceset.faces
    return [f.digest for f in faces], [f.in_photo for f in faces], [f.name for f in faces]


def photo_ids(faceset) -> np.ndarray:
    """``(n,)`` int64: faces of the same photo (same content digest) share a number."""
    digests = face_fields(faceset)[0]
    return codes(digests)


def codes(values: Sequence | np.ndarray) -> np.ndarray:
    """``(n,)`` int64: each value's rank among the distinct values, in sorted order (``np.unique``'s inverse)."""
    if len(values) == 0:
        return np.zeros(0, np.int64)
    if not (isinstance(values, np.ndarray) and values.dtype.kind in "biuf"):
        # Strings (photo digests): ranked through a dict, the same codes as np.unique's inverse without sorting
        # every value (10^5 digests: 0.02 s instead of 0.3 s, on every People page run).
        try:
            rank = {v: i for i, v in enumerate(sorted(set(values)))}
        except TypeError:  # values of mixed types: numpy compares them as text
            pass
        else:
            return np.fromiter((rank[v] for v in values), np.int64, len(values))
    _, inv = np.unique(np.asarray(values), return_inverse=True)
    return inv.reshape(-1).astype(np.int64)


# --------------------------------------------------------------------------- validation


def check_threshold(threshold: float, name: str = "threshold") -> float:
    """Return ``threshold`` as a float, or raise an error naming the allowed range."""
    lo, hi = THRESHOLD_RANGE
    if not isinstance(threshold, (int, float, np.floating)) or not lo <= float(threshold) <= hi:
        raise InvalidParameterError(f"{name}={threshold!r} must be between {lo} and {hi}.")
    return float(threshold)


def check_encodings(encodings: np.ndarray) -> np.ndarray:
    x = np.asarray(encodings, dtype=np.float32)
    if x.ndim != 2 or x.shape[1] != 128:
        raise InvalidParameterError(f"encodings has shape {x.shape}: pass an (n_faces, 128) array.")
    if not np.isfinite(x).all():
        raise InvalidParameterError("encodings contains NaN or infinity: re-encode the photos.")
    return x


def check_pairs(pairs, n: int, name: str) -> np.ndarray:
    p = np.asarray(pairs, dtype=np.int64).reshape(-1, 2) if len(pairs) else np.zeros((0, 2), np.int64)
    if p.size and (p.min() < 0 or p.max() >= n):
        raise InvalidParameterError(f"{name} names face rows outside 0..{n - 1}: pass rows of this face set.")
    return p[p[:, 0] != p[:, 1]]
