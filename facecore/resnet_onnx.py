"""dlib's face ResNet (the network behind ``face_recognition.face_encodings``) run in onnxruntime.

The installed model file ``dlib_face_recognition_resnet_model_v1.dat`` is read
here, in project code, from dlib's own serialisation format (checked against
the known network definition: a 7x7 stem, 14 residual blocks and a 128-d
linear layer); the same weights are written once as an ONNX graph next to the
encoding cache, named after a digest of the source file, and run with
onnxruntime on one thread. Face chips are cut exactly as face_recognition
does (5-point landmarks, ``get_face_chip`` at 150 px with padding 0.25), so the
descriptors equal dlib's within float rounding (below 1e-6), some 15-25x
faster than the BLAS-less ``dlib-bin`` wheel on one thread (see
``bench/resnet_speed.py``). Anything that stops this path (no
onnx/onnxruntime, an unreadable model, a failed conversion) raises
:class:`OnnxEncoderUnavailableError`; the caller falls back to dlib.
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import os
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import OnnxEncoderUnavailableError

CHIP_SIDE = 150  # px: input_rgb_image_sized<150>
CHIP_PADDING = 0.25  # face_recognition's (dlib's) default chip padding
DESCRIPTOR_DIM = 128
DEFAULT_BATCH = 8  # chips per onnxruntime call (measured: 8 and 16 are equal within noise here)
_CONVERTER_VERSION = "1"  # bump when the graph built from the same .dat changes
_MODEL_STEM = "dlib_face_resnet_v1"

Box = tuple[int, int, int, int]  # (top, right, bottom, left) in px, face_recognition's css order


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


# --------------------------------------------------------------------------- building the ONNX graph


class _GraphBuilder:
    """Collects ONNX nodes and initializers while tracking the (channels, rows, cols) of each tensor."""

    def __init__(self, helper: Any, numpy_helper: Any) -> None:
        self.helper, self.numpy_helper = helper, numpy_helper
        self.nodes: list[Any] = []
        self.inits: list[Any] = []
        self.count = 0

    def name(self, stem: str) -> str:
        self.count += 1
        return f"{stem}_{self.count}"

    def const(self, stem: str, array: np.ndarray) -> str:
        name = self.name(stem)
        self.inits.append(self.numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def op(self, op_type: str, inputs: Sequence[str], **attrs: Any) -> str:
        out = self.name(op_type.lower())
        self.nodes.append(self.helper.make_node(op_type, list(inputs), [out], name=out, **attrs))
        return out

    def pad_to(self, x: str, shape: tuple[int, int, int], target: tuple[int, int, int]) -> str:
        """Zero-pad (C, H, W) at the end of each axis up to ``target``, as dlib's ``add_prev`` does."""
        extra = [t - s for s, t in zip(shape, target, strict=True)]
        if not any(extra):
            return x
        pads = np.array([0, 0, 0, 0, 0, *extra], dtype=np.int64)  # begins (N,C,H,W), then ends
        return self.op("Pad", [x, self.const("pads", pads)], mode="constant")


def _conv_out(size: int, window: int, stride: int, pad: int) -> int:
    """dlib's output size of a convolution or pooling: ``1 + (size + 2*pad - window) // stride``."""
    return 1 + (size + 2 * pad - window) // stride


def _add_layer(
    g: _GraphBuilder,
    layer: Layer,
    x: str,
    shape: tuple[int, int, int],
    tags: dict[int, tuple[str, tuple[int, int, int]]],
) -> tuple[str, tuple[int, int, int]]:
    """Append one dlib layer to the graph; return the new output name and its (C, H, W)."""
    c, h, w = shape
    a, wts = layer.attrs, layer.weights
    if layer.kind == "con":
        f, _, k, _ = wts["w"].shape
        inputs = [x, g.const("w", wts["w"])] + ([g.const("b", wts["b"])] if "b" in wts else [])
        x = g.op("Conv", inputs, kernel_shape=[k, k], strides=[a["stride"]] * 2, pads=[a["pad"]] * 4)
        x = g.op("Relu", [x]) if a.get("relu") else x
        return x, (f, _conv_out(h, k, a["stride"], a["pad"]), _conv_out(w, k, a["stride"], a["pad"]))
    if layer.kind == "affine":  # CONV_MODE: y = x * gamma[c] + beta[c]
        x = g.op("Mul", [x, g.const("gamma", wts["gamma"].reshape(1, c, 1, 1))])
        return g.op("Add", [x, g.const("beta", wts["beta"].reshape(1, c, 1, 1))]), shape
    if layer.kind == "relu":
        return g.op("Relu", [x]), shape
    if layer.kind in ("max_pool", "avg_pool"):
        if a["window"] == 0:  # avg_pool_everything: the mean of each whole plane
            return g.op("GlobalAveragePool", [x]), (c, 1, 1)
        kw = dict(kernel_shape=[a["window"]] * 2, strides=[a["stride"]] * 2, pads=[a["pad"]] * 4)
        if layer.kind == "avg_pool":
            kw["count_include_pad"] = 0  # dlib averages the window clipped to the image
        x = g.op("MaxPool" if layer.kind == "max_pool" else "AveragePool", [x], **kw)
        rows, cols = (_conv_out(n, a["window"], a["stride"], a["pad"]) for n in (h, w))
        return x, (c, rows, cols)
    if layer.kind == "tag":
        tags[a["id"]] = (x, shape)
        return x, shape
    if layer.kind == "skip":
        return tags[a["id"]]
    if layer.kind == "add_prev":  # sizes may differ: missing channels/rows/cols count as zeros
        other, other_shape = tags[a["id"]]
        target = tuple(max(p, q) for p, q in zip(shape, other_shape, strict=True))
        x = g.op("Add", [g.pad_to(x, shape, target), g.pad_to(other, other_shape, target)])
        return x, target  # type: ignore[return-value]
    if layer.kind == "fc":  # output = flatten(x) @ W, W stored as (inputs, outputs)
        x = g.op("Flatten", [x], axis=1)
        return g.op("MatMul", [x, g.const("fc", wts["w"])]), (wts["w"].shape[1], 1, 1)
    raise DlibFormatError(f"no ONNX translation for layer {layer.kind!r}")


def build_onnx_model(net: DlibResnet) -> Any:
    """Return the ``onnx.ModelProto`` of ``net`` (float32, opset 17, dynamic batch).

    Input ``chips``: uint8 ``(n, 3, 150, 150)`` RGB, NCHW. dlib's input
    normalisation, ``(pixel - mean[c]) / 256`` in float32, is inside the graph.
    Output ``descriptors``: float32 ``(n, 128)``.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    g = _GraphBuilder(helper, numpy_helper)
    side = net.input_side
    x = g.op("Cast", ["chips"], to=TensorProto.FLOAT)
    x = g.op("Sub", [x, g.const("mean", np.array(net.input_mean, np.float32).reshape(1, 3, 1, 1))])
    x = g.op("Mul", [x, g.const("scale", np.array(1 / 256, np.float32))])
    shape: tuple[int, int, int] = (3, side, side)
    tags: dict[int, tuple[str, tuple[int, int, int]]] = {}
    for layer in net.layers:
        x, shape = _add_layer(g, layer, x, shape, tags)
    if shape != (DESCRIPTOR_DIM, 1, 1):
        raise DlibFormatError(f"the network ends in shape {shape}, not ({DESCRIPTOR_DIM},)")
    g.nodes.append(helper.make_node("Identity", [x], ["descriptors"], name="descriptors"))
    graph = helper.make_graph(
        g.nodes,
        "dlib_face_resnet_v1",
        [helper.make_tensor_value_info("chips", TensorProto.UINT8, ["n", 3, side, side])],
        [helper.make_tensor_value_info("descriptors", TensorProto.FLOAT, ["n", DESCRIPTOR_DIM])],
        initializer=g.inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8, producer_name="facecore.resnet_onnx"
    )
    onnx.checker.check_model(model)
    return model


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


# --------------------------------------------------------------------------- chips and encodings


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

    from .encoding import dlib_models

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
