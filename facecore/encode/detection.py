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


def _locate(image: np.ndarray, upsample: int, detector: str, min_score: float = 0.0) -> list[tuple[Box, float]]:
    """face_recognition's ``face_locations`` with the detector's scores: ((top, right, bottom, left), score) pairs.

    Boxes are clipped to the image. HOG keeps detections scoring at least
    ``min_score`` (0 is dlib's own cut); the CNN detector gives its confidence.
    """
    image = np.ascontiguousarray(image)  # dlib reads a strided 2-D view wrongly (its faces are lost)
    if detector == "hog":
        rects, scores, _ = dlib_models().detector.run(image, upsample, min_score)
    else:
        found = load_models().cnn_face_detector(image, upsample)
        rects, scores = [d.rect for d in found], [d.confidence for d in found]
    h, w = image.shape[:2]
    return [((max(r.top(), 0), min(r.right(), w), min(r.bottom(), h), max(r.left(), 0)), float(sc))
            for r, sc in zip(rects, scores, strict=True)]


#: Every-face mode: side in px of the blocks whose contrast decides where the full-size pass looks.
FLAT_BLOCK = 8
#: A block whose grey-level standard deviation is below this holds no edge a face could be made of
#: (sensor noise and JPEG grain stay below it); the HOG detector cannot fire on such a region.
FLAT_STD = 8.0
#: Busy blocks are widened by this many px on each side before cropping, so the detector's window
#: (80 px at the upsampled level, a little larger than the face box it reports) fits in the crop
#: around any face the small copy could not show (boxes below about 72 px there).
BUSY_MARGIN = 48
#: Above this share of the photo's area, the busy crops are not worth their moved cell grid.
MAX_CROPPED_SHARE = 0.5
#: Grey HOG detections from this score on are kept (dlib's colour cut is 0): on 46 group photos the 142
#: faces the article's loop found scored >= -0.14 in grey, and no other grey detection above -0.23.
GREY_ACCEPT = -0.2
#: The lowest grey HOG score looked at again in colour: on 340 generated photos one face the loop found
#: scored -0.24 in grey (0.16 in colour).
GREY_MIN_SCORE = -0.5
#: A grey candidate counts as found in colour from this much below 0 (its crop moves the cell grid, and
#: checking the candidates from -0.2 to 0 this way with a slack of 0.1 lost 6 of the loop's faces in 340 photos).
COLOUR_SLACK = 0.2


def _busy_regions(grey: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Crops (top, right, bottom, left) px of the ``(h, w)`` uint8 ``grey`` photo holding every region with edges.

    The photo is cut into FLAT_BLOCK px blocks; a block is busy when its grey
    levels vary (standard deviation >= FLAT_STD). Busy blocks are widened, and
    each connected group of them gives one crop (its bounding box), widened
    by BUSY_MARGIN. Blank canvas, sky or a plain wall drop out. When the
    crops would cover more than MAX_CROPPED_SHARE of the photo, the photo is
    one crop, itself: a crop moves the detector's cell grid, which shifts
    scores a little, so it is used only where it saves much.
    """
    from scipy import ndimage

    h, w = grey.shape
    n = FLAT_BLOCK
    gh, gw = h // n, w // n
    if gh < 2 or gw < 2:
        return [(0, w, h, 0)]
    std = grey[: gh * n, : gw * n].reshape(gh, n, gw, n).std(axis=(1, 3), dtype=np.float32)
    grow = -(-BUSY_MARGIN // n)
    busy = ndimage.binary_dilation(std >= FLAT_STD, np.ones((3, 3), bool), iterations=grow)
    labels, _ = ndimage.label(busy)
    crops = []
    for sl in ndimage.find_objects(labels):
        t, b = sl[0].start * n, h if sl[0].stop >= gh else sl[0].stop * n
        lf, r = sl[1].start * n, w if sl[1].stop >= gw else sl[1].stop * n
        crops.append((t, r, b, lf))
    if sum((b - t) * (r - lf) for t, r, b, lf in crops) > MAX_CROPPED_SHARE * h * w:
        return [(0, w, h, 0)]
    return crops


def _in_colour(rgb: np.ndarray, box: Box) -> float | None:
    """dlib's colour HOG score (one upsample) of the face at ``box``, on a crop around it; None if not found there.

    Scores down to -COLOUR_SLACK count: a crop moves the detector's cell grid,
    which shifts a face's score by a few tenths.
    """
    h, w = rgb.shape[:2]
    pad = max(BUSY_MARGIN, box[2] - box[0], box[1] - box[3])
    t, r, b, lf = max(0, box[0] - pad), min(w, box[1] + pad), min(h, box[2] + pad), max(0, box[3] - pad)
    scores = [sc for (ft, fr, fb, fl), sc in _locate(rgb[t:b, lf:r], 1, "hog", -COLOUR_SLACK)
              if _iou((ft + t, fr + lf, fb + t, fl + lf), box) >= 0.3]
    return max(scores) if scores else None


def _iou(a: Box, b: Box) -> float:
    """Intersection over union of two (top, right, bottom, left) boxes, 0..1."""
    ih, iw = min(a[2], b[2]) - max(a[0], b[0]), min(a[1], b[1]) - max(a[3], b[3])
    if ih <= 0 or iw <= 0:
        return 0.0
    inter = ih * iw
    return inter / ((a[2] - a[0]) * (a[1] - a[3]) + (b[2] - b[0]) * (b[1] - b[3]) - inter)


def _loops_pass(rgb: np.ndarray, detector: str) -> list[tuple[Box, float]]:
    """The article's own detection (colour, full size, one upsample, the detector's own cut) on the busy crops of
    ``rgb``: (box, score) in its px; the whole photo when most of it has edges (:func:`_busy_regions`).

    A phone photo with one small face is mostly blank canvas, wall or sky: on 22 generated 3000x2250 photos whose
    small copy showed no face, the crops found the loop's 22 faces and no other, in 2.2 CPU s against its 49 s.
    """
    if detector != "hog":
        return _locate(rgb, 1, detector)
    return _on_busy_crops(rgb, np.asarray(Image.fromarray(rgb).convert("L")), detector, 0.0)


def _on_busy_crops(image: np.ndarray, grey: np.ndarray, detector: str, min_score: float) -> list[tuple[Box, float]]:
    """``_locate(image, 1, detector, min_score)`` on each busy crop of the photo (``grey``: its grey copy), boxes in
    the photo's px."""
    found: list[tuple[Box, float]] = []
    for t, r, b, lf in _busy_regions(grey):
        found += [((bt + t, br + lf, bb + t, bl + lf), sc)
                  for (bt, br, bb, bl), sc in _locate(image[t:b, lf:r], 1, detector, min_score)]
    return found


def _full_size_pass(rgb: np.ndarray, detector: str) -> list[tuple[Box, float]]:
    """The article's own detection (full size, one upsample) on the busy crops of ``rgb``: (box, score) in its px.

    HOG scans the grey copy, 1.6x faster than dlib's colour HOG (which takes
    the strongest channel's gradient). Grey and colour scores of a face differ
    by up to about 0.4: grey detections from GREY_ACCEPT are kept, and a grey
    candidate from GREY_MIN_SCORE up to GREY_ACCEPT is kept when the colour
    detector, on a crop around it, finds it too (most photos have none). The CNN detector scans the colour photo.
    """
    if detector != "hog":
        return _locate(rgb, 1, detector)
    grey = np.asarray(Image.fromarray(rgb).convert("L"))
    found: list[tuple[Box, float]] = []
    for box, sc in _on_busy_crops(grey, grey, detector, GREY_MIN_SCORE):
        colour = sc if sc >= GREY_ACCEPT else _in_colour(rgb, box)
        found += [] if colour is None else [(box, colour)]
    return found


def _scaled(found: Sequence[tuple[Box, float]], scale: float, h: int, w: int) -> list[tuple[Box, float]]:
    """(box, score) found on a copy at ``scale``, boxes mapped back to the photo's px (clipped, empty ones dropped),
    largest first."""
    out = [
        ((max(0, int(t / scale)), min(w, int(round(r / scale))), min(h, int(round(b / scale))),
          max(0, int(lf / scale))), sc)
        for (t, r, b, lf), sc in found
    ]
    out = [(bx, sc) for bx, sc in out if bx[2] > bx[0] and bx[1] > bx[3]]
    out.sort(key=lambda f: (f[0][2] - f[0][0]) * (f[0][1] - f[0][3]), reverse=True)
    return out


#: Two boxes overlapping this much (intersection over union) are one face: the full-size pass's box of a face
#: the cascade found is dropped (the same face measured 0.5 or more on 2,324 of 2,332 shared photos).
SAME_FACE_IOU = 0.3


def _cascade(rgb: np.ndarray, settings: EncoderSettings) -> tuple[list[tuple[Box, float]], bool]:
    """Largest-face mode's detection: the first pass that finds a face, cheapest first; (box, score) in the photo's
    px, largest first, and whether the photo was looked at in full (at full size with one upsample, where the
    article's loop looks). With ``upsample=None``: the small copy, then it with one upsample, then, when the photo
    is larger than the copy, the article's own pass (:func:`_loops_pass`), so no photo loses a face the plain loop
    would find."""
    h, w = rgb.shape[:2]
    small, small_scale = _downscale(rgb, settings.detect_max_side)
    if settings.upsample is not None:
        return _scaled(_locate(small, settings.upsample, settings.detector), small_scale, h, w), False
    for up in (0, 1):
        if found := _locate(small, up, settings.detector):
            return _scaled(found, small_scale, h, w), small_scale == 1.0 and up == 1
    if small_scale == 1.0:
        return [], True
    return _scaled(_loops_pass(rgb, settings.detector), 1.0, h, w), True


def detect_faces_scored(rgb: np.ndarray, settings: EncoderSettings = EncoderSettings()) -> list[tuple[Box, float]]:
    """:func:`detect_faces` with the detector's score of each face: (box, score) pairs, largest first (every-face
    mode, version 2: the cascade's faces largest first, then the full-size pass's others largest first).

    The score is the one of the pass that found the face (the cascade's, or
    the full-size pass's: grey HOG at full size, one upsample).
    """
    if settings.every_pass == 0:
        return _cascade(rgb, settings)[0]
    # The small copy shows faces down to about 72 px there, and a smaller face is possible anywhere in a photo
    # larger than the copy: the article's own pass runs at full size and finds them.
    h, w = rgb.shape[:2]
    if settings.every_pass == 1:  # version 1: that pass alone (its boxes of the large faces differ from the cascade's)
        return _scaled(_full_size_pass(rgb, settings.detector), 1.0, h, w)
    # Version 2: the cascade first. Its faces keep their boxes and come first, so face 0 is the face largest-face
    # mode encodes (the full-size pass alone moved a face's encoding by 0.048, median, and lost 0.008 of
    # precision@5 on the shared photos; sorted by size, a larger weak face of that pass came first in 8 of them).
    # When the cascade looked at the photo in full (its last pass was the article's own), those are the faces and
    # the full-size pass is not run again (its lower cut had found a weak face in 41 shared photos the loop finds
    # none in).
    first, looked_in_full = _cascade(rgb, settings)
    if looked_in_full:
        return first
    full = _scaled(_full_size_pass(rgb, settings.detector), 1.0, h, w)
    return first + [(bx, sc) for bx, sc in full if all(_iou(bx, c) < SAME_FACE_IOU for c, _ in first)]


def detect_faces(rgb: np.ndarray, settings: EncoderSettings = EncoderSettings()) -> list[Box]:
    """Find faces in an RGB array; return boxes in full-resolution px, largest first.

    Detection runs on a copy whose longest side is at most
    ``settings.detect_max_side``. With ``upsample=None`` the detector first runs
    without upsampling and, only if that finds nothing, once more with one
    upsample (small faces), then, on a photo larger than the copy, at full size with
    one upsample as the plain face_recognition call does (:func:`_full_size_pass`,
    which skips flat regions). Most photos need only the first, cheapest pass.
    That cascade stops at the first pass that finds a face: right when only the
    largest face is kept, wrong for every face (the large faces show on the
    small copy, and the smaller ones were never looked for). So with
    ``settings.all_faces`` (and ``upsample=None``) the article's own pass runs
    too (:func:`_full_size_pass`), and every face the article's loop finds is found;
    the cascade's faces keep their boxes (version 2), so the largest face of a
    photo is encoded as in largest-face mode.
    """
    return [bx for bx, _ in detect_faces_scored(rgb, settings)]


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
