"""Encode: detecting faces and cutting chips (detection), dlib's face ResNet read from its model file
(dlib_file), built as an ONNX graph (onnx_graph) and run in onnxruntime (onnx_session), the 128-d
encodings (encoding), and the backends that run them: in-process, a local process pool (workers) or a
Dask cluster (dask_backend), behind one :class:`~facecore.encode.workers.EncodeBackend` protocol, and a
background encode job over them (job)."""

from .. import _exports

__all__, __getattr__, __dir__ = _exports(__name__)
