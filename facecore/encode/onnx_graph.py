"""The ONNX graph of dlib's face ResNet, built from the layers :mod:`facecore.encode.dlib_file` read
(same weights; the descriptors equal dlib's within float rounding, below 1e-6).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .dlib_file import DESCRIPTOR_DIM, DlibFormatError, DlibResnet, Layer

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
