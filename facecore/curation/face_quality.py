"""How far a face can be trusted: its size, the detector's confidence, its sharpness and how frontal it is.

Pure functions on what detection and alignment already made (the face box,
dlib's detector score, a 100 px aligned chip, the 5 landmarks); no model
is loaded here (:func:`facecore.encode.encoding.face_qualities` measures a photo's
faces). A face is one row of four float32 numbers, in :data:`QUALITY_FIELDS` order:

- ``size``: the side in px of the face box in the photo (square root of its area);
- ``score``: the detector's score of the face, from the pass that found it
  (HOG: 0 is dlib's own cut, every-face mode keeps grey scores from -0.2;
  frontal sharp faces reach 1-3);
- ``sharpness``: variance of the Laplacian of the grey aligned chip's centre
  (small faces are upsampled into the chip, so they come out soft);
- ``frontal``: 1 for a face looking at the camera, towards 0 as it turns
  (nose-to-eye distances on both sides, from the 5 landmarks).

:func:`passes_bar` is the gate: a face below the bar stays searchable but
never starts or joins a person on its own ("unsorted · low quality").
Unknown quality (NaN: a cache written before quality was measured) passes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..errors import InvalidParameterError

QUALITY_FIELDS = ("size", "score", "sharpness", "frontal")


@dataclass(frozen=True)
class QualityBar:
    """The least quality a face needs to start or join a person; each field 0 means "no bar".

    ``min_size`` px, ``min_score`` detector score, ``min_sharpness`` Laplacian
    variance, ``min_frontal`` 0..1. The app's default is no bar (:data:`DEFAULT_BAR`).
    """

    min_size: float = 0.0
    min_score: float = -np.inf
    min_sharpness: float = 0.0
    min_frontal: float = 0.0

    def describe(self) -> str:
        """The bar in words, e.g. ``"size >= 40 px, score >= 0"``, or ``"none"`` when it gates nothing."""
        parts = [f"size >= {self.min_size:g} px" if self.min_size > 0 else "",
                 f"score >= {self.min_score:g}" if np.isfinite(self.min_score) else "",
                 f"sharpness >= {self.min_sharpness:g}" if self.min_sharpness > 0 else "",
                 f"frontal >= {self.min_frontal:g}" if self.min_frontal > 0 else ""]
        return ", ".join(p for p in parts if p) or "none"

    def as_array(self) -> np.ndarray:
        """The bar as a ``(4,)`` float32 row in :data:`QUALITY_FIELDS` order."""
        return np.array([self.min_size, self.min_score, self.min_sharpness, self.min_frontal], np.float32)


#: The bar persons are built with (the People page, ``people``, the Photos page's filter) unless
#: ``$FACECORE_QUALITY_BAR`` sets one (:func:`quality_bar`). No bar: measured by ``bench/face_quality.py`` on group
#: photos with tiny and blurred faces, no bar raised persons' pairwise F by the 0.01 that is noise there.
DEFAULT_BAR = QualityBar()
#: Faces below this bar (blurred) but above the quality bar do not build persons: each joins the person nearest to
#: it once the others are grouped (:mod:`facecore.people.weak`). Chosen on the development group photos with tiny
#: and blurred faces of two seeds (sharpness 6, 13, 20, 30, 45 tried; bench/face_quality.py).
LINK_BAR = QualityBar(min_sharpness=6.0)
#: Environment variable setting the quality bar, e.g. ``size=40,sharpness=10`` (fields: size, score, sharpness,
#: frontal; the others stay unbarred).
QUALITY_BAR_ENV = "FACECORE_QUALITY_BAR"
_FIELD_OF = {"size": "min_size", "score": "min_score", "sharpness": "min_sharpness", "frontal": "min_frontal"}


def parse_bar(text: str) -> QualityBar:
    """The :class:`QualityBar` written as ``"size=40,score=0"`` (``""``: no bar); raise InvalidParameterError."""
    values = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, value = part.partition("=")
        try:
            values[_FIELD_OF[name.strip()]] = float(value)
        except (KeyError, ValueError):
            raise InvalidParameterError(
                f"The quality bar {text!r} is not understood at {part!r}: write e.g. size=40,sharpness=10 "
                f"(fields {', '.join(_FIELD_OF)}, each a number)."
            ) from None
    return QualityBar(**values)


def quality_bar() -> QualityBar:
    """The bar in force: ``$FACECORE_QUALITY_BAR`` (:func:`parse_bar`) when set, else :data:`DEFAULT_BAR`."""
    text = os.environ.get(QUALITY_BAR_ENV, "").strip()
    return parse_bar(text) if text else DEFAULT_BAR


def box_size(boxes: np.ndarray) -> np.ndarray:
    """Side in px (square root of the area) of ``(n, 4)`` (top, right, bottom, left) boxes; ``(n,)`` float32."""
    b = np.asarray(boxes, np.float32).reshape(-1, 4)
    return np.sqrt(np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 1] - b[:, 3], 0, None))


def sharpness(chips: np.ndarray, centre: float = 0.6) -> np.ndarray:
    """Variance of the 4-neighbour Laplacian of the grey ``(n, s, s, 3)`` uint8 chips' centres; ``(n,)`` float32.

    Only the central ``centre`` share of each side is used (the chip's
    padding holds hair and background, whose edges say nothing of the face).
    """
    c = np.asarray(chips, np.float32)
    if c.ndim != 4 or len(c) == 0:
        return np.empty(0, np.float32)
    grey = c @ np.array([0.299, 0.587, 0.114], np.float32)
    s = grey.shape[1]
    m = int(round(s * (1 - centre) / 2))
    g = grey[:, m : s - m, m : s - m]
    lap = g[:, 1:-1, :-2] + g[:, 1:-1, 2:] + g[:, :-2, 1:-1] + g[:, 2:, 1:-1] - 4 * g[:, 1:-1, 1:-1]
    return lap.reshape(len(c), -1).var(axis=1).astype(np.float32)


def frontality(landmarks: np.ndarray) -> np.ndarray:
    """How frontal ``(n, 5, 2)`` (x, y) 5-point landmarks are: ``(n,)`` float32 in 0..1, 1 = facing the camera.

    dlib's 5-point model gives two corners of each eye (points 0-1, 2-3)
    and the base of the nose (4). A face turned away brings the nose towards
    one eye: 1 - |dl - dr| / (dl + dr), with dl, dr the nose-to-eye-centre distances.
    """
    p = np.asarray(landmarks, np.float32).reshape(-1, 5, 2)
    nose = p[:, 4]
    dl = np.linalg.norm(p[:, 0:2].mean(axis=1) - nose, axis=1)
    dr = np.linalg.norm(p[:, 2:4].mean(axis=1) - nose, axis=1)
    total = np.maximum(dl + dr, 1e-6)
    return (1.0 - np.abs(dl - dr) / total).astype(np.float32)


def quality_rows(boxes: np.ndarray, scores: np.ndarray, chips: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """The ``(n, 4)`` float32 quality rows (:data:`QUALITY_FIELDS`) of n faces from their ``(n, 4)`` boxes,
    ``(n,)`` scores, ``(n, s, s, 3)`` uint8 chips and ``(n, 5, 2)`` landmarks."""
    n = len(np.asarray(boxes).reshape(-1, 4))
    if n == 0:
        return np.empty((0, 4), np.float32)
    return np.stack([box_size(boxes), np.asarray(scores, np.float32).reshape(n), sharpness(chips),
                     frontality(landmarks)], axis=1).astype(np.float32)


def passes_bar(quality: np.ndarray, bar: QualityBar) -> np.ndarray:
    """``(n,)`` bool: which ``(n, 4)`` quality rows reach ``bar`` on every field (NaN, unknown, passes)."""
    q = np.asarray(quality, np.float32).reshape(-1, 4)
    low = q < bar.as_array()[None, :]
    return ~np.any(low & ~np.isnan(q), axis=1)


#: The quality rows of the last sets read, by (cache file, encoder settings, FaceSet key): at 100,000 photos one
#: read takes 0.65-0.77 s, and the People page reads them again after every correction. A face's quality is
#: written once, with its encoding (the same photo under the same settings always measures the same), and a set
#: whose photos change has another key, so what is kept here cannot go stale.
_KEPT: dict[tuple[str, str, str], np.ndarray] = {}
_KEPT_SETS = 4


def faceset_quality(store, faceset) -> np.ndarray:
    """The ``(len(faceset), 4)`` float32 quality rows of a FaceSet's faces as stored in ``store`` (an
    :class:`~facecore.storage.encodings.EncodingStore`) under its encoder settings; NaN rows where none is stored.
    Read-only; kept in memory for the last few sets (:data:`_KEPT`)."""
    key = (os.fspath(store.path), faceset.settings_key, faceset.key)
    if (kept := _KEPT.get(key)) is not None and len(kept) == len(faceset):
        return kept
    keys = [(f.digest, f.in_photo) for f in faceset.faces]
    rows = store.face_quality(keys, faceset.settings_key)
    rows.flags.writeable = False
    while len(_KEPT) >= _KEPT_SETS:
        _KEPT.pop(next(iter(_KEPT)), None)
    _KEPT[key] = rows
    return rows


def low_quality_rows(quality: np.ndarray, bar: QualityBar) -> np.ndarray:
    """``(k,)`` int64 rows of ``(n, 4)`` quality rows below ``bar``: the faces that wait in "unsorted · low quality"."""
    return np.flatnonzero(~passes_bar(quality, bar)).astype(np.int64)


#: Face sizes (px) at which the Photos page's quality spread is cut.
SIZE_BANDS = (40, 60, 80, 120, 200)


def quality_spread(quality: np.ndarray, bar: QualityBar) -> dict:
    """How a set's faces spread over quality, from ``(n, 4)`` quality rows: ``{"bands": [{"label", "low", "high",
    "faces"}], "below_bar": k, "unknown": u, "faces": n}``. Bands are face sizes cut at :data:`SIZE_BANDS` px
    (``low <= size < high``; labels "< 40 px", "40-60 px", ..., ">= 200 px"); faces of unknown quality (NaN) are
    in no band and pass the bar."""
    q = np.asarray(quality, np.float32).reshape(-1, 4)
    size = q[:, 0]
    edges = [0.0, *map(float, SIZE_BANDS), float("inf")]
    bands = []
    for lo, hi in zip(edges, edges[1:], strict=False):
        label = f"< {hi:g} px" if lo == 0 else f">= {lo:g} px" if hi == float("inf") else f"{lo:g}-{hi:g} px"
        bands.append({"label": label, "low": lo, "high": hi, "faces": int(((size >= lo) & (size < hi)).sum())})
    return {"bands": bands, "below_bar": int((~passes_bar(q, bar)).sum()), "unknown": int(np.isnan(size).sum()),
            "faces": len(q)}
