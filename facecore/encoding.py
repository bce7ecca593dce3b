"""Face detection and 128-d encodings with face_recognition (dlib's ResNet).

The detector looks at a copy downscaled to ``detect_max_side``; the boxes are
mapped back and the encodings computed on the full-resolution image. Models
load lazily, once per process (never at import), and a missing model package
becomes :class:`ModelMissingError` instead of face_recognition's ``quit()``.
:func:`encode_bytes` is the unit of work the worker processes run
(:mod:`facecore.workers`): decode once, detect, encode, make the face thumbnails.
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass, field
from types import ModuleType

import numpy as np
from PIL import Image

from .errors import ModelMissingError, NoFaceFoundError, UnreadableImageError
from .imaging import Box, decode_image, face_thumbnail, truncation_flag_guard
from .settings import EncoderSettings
from .sources import content_digest

_api: ModuleType | None = None
_lock = threading.Lock()


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


def _downscale(rgb: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    h, w = rgb.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    if scale >= 1.0:
        return rgb, 1.0
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = Image.fromarray(rgb).resize(size, Image.Resampling.BILINEAR)
    return np.asarray(small), scale


def detect_faces(rgb: np.ndarray, settings: EncoderSettings = EncoderSettings()) -> list[Box]:
    """Find faces in an RGB array; return boxes in full-resolution px, largest first.

    Detection runs on a copy whose longest side is at most
    ``settings.detect_max_side``. With ``upsample=None`` the detector first runs
    without upsampling and, only if that finds nothing, once more with one
    upsample (small faces), then on the full-size photo with one upsample (the
    plain face_recognition call). Most photos need only the first, cheapest pass.
    """
    api = load_models()
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
        found = api.face_locations(image, number_of_times_to_upsample=up, model=settings.detector)
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


def encode_faces(rgb: np.ndarray, boxes: list[Box], jitters: int = 1) -> np.ndarray:
    """Return the ``(len(boxes), 128)`` float32 encodings of the given face boxes.

    Landmarks and encodings are computed on ``rgb`` (full resolution); passing
    the boxes stops face_recognition from running detection again.
    """
    if not boxes:
        return np.empty((0, 128), dtype=np.float32)
    api = load_models()
    encs = api.face_encodings(rgb, known_face_locations=boxes, num_jitters=jitters, model="small")
    return np.asarray(encs, dtype=np.float32).reshape(len(boxes), 128)


@dataclass
class EncodedImage:
    """What one image produced: its faces (largest first) or why it was skipped.

    ``boxes`` are (top, right, bottom, left) px in the oriented image;
    ``encodings`` is ``(n_faces, 128)`` float32; ``thumbs`` holds one JPEG per face.
    ``reason``/``detail`` are set when the image was unusable or had no face.
    """

    digest: str
    width: int = 0
    height: int = 0
    boxes: list[Box] = field(default_factory=list)
    encodings: np.ndarray = field(default_factory=lambda: np.empty((0, 128), np.float32))
    thumbs: list[bytes] = field(default_factory=list)
    reason: str | None = None
    detail: str = ""


def encode_bytes(data: bytes, settings: EncoderSettings = EncoderSettings()) -> EncodedImage:
    """Decode, detect and encode one image's bytes; never raises for a bad image.

    A file that cannot be decoded or has no face comes back with ``reason``
    set (``empty``, ``not an image``, ``truncated``, ``corrupt``, ``too many
    pixels``, ``no face``) and no faces.
    """
    digest = content_digest(data)
    try:
        rgb = decode_image(data)
    except UnreadableImageError as exc:
        return EncodedImage(digest, reason=exc.reason, detail=exc.detail)
    h, w = rgb.shape[:2]
    boxes = detect_faces(rgb, settings)
    if not boxes:
        return EncodedImage(digest, w, h, reason="no face", detail="the detector found no face")
    encodings = encode_faces(rgb, boxes, settings.jitters)
    thumbs = [face_thumbnail(rgb, bx) for bx in boxes]
    return EncodedImage(digest, w, h, boxes, encodings, thumbs)


def encode_query(data: bytes, settings: EncoderSettings = EncoderSettings()) -> EncodedImage:
    """Encode a query image in this process; raise if it is unusable or has no face.

    Raises :class:`UnreadableImageError` for a bad file and
    :class:`NoFaceFoundError` when no face is found.
    """
    result = encode_bytes(data, settings)
    if result.reason == "no face":
        raise NoFaceFoundError(
            "No face was found in the query photo: try a photo where the face is larger and frontal."
        )
    if result.reason is not None:
        raise UnreadableImageError(result.reason, result.detail)
    return result
