"""dlib's face ResNet model file, read in project code.

The installed ``dlib_face_recognition_resnet_model_v1.dat`` (found with :func:`installed_model`) is read
from dlib's own serialisation format and checked against the known network definition: a 7x7 stem,
14 residual blocks and a 128-d linear layer. A file this reader does not know raises
:class:`DlibFormatError`.
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import OnnxEncoderUnavailableError

DESCRIPTOR_DIM = 128


class DlibFormatError(ValueError):
    """The .dat file is not the dlib face ResNet this reader knows (wrong layer, version or shape)."""


# --------------------------------------------------------------------------- reading dlib's format


class _DlibStream:
    """Reads dlib's serialised primitives (``dlib/serialize.h``) from bytes, front to back."""

    def __init__(self, data: bytes) -> None:
        self.data = memoryview(data)
        self.pos = 0

    def _take(self, n: int) -> memoryview:
        if self.pos + n > len(self.data):
            raise DlibFormatError(f"unexpected end of file at byte {self.pos} (wanted {n} more)")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def int(self) -> int:
        """One integer: a control byte (size in the low 4 bits, 0x80 = negative), then little-endian bytes."""
        ctrl = self._take(1)[0]
        size = ctrl & 0x0F
        if size == 0 or size > 8 or ctrl & 0x70:
            raise DlibFormatError(f"bad integer control byte 0x{ctrl:02x} at byte {self.pos - 1}")
        value = int.from_bytes(self._take(size), "little")
        return -value if ctrl & 0x80 else value

    def bool(self) -> bool:
        """A bool, stored as the ASCII character '1' or '0'."""
        ch = self._take(1)[0]
        if ch not in (ord("0"), ord("1")):
            raise DlibFormatError(f"bad bool byte 0x{ch:02x} at byte {self.pos - 1}")
        return ch == ord("1")

    def string(self) -> str:
        """A string: its length as an integer, then the bytes."""
        return bytes(self._take(self.int())).decode("latin-1")

    def float(self) -> float:
        """A float as ``float_details``: int64 mantissa and int16 exponent (value = m * 2**e)."""
        if self.data[self.pos] & 0x70:
            raise DlibFormatError("old ASCII floating point format is not supported")
        mantissa, exponent = self.int(), self.int()
        specials = {32000: math.inf, 32001: -math.inf, 32002: math.nan}
        if exponent in specials:
            return specials[exponent]
        return math.ldexp(float(mantissa), exponent)

    def tensor(self) -> np.ndarray:
        """A ``resizable_tensor`` (version 2): 4 dims (n, k, nr, nc), then little-endian float32 data."""
        if self.int() != 2:
            raise DlibFormatError("unexpected tensor version")
        shape = tuple(self.int() for _ in range(4))
        count = int(np.prod(shape))
        data = np.frombuffer(self._take(4 * count), dtype="<f4").astype(np.float32)
        return data.reshape(shape)

    def alias(self) -> tuple[int, int, int, int]:
        """An ``alias_tensor`` (version 1): only its 4 dims (n, k, nr, nc), no data."""
        if self.int() != 1:
            raise DlibFormatError("unexpected alias_tensor version")
        n, k, nr, nc = (self.int() for _ in range(4))
        return n, k, nr, nc

    def doubles(self, n: int) -> list[float]:
        return [self.float() for _ in range(n)]


@dataclass
class Layer:
    """One layer of the network in forward order.

    ``kind`` is one of con, affine, relu, max_pool, avg_pool, add_prev, tag, skip, fc;
    ``attrs`` holds ints (strides, paddings, window, tag id); ``weights`` float32 arrays.
    """

    kind: str
    attrs: dict[str, int] = field(default_factory=dict)
    weights: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class DlibResnet:
    """The parsed network: input mean (R, G, B in 0..255 units, subtracted then divided by 256) and layers."""

    input_mean: tuple[float, float, float]
    input_side: int
    layers: list[Layer]


def _residual(n: int, down: bool) -> list[tuple[str, int]]:
    """``ares<N>`` / ``ares_down<N>`` from dnn_face_recognition_ex.cpp, outermost layer first."""
    block = [("affine", 0), ("con", 1), ("relu", 0), ("affine", 0), ("con", 2 if down else 1), ("tag", 1)]
    if down:  # relu<add_prev2<avg_pool<2,2,2,2,skip1<tag2<block<N,affine,2,tag1<SUB>>>>>>>
        return [("relu", 0), ("add_prev", 2), ("avg_pool", 0), ("skip", 1), ("tag", 2)] + block
    return [("relu", 0), ("add_prev", 1)] + block  # relu<add_prev1<block<N,affine,1,tag1<SUB>>>>


def _architecture() -> list[tuple[str, int]]:
    """The face ResNet's layers below loss_metric, outermost (fc) first: (kind, tag id or conv stride).

    dlib does not store tag ids in the file, so they come from the network definition.
    """
    levels = [
        (256, [True]),
        (256, [False, False, True]),
        (128, [False, False, True]),
        (64, [False, False, False, True]),
        (32, [False, False, False]),
    ]  # alevel0 .. alevel4
    spec: list[tuple[str, int]] = [("fc", 0), ("avg_pool", 0)]
    for n, downs in levels:
        for down in downs:
            spec += _residual(n, down)
    return spec + [("max_pool", 0), ("relu", 0), ("affine", 0), ("con", 2)]


def _read_con(s: _DlibStream, version: str) -> Layer:
    params = s.tensor().reshape(-1)
    num_filters, nr, nc, stride_y, stride_x, pad_y, pad_x = (s.int() for _ in range(7))
    filters, biases = s.alias(), s.alias()
    s.doubles(4)  # learning-rate and weight-decay multipliers
    use_bias = s.bool() if version in ("con_5", "con_6") else True
    use_relu = s.bool() if version == "con_6" else False
    if filters[0] != num_filters or filters[2:] != (nr, nc) or stride_y != stride_x or pad_y != pad_x:
        raise DlibFormatError(f"unexpected convolution {filters} stride {stride_y}x{stride_x}")
    size = int(np.prod(filters))
    layer = Layer("con", {"stride": stride_y, "pad": pad_y, "relu": int(use_relu)})
    layer.weights["w"] = params[:size].reshape(filters)  # (filters, channels, rows, cols)
    if use_bias:
        layer.weights["b"] = params[size : size + biases[1]]
    return layer


def _read_affine(s: _DlibStream, version: str) -> Layer:
    params = s.tensor().reshape(-1)
    gamma, beta = s.alias(), s.alias()
    mode = s.int()
    disabled = s.bool() if version == "affine_2" else False
    if mode != 0 or gamma[0] != 1 or gamma[2:] != (1, 1) or disabled:  # CONV_MODE: one gamma/beta per channel
        raise DlibFormatError(f"unexpected affine layer (mode {mode}, shape {gamma}, disabled {disabled})")
    k = gamma[1]
    return Layer("affine", weights={"gamma": params[:k], "beta": params[k : k + beta[1]]})


def _read_pool(s: _DlibStream, kind: str) -> Layer:
    nr, nc, stride_y, stride_x, pad_y, pad_x = (s.int() for _ in range(6))
    if nr != nc or stride_y != stride_x or pad_y != pad_x:
        raise DlibFormatError(f"unexpected {kind} window {nr}x{nc} stride {stride_y}x{stride_x}")
    return Layer(kind, {"window": nr, "stride": stride_y, "pad": pad_y})  # window 0 = the whole plane


def _read_fc(s: _DlibStream, version: str) -> Layer:
    num_outputs, num_inputs = s.int(), s.int()
    params = s.tensor().reshape(-1)
    weights = s.alias()
    s.alias()  # biases (unused: no bias)
    bias_mode = s.int()
    s.doubles(4)
    use_bias = s.bool() if version == "fc_3" else True
    if bias_mode != 1 and use_bias:  # FC_NO_BIAS == 1
        raise DlibFormatError("expected fc_no_bias")
    if weights[:2] != (num_inputs, num_outputs):
        raise DlibFormatError(f"unexpected fc weights {weights}")
    return Layer("fc", weights={"w": params[: num_inputs * num_outputs].reshape(num_inputs, num_outputs)})


def _read_details(s: _DlibStream, kind: str) -> Layer:
    """Read one layer's own data (its ``*_`` details object), checking it is the expected kind."""
    version = s.string()
    if kind == "con" and version in ("con_4", "con_5", "con_6"):
        return _read_con(s, version)
    if kind == "affine" and version in ("affine_", "affine_2"):
        return _read_affine(s, version)
    if kind == "relu" and version in ("relu_", "relu_2"):
        if version == "relu_2" and s.bool():
            raise DlibFormatError("disabled relu layer")
        return Layer("relu")
    if kind in ("max_pool", "avg_pool") and version == kind + "_2":
        return _read_pool(s, kind)
    if kind == "add_prev" and version == "add_prev_":
        return Layer("add_prev")
    if kind == "fc" and version in ("fc_2", "fc_3"):
        return _read_fc(s, version)
    raise DlibFormatError(f"expected a {kind} layer, found {version!r} at byte {s.pos}")


def _read_input(s: _DlibStream) -> tuple[tuple[float, float, float], int]:
    if s.string() != "input_rgb_image_sized":
        raise DlibFormatError("expected input_rgb_image_sized")
    mean = (s.float(), s.float(), s.float())
    nr, nc = s.int(), s.int()
    if nr != nc:
        raise DlibFormatError(f"unexpected input size {nr}x{nc}")
    return mean, nr


def read_dlib_resnet(path: str | os.PathLike[str]) -> DlibResnet:
    """Parse dlib's face ResNet file (``dlib_face_recognition_resnet_model_v1.dat``).

    dlib writes ``add_loss_layer`` then every ``add_layer``/tag/skip wrapper
    outermost first (each its version number, then its subnetwork), then the
    input layer, then each layer's own data innermost first, followed by
    three bools and two or three cached tensors. Raises :class:`DlibFormatError`
    when the file does not match the face ResNet.
    """
    s = _DlibStream(Path(path).read_bytes())
    loss = s.string() if s.int() == 1 else ""
    if loss not in ("loss_metric_", "loss_metric_2"):
        raise DlibFormatError("not a dlib loss_metric network")
    if loss == "loss_metric_2":
        s.doubles(2)  # margin, distance threshold: training only
    spec = _architecture()
    versions = [s.int() for _ in spec]
    for i, ((kind, _), version) in enumerate(zip(spec, versions, strict=True)):
        allowed = (1,) if kind in ("tag", "skip") else (2, 3) if i == len(spec) - 1 else (1, 2)
        if version not in allowed:
            raise DlibFormatError(f"unexpected {kind} version {version}")
    mean, side = _read_input(s)
    layers: list[Layer] = []
    for i in range(len(spec) - 1, -1, -1):  # innermost first
        kind, arg = spec[i]
        if kind in ("tag", "skip"):
            layers.append(Layer(kind, {"id": arg}))
            continue
        layer = _read_details(s, kind)
        if kind == "add_prev":
            layer.attrs["id"] = arg
        for _ in range(3):  # setup called, gradient stale, output disabled
            s.bool()
        s.tensor(), s.tensor()  # x_grad, cached_output
        innermost = i == len(spec) - 1
        if innermost or versions[i] == 2:
            s.tensor()  # grad_final (input add_layer) or params_grad
        if innermost and versions[i] >= 3:
            s.int()  # sample expansion factor
        layers.append(layer)
    if s.pos != len(s.data):
        raise DlibFormatError(f"{len(s.data) - s.pos} bytes left after the network")
    return DlibResnet(mean, side, layers)


# --------------------------------------------------------------------------- the cached converted model

_digest_memo: dict[tuple[str, int, int], str] = {}
_digest_lock = threading.Lock()


def installed_model(name: str) -> Path:
    """The file ``name`` of the installed ``face_recognition_models`` package (found without importing it,
    which would import pkg_resources: ~0.15 s per worker process).

    Raises :class:`OnnxEncoderUnavailableError` when that package is missing.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise OnnxEncoderUnavailableError(
            "The onnxruntime face encoder needs the dlib model files from face_recognition_models, "
            "which is not installed."
        )
    return Path(next(iter(spec.submodule_search_locations))) / "models" / name


def source_model_path() -> Path:
    """The installed dlib face ResNet file (package ``face_recognition_models``).

    Raises :class:`OnnxEncoderUnavailableError` when that package is missing.
    """
    return installed_model("dlib_face_recognition_resnet_model_v1.dat")


def source_digest(source: str | os.PathLike[str]) -> str:
    """SHA-256 (hex) of the source .dat file, remembered per (path, size, mtime) within the process."""
    st = os.stat(source)
    key = (os.fspath(source), st.st_size, st.st_mtime_ns)
    with _digest_lock:
        if key not in _digest_memo:
            h = hashlib.sha256()
            with open(source, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            _digest_memo[key] = h.hexdigest()
        return _digest_memo[key]
