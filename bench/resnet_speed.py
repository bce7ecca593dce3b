"""The face ResNet alone: dlib-bin's ``compute_face_descriptor`` against facecore's onnxruntime copy, one thread.

Cuts the same face chips once (the largest face of each photo, in order, until
``faces`` chips), then times per face, the methods taking turns: dlib one chip
per call (what ``face_recognition.face_encodings`` does), dlib with all chips in
one call, and onnxruntime at batch 1, 8 and 32. Also the one-time conversion of
the .dat file to ONNX (in a temporary folder) and the largest difference from dlib.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from facecore import (
    ImageRef,
    OnnxFaceEncoder,
    convert_model,
    detect_faces,
    face_chips,
    load_models,
    load_session,
    source_model_path,
)

from .report import Report, Table, load_avg, secs

BATCHES = (1, 8, 32)


def collect_chips(refs: Sequence[ImageRef], n: int) -> np.ndarray:
    """The largest face of each photo, in order, until ``n`` chips: uint8 ``(n, 150, 150, 3)``."""
    chips = []
    for ref in refs:
        with Image.open(ref.path) as im:
            rgb = np.asarray(im.convert("RGB"))
        boxes = detect_faces(rgb)
        if boxes:
            chips.append(face_chips(rgb, boxes[:1])[0])
        if len(chips) == n:
            break
    return np.stack(chips)


def interleaved_ms_per_chip(methods: dict[str, Callable[[np.ndarray], object]], chips: np.ndarray,
                            repeats: int) -> dict[str, float]:
    """Best-of-``repeats`` ms per chip of each method, the methods taking turns (fair on a noisy machine)."""
    best = dict.fromkeys(methods, float("inf"))
    for _ in range(repeats):
        for name, encode in methods.items():
            t0 = time.perf_counter()
            encode(chips)
            best[name] = min(best[name], 1000 * (time.perf_counter() - t0) / len(chips))
    return {name: round(v, 2) for name, v in best.items()}


def _conversion_seconds() -> tuple[float, float, object]:
    """Seconds to convert the .dat file, to open a session on the cached file; and that session."""
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        convert_model(source_model_path(), Path(tmp) / "m.onnx")
        convert_s = time.perf_counter() - t0
        load_session(tmp)  # converts into its digest-named file
        t0 = time.perf_counter()
        session = load_session(tmp)
        return convert_s, time.perf_counter() - t0, session


def bench_resnet(refs: Sequence[ImageRef], faces: int = 64, repeats: int = 3) -> dict:
    """ms per face of each method, conversion seconds, and the largest difference from dlib (see module doc)."""
    api = load_models()
    chips = collect_chips(refs, faces)
    convert_s, open_s, session = _conversion_seconds()

    def dlib_one_per_call(c: np.ndarray) -> list:
        return [api.face_encoder.compute_face_descriptor(x) for x in c]

    methods: dict[str, Callable[[np.ndarray], object]] = {
        "dlib-bin, 1 chip per call": dlib_one_per_call,
        f"dlib-bin, {len(chips)} chips in one call": lambda c: api.face_encoder.compute_face_descriptor(list(c)),
    }
    encoders = {b: OnnxFaceEncoder(session, b) for b in BATCHES}
    methods.update({f"onnxruntime, batch {b}": enc.encode_chips for b, enc in encoders.items()})
    ref = np.array(dlib_one_per_call(chips), dtype=np.float32)
    load_before = load_avg()
    per_face = interleaved_ms_per_chip(methods, chips, repeats)
    return {"faces": len(chips), "repeats": repeats, "ms_per_face": per_face, "convert_s": convert_s,
            "open_cached_session_s": open_s, "load_before": load_before, "load_after": load_avg(),
            "max_abs_diff": max(float(np.abs(e.encode_chips(chips) - ref).max()) for e in encoders.values())}


def resnet_table(refs: Sequence[ImageRef], faces: int = 64, repeats: int = 3) -> tuple[Table, dict]:
    """:func:`bench_resnet` as a table: ms per face and speed-up over dlib-bin's one chip per call."""
    r = bench_resnet(refs, faces, repeats)
    base = r["ms_per_face"]["dlib-bin, 1 chip per call"]
    table = Table(f"The face ResNet alone, {r['faces']} face chips, one thread (ms per face, best of {repeats})",
                  ["engine", "ms per face", "vs dlib-bin 1 chip per call"])
    table.rows = [[name, f"{v:.2f}", f"{base / v:.1f}x"] for name, v in r["ms_per_face"].items()]
    table.note = (f"Largest difference from dlib-bin's descriptors: {r['max_abs_diff']:.2g} per component. Converting "
                  f"the installed .dat to ONNX takes {secs(r['convert_s'])} s, once per model folder "
                  f"(facecore.encode.encoding.model_dir); opening the cached model "
                  f"{secs(r['open_cached_session_s'])} s per process. "
                  f"Load average before: {r['load_before']}, after: {r['load_after']}.")
    return table, r


def resnet_report(refs: Sequence[ImageRef], faces: int = 64, repeats: int = 3) -> Report:
    """``python -m bench resnet``: the table above as its own report."""
    table, data = resnet_table(refs, faces, repeats)
    return Report("resnet", tables=[table], data=data)
