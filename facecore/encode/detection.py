"""Face detection and face chips: dlib's HOG (or face_recognition's CNN) detector and 5-point landmarks.

The detector looks at a copy downscaled to ``detect_max_side``; the boxes are mapped back, and the
aligned face chips cut from the full-resolution image exactly as ``face_recognition.face_encodings``
cuts them. Models load lazily, once per process (never at import), and a missing model package
becomes :class:`ModelMissingError` instead of face_recognition's ``quit()``.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np
from PIL import Image

from ..errors import ModelMissingError, OnnxEncoderUnavailableError
from ..photos.imaging import Box, truncation_flag_guard
from ..settings import EncoderSettings
from .dlib_file import installed_model

_api: ModuleType | None = None
_lock = threading.Lock()
_dlib: DlibModels | None = None


def load_models() -> ModuleType:
    """Import face_recognition (which loads dlib's models) once; return its api module.

    Raises :class:`ModelMissingError` with the install command when the model
    package or dlib is missing.
    """
    global _api
    with _lock:
        if _api is None:
            # face_recognition switches truncated-image loading on for the whole
            # process at import; the guard switches it off again and makes
            # decodes that overlapped the import in other threads run again.
            try:
                with truncation_flag_guard(), warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # pkg_resources deprecation noise
                    import face_recognition.api as api
            except (ImportError, SystemExit) as exc:
                raise ModelMissingError(
                    "face_recognition or its models are not installed: run "
                    "`pip install dlib-bin face_recognition_models 'setuptools<81'` and "
                    "`pip install --no-deps face_recognition` (see README)."
                ) from exc
            _api = api
    return _api


@dataclass(frozen=True)
class DlibModels:
    """What detection and alignment need: dlib's HOG face detector and 5-point landmark predictor.

    The same models face_recognition loads, without the 68-point predictor and
    dlib's ResNet it also loads at import (about 1 s per worker process).
    """

    detector: Any
    predictor: Any


def dlib_models() -> DlibModels:
    """Load dlib's HOG detector and face_recognition's 5-point predictor once per process.

    Raises :class:`ModelMissingError` when dlib or the model package is missing.
    """
    global _dlib
    with _lock:
        if _dlib is None:
            try:
                import dlib

                path = installed_model("shape_predictor_5_face_landmarks.dat")
                _dlib = DlibModels(dlib.get_frontal_face_detector(), dlib.shape_predictor(str(path)))
            except (ImportError, OnnxEncoderUnavailableError, RuntimeError) as exc:
                raise ModelMissingError(
                    "dlib or face_recognition_models is not installed: run "
                    "`pip install dlib-bin face_recognition_models` (see README)."
                ) from exc
    return _dlib


def _downscale(rgb: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    h, w = rgb.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    if scale >= 1.0:
        return rgb, 1.0
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = Image.fromarray(rgb).resize(size, Image.Resampling.BILINEAR)
    return np.asarray(small), scale


def _locate(image: np.ndarray, upsample: int, detector: str) -> list[Box]:
    """face_recognition's ``face_locations``: (top, right, bottom, left) boxes clipped to the image."""
    if detector == "hog":
        rects = dlib_models().detector(image, upsample)
    else:
        rects = [d.rect for d in load_models().cnn_face_detector(image, upsample)]
    h, w = image.shape[:2]
    return [(max(r.top(), 0), min(r.right(), w), min(r.bottom(), h), max(r.left(), 0)) for r in rects]


def detect_faces(rgb: np.ndarray, settings: EncoderSettings = EncoderSettings()) -> list[Box]:
    """Find faces in an RGB array; return boxes in full-resolution px, largest first.

    Detection runs on a copy whose longest side is at most
    ``settings.detect_max_side``. With ``upsample=None`` the detector first runs
    without upsampling and, only if that finds nothing, once more with one
    upsample (small faces), then on the full-size photo with one upsample (the
    plain face_recognition call). Most photos need only the first, cheapest pass.
    """
    small, small_scale = _downscale(rgb, settings.detect_max_side)
    if settings.upsample is None:
        # Cheapest pass first; the last pass is the article's own (full size,
        # one upsample), so no photo loses a face the plain loop would find.
        passes = [(small, small_scale, 0), (small, small_scale, 1)]
        if small_scale < 1.0:
            passes.append((rgb, 1.0, 1))
    else:
        passes = [(small, small_scale, settings.upsample)]
    found: list[Box] = []
    scale = 1.0
    for image, pass_scale, up in passes:
        found = _locate(image, up, settings.detector)
        if found:
            scale = pass_scale
            break
    h, w = rgb.shape[:2]
    boxes = [
        (
            max(0, int(t / scale)),
            min(w, int(round(r / scale))),
            min(h, int(round(b / scale))),
            max(0, int(lf / scale)),
        )
        for t, r, b, lf in found
    ]
    boxes = [bx for bx in boxes if bx[2] > bx[0] and bx[1] > bx[3]]
    boxes.sort(key=lambda bx: (bx[2] - bx[0]) * (bx[1] - bx[3]), reverse=True)
    return boxes


CHIP_SIDE = 150  # px: input_rgb_image_sized<150>
CHIP_PADDING = 0.25  # face_recognition's (dlib's) default chip padding




def face_chips(rgb: np.ndarray, boxes: Sequence[Box]) -> np.ndarray:
    """Cut the aligned face chips exactly as ``face_recognition.face_encodings(..., model="small")`` does.

    ``rgb``: uint8 ``(h, w, 3)``; ``boxes``: (top, right, bottom, left) px.
    Landmarks come from face_recognition's 5-point predictor (the same model file) on
    ``dlib.rectangle(left, top, right, bottom)``; each chip is dlib's
    ``get_face_chip`` (150 px, padding 0.25) of that face alone, which is what
    ``compute_face_descriptor`` cuts internally. Returns uint8 ``(n, 150, 150, 3)`` RGB.
    """
    if not boxes:
        return np.empty((0, CHIP_SIDE, CHIP_SIDE, 3), dtype=np.uint8)
    import dlib

    predictor = dlib_models().predictor
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    chips = []
    for top, right, bottom, left in boxes:
        shape = predictor(rgb, dlib.rectangle(left, top, right, bottom))
        # One face per call, as compute_face_descriptor does: dlib.get_face_chips cuts
        # several faces from one shared image pyramid, and a large face next to a small
        # one then comes out of another pyramid level (measured: chip pixels off by up
        # to 9, descriptor by 4e-3, on one shared photo).
        chips.append(np.asarray(dlib.get_face_chip(rgb, shape, size=CHIP_SIDE, padding=CHIP_PADDING), np.uint8))
    return np.stack(chips)
