"""128-d face encodings: dlib's face ResNet in onnxruntime, or dlib's own where that is unavailable.

The chips of several photos go through the network in one onnxruntime call
(:mod:`facecore.encode.onnx_session`, the same weights, equal to dlib within 1e-6); where onnxruntime
is missing or the model cannot be converted, and for ``jitters > 1``, dlib's own ResNet encodes them
(one log line says why). :func:`encode_many` is the unit of work the worker processes run
(:mod:`facecore.encode.workers`): decode once, detect, encode, make the face thumbnails and measure
each face's quality (:func:`face_qualities`).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import NoFaceFoundError, OnnxEncoderUnavailableError, UnreadableImageError
from ..photos.imaging import Box, decode_image, face_thumbnail
from ..photos.refs import content_digest
from ..settings import EncoderSettings, default_cache_path
from .detection import detect_faces_scored, dlib_models, face_chips, load_models
from .onnx_session import OnnxFaceEncoder, load_encoder

log = logging.getLogger(__name__)

#: Environment variable naming the folder that keeps the converted face model
#: (see :func:`model_dir`); worker processes inherit it from the process that starts them.
MODEL_DIR_ENV = "FACECORE_MODEL_DIR"
#: Face chips per onnxruntime call: all the faces of one batch of photos.
CHIPS_PER_CALL = 32
_onnx: OnnxFaceEncoder | None = None
_onnx_chosen = False
_onnx_lock = threading.Lock()


def model_dir() -> Path | None:
    """Folder keeping the ONNX copy of dlib's face ResNet, or None to convert it in memory in each process.

    ``$FACECORE_MODEL_DIR`` when set; else the default encoding cache's folder
    (``FACECORE_CACHE``'s, or ``~/.cache/facecore``) if it exists. With None
    nothing is written: a process that was given only a cache file
    (``--cache``) writes nothing but that file, and converts the model in
    memory (about 0.5 s per process).
    """
    env = os.environ.get(MODEL_DIR_ENV)
    if env:
        return Path(env).expanduser()
    folder = default_cache_path().parent
    return folder if folder.is_dir() else None


def onnx_encoder() -> OnnxFaceEncoder | None:
    """This process's onnxruntime face encoder, or None when faces are encoded with dlib.

    Chosen once per process, on first use. When onnxruntime is missing or the
    model cannot be converted, one warning line is logged (logger
    ``facecore.encode.encoding``) and every later call returns None.
    """
    global _onnx, _onnx_chosen
    with _onnx_lock:
        if not _onnx_chosen:
            try:
                _onnx = load_encoder(model_dir(), batch_size=CHIPS_PER_CALL)
            except OnnxEncoderUnavailableError as exc:
                reason = " ".join(str(exc).split())  # one line, whatever the converter said
                log.warning("Faces are encoded with dlib (slower) instead of onnxruntime: %s", reason)
            _onnx_chosen = True
    return _onnx


def warm_up() -> str:
    """Load everything encoding needs in this process (a worker's first photo is then as fast as the rest).

    Returns the engine of the face ResNet, ``"onnxruntime"`` or ``"dlib"``.
    """
    dlib_models()
    engine = encoder_engine()
    if engine == "dlib":
        load_models()
    return engine


def encoder_engine() -> str:
    """``"onnxruntime"`` or ``"dlib"``: which engine encodes faces (one jitter) in this process."""
    return "onnxruntime" if onnx_encoder() is not None else "dlib"


def _dlib_encodings(rgb: np.ndarray, boxes: Sequence[Box], jitters: int) -> np.ndarray:
    api = load_models()
    encs = api.face_encodings(rgb, known_face_locations=list(boxes), num_jitters=jitters, model="small")
    return np.asarray(encs, dtype=np.float32).reshape(len(boxes), 128)


def encode_faces(rgb: np.ndarray, boxes: list[Box], jitters: int = 1) -> np.ndarray:
    """Return the ``(len(boxes), 128)`` float32 encodings of the given face boxes.

    Landmarks and chips are computed on ``rgb`` (full resolution), as
    ``face_recognition.face_encodings(rgb, boxes)`` does, so no second detection runs.
    """
    return encode_photos([rgb], [boxes], jitters)[0]


def encode_photos(images: Sequence[np.ndarray], boxes: Sequence[Sequence[Box]], jitters: int = 1) -> list[np.ndarray]:
    """Encode the faces of several photos at once: one ``(len(boxes[i]), 128)`` float32 array per photo.

    With one jitter and onnxruntime available, the chips of all the photos go
    through the network together; otherwise dlib encodes each photo's faces.
    """
    encoder = onnx_encoder() if jitters == 1 else None
    if encoder is None:
        return [_dlib_encodings(rgb, bxs, jitters) if bxs else np.empty((0, 128), np.float32)
                for rgb, bxs in zip(images, boxes, strict=True)]
    chips = [face_chips(rgb, bxs) for rgb, bxs in zip(images, boxes, strict=True)]
    flat = encoder.encode_chips(np.concatenate(chips)) if chips else np.empty((0, 128), np.float32)
    ends = np.cumsum([len(c) for c in chips])
    return np.split(flat, ends[:-1]) if len(ends) else []


@dataclass
class EncodedImage:
    """What one image produced: its faces (largest first) or why it was skipped.

    ``boxes`` are (top, right, bottom, left) px in the oriented image;
    ``encodings`` is ``(n_faces, 128)`` float32; ``thumbs`` holds one JPEG per face.
    ``reason``/``detail`` are set when the image was unusable or had no face;
    ``quality`` holds one row per face (NaN rows: rebuilt from a cache written before quality was measured).
    """

    digest: str
    width: int = 0
    height: int = 0
    boxes: list[Box] = field(default_factory=list)
    encodings: np.ndarray = field(default_factory=lambda: np.empty((0, 128), np.float32))
    thumbs: list[bytes] = field(default_factory=list)
    reason: str | None = None
    detail: str = ""
    #: ``(n_faces, 4)`` float32 quality rows (:mod:`facecore.curation.face_quality`: size, score, sharpness, frontal)
    quality: np.ndarray = field(default_factory=lambda: np.empty((0, 4), np.float32))


#: Side in px of the aligned chip whose sharpness is measured (the encoder's chip is 150).
QUALITY_CHIP = 100


def face_qualities(rgb: np.ndarray, boxes: Sequence[Box], scores: Sequence[float]) -> np.ndarray:
    """The ``(n, 4)`` float32 quality rows of a photo's faces (:mod:`facecore.curation.face_quality`: size,
    score, sharpness, frontal) from their boxes and detector scores, measured on the full-size ``rgb``."""
    from ..curation.face_quality import quality_rows

    if not boxes:
        return np.empty((0, 4), np.float32)
    import dlib

    predictor = dlib_models().predictor
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    marks, chips = [], []  # a small chip: sharpness only needs the face, not the encoder's 150 px
    for t, r, b, lf in boxes:
        shape = predictor(rgb, dlib.rectangle(lf, t, r, b))
        marks.append([(p.x, p.y) for p in shape.parts()])
        chips.append(np.asarray(dlib.get_face_chip(rgb, shape, size=QUALITY_CHIP, padding=0.25), np.uint8))
    return quality_rows(np.asarray(boxes), np.asarray(scores), np.stack(chips), np.asarray(marks, np.float32))


def _decode_and_detect(
    data: bytes, settings: EncoderSettings
) -> tuple[EncodedImage, np.ndarray | None, list[tuple[Box, float]]]:
    """One photo's result so far (or why it is unusable), its RGB pixels and its faces' (box, detector score)."""
    digest = content_digest(data)
    try:
        rgb = decode_image(data)
    except UnreadableImageError as exc:
        return EncodedImage(digest, reason=exc.reason, detail=exc.detail), None, []
    h, w = rgb.shape[:2]
    found = detect_faces_scored(rgb, settings)
    if not found:
        return EncodedImage(digest, w, h, reason="no face", detail="the detector found no face"), None, []
    return EncodedImage(digest, w, h), rgb, found


def encode_many(datas: Sequence[bytes], settings: EncoderSettings = EncoderSettings()) -> list[EncodedImage]:
    """Decode, detect and encode several images' bytes, one result each; never raises for a bad image.

    The faces of all the images are encoded together (one onnxruntime call
    for up to :data:`CHIPS_PER_CALL` faces). A file that cannot be decoded or
    has no face comes back with ``reason`` set (``empty``, ``not an image``,
    ``truncated``, ``corrupt``, ``too many pixels``, ``no face``) and no faces.
    """
    results, pixels, faces = [], [], []
    for data in datas:
        result, rgb, found = _decode_and_detect(data, settings)
        results.append(result)
        if rgb is not None:
            pixels.append((result, rgb))
            faces.append(found)
    boxes = [[bx for bx, _ in found] for found in faces]
    encodings = encode_photos([rgb for _, rgb in pixels], boxes, settings.jitters)
    for (result, rgb), found, bxs, enc in zip(pixels, faces, boxes, encodings, strict=True):
        result.boxes, result.encodings = bxs, enc
        result.thumbs = [face_thumbnail(rgb, bx) for bx in bxs]
        result.quality = face_qualities(rgb, bxs, [sc for _, sc in found])
    return results


def encode_bytes(data: bytes, settings: EncoderSettings = EncoderSettings()) -> EncodedImage:
    """Decode, detect and encode one image's bytes (see :func:`encode_many`); never raises for a bad image."""
    return encode_many([data], settings)[0]


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
