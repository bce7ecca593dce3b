"""dlib's face ResNet (the network behind ``face_recognition.face_encodings``) run in onnxruntime.

The ONNX graph (:mod:`facecore.encode.onnx_graph`) is written once next to the encoding cache, named
after a digest of the source model file, and run with onnxruntime on one thread, some 15-25x faster
than the BLAS-less ``dlib-bin`` wheel (see ``bench/resnet_speed.py``). Anything that stops this path
(no onnx/onnxruntime, an unreadable model, a failed conversion) raises
:class:`OnnxEncoderUnavailableError`; the caller falls back to dlib.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import OnnxEncoderUnavailableError
from ..photos.imaging import Box
from .detection import CHIP_SIDE, face_chips
from .dlib_file import DESCRIPTOR_DIM, read_dlib_resnet, source_digest, source_model_path
from .onnx_graph import build_onnx_model

DEFAULT_BATCH = 8  # chips per onnxruntime call (measured: 8 and 16 are equal within noise here)
_CONVERTER_VERSION = "1"  # bump when the graph built from the same .dat changes
_MODEL_STEM = "dlib_face_resnet_v1"


def converted_model_path(cache_dir: str | os.PathLike[str], source: str | os.PathLike[str] | None = None) -> Path:
    """Where the ONNX copy of ``source`` lives in ``cache_dir`` (the encoding cache file's folder).

    The name holds a digest of the source file and of the converter version,
    so a changed .dat (or converter) gets a new file instead of a stale one.
    """
    source = source_model_path() if source is None else Path(source)
    key = hashlib.sha256(f"{source_digest(source)}:{_CONVERTER_VERSION}".encode()).hexdigest()[:16]
    return Path(cache_dir) / f"{_MODEL_STEM}-{key}.onnx"


def convert_model(source: str | os.PathLike[str], dest: str | os.PathLike[str]) -> Path:
    """Read the dlib .dat file, build the ONNX graph, and write it to ``dest`` atomically.

    The bytes go to a temporary file in the same folder, which is then renamed
    over ``dest``: a reader (or a second converting process) never sees half a
    file. Raises ImportError without ``onnx``, :class:`DlibFormatError` on an
    unexpected file, OSError when the folder is not writable.
    """
    dest = Path(dest)
    data = build_onnx_model(read_dlib_resnet(source)).SerializeToString()
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dest


def _import_onnxruntime() -> Any:
    """Import onnxruntime with its telemetry off.

    onnxruntime's Linux wheels start a telemetry client at import unless
    ``ORT_DISABLE_TELEMETRY`` is set: it writes a device id and an event
    database under ``~/.cache/Microsoft/DeveloperTools`` and a ``.ses`` file in
    the temporary folder. Photos never leave the machine, and neither should
    anything about their processing, so it is off unless the user set the
    variable. Raises ImportError when onnxruntime is not installed.
    """
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    import onnxruntime

    return onnxruntime


def _new_session(model: Path | bytes) -> Any:
    ort = _import_onnxruntime()

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3  # errors only: no warnings on stderr
    model = model if isinstance(model, bytes) else os.fspath(model)
    return ort.InferenceSession(model, sess_options=opts, providers=["CPUExecutionProvider"])


def _converted(source: str | os.PathLike[str], dest: Path | None) -> Path | bytes:
    """Convert ``source`` into the file ``dest`` (or in memory when None); errors say why, in one sentence."""
    try:
        if dest is None:
            return build_onnx_model(read_dlib_resnet(source)).SerializeToString()
        return convert_model(source, dest)
    except ImportError as exc:
        raise OnnxEncoderUnavailableError(
            "The onnx package is not installed, so dlib's face model cannot be converted for onnxruntime "
            "(pip install onnx); faces are encoded with dlib instead."
        ) from exc
    except Exception as exc:  # unreadable or unexpected .dat, invalid graph
        raise OnnxEncoderUnavailableError(f"Converting dlib's face model to ONNX failed: {exc}.") from exc


def load_session(cache_dir: str | os.PathLike[str] | None, source: str | os.PathLike[str] | None = None) -> Any:
    """Return a one-thread ``onnxruntime.InferenceSession`` of the face ResNet, converting it first if needed.

    ``cache_dir`` is the folder that keeps the converted model (converted once,
    then reused); with None, or a folder that cannot be written, the model is
    converted in memory (about 0.5 s) and nothing is written. ``source``
    defaults to the installed model. A cached file that onnxruntime cannot load
    is converted again once. Every failure becomes :class:`OnnxEncoderUnavailableError`.
    """
    try:
        _import_onnxruntime()
    except ImportError as exc:
        raise OnnxEncoderUnavailableError(
            "onnxruntime is not installed, so faces are encoded with dlib instead (pip install onnxruntime)."
        ) from exc
    source = source_model_path() if source is None else source
    try:
        path = None if cache_dir is None else converted_model_path(cache_dir, source)
    except OSError as exc:
        raise OnnxEncoderUnavailableError(f"The dlib model file cannot be read for conversion to ONNX: {exc}.") from exc
    if path is not None and path.is_file():
        try:
            return _new_session(path)
        except Exception:  # damaged by hand or by a full disk: convert again below
            pass
    try:
        model = _converted(source, path)
    except OnnxEncoderUnavailableError as exc:
        if path is None or not isinstance(exc.__cause__, OSError):
            raise
        model = _converted(source, None)  # the folder cannot be written: keep the model in memory
    try:
        return _new_session(model)
    except Exception as exc:
        raise OnnxEncoderUnavailableError(f"onnxruntime cannot load the converted face model: {exc}.") from exc


class OnnxFaceEncoder:
    """dlib's face ResNet in an onnxruntime session: chips in, 128-d descriptors out.

    Thread-safe (onnxruntime sessions may run concurrently). Build it with
    :func:`load_encoder`.
    """

    def __init__(self, session: Any, batch_size: int = DEFAULT_BATCH) -> None:
        self.session = session
        self.batch_size = max(1, int(batch_size))

    def encode_chips(self, chips: np.ndarray) -> np.ndarray:
        """Descriptors of face chips: uint8 ``(n, 150, 150, 3)`` RGB -> float32 ``(n, 128)``.

        Runs ``batch_size`` chips per onnxruntime call.
        """
        chips = np.asarray(chips)
        if chips.ndim != 4 or chips.shape[1:] != (CHIP_SIDE, CHIP_SIDE, 3) or chips.dtype != np.uint8:
            want = f"uint8 (n, {CHIP_SIDE}, {CHIP_SIDE}, 3)"
            raise ValueError(f"face chips must be {want}, got {chips.dtype} {chips.shape}")
        out = np.empty((len(chips), DESCRIPTOR_DIM), dtype=np.float32)
        for start in range(0, len(chips), self.batch_size):
            batch = np.ascontiguousarray(chips[start : start + self.batch_size].transpose(0, 3, 1, 2))
            out[start : start + len(batch)] = self.session.run(["descriptors"], {"chips": batch})[0]
        return out

    def encode_faces(self, rgb: np.ndarray, boxes: Sequence[Box]) -> np.ndarray:
        """Like ``face_recognition.face_encodings(rgb, boxes, model="small")`` (one jitter): float32 ``(n, 128)``."""
        return self.encode_chips(face_chips(rgb, boxes))


def load_encoder(
    cache_dir: str | os.PathLike[str] | None, source: str | os.PathLike[str] | None = None,
    batch_size: int = DEFAULT_BATCH,
) -> OnnxFaceEncoder:
    """The public entry point: an :class:`OnnxFaceEncoder` over the cached (or freshly converted) model.

    ``cache_dir``: the folder keeping the converted model, None to convert in memory. Raises
    :class:`OnnxEncoderUnavailableError` (one sentence: why) when onnxruntime
    or onnx is missing or the conversion fails; the caller then uses dlib.
    """
    return OnnxFaceEncoder(load_session(cache_dir, source), batch_size)
