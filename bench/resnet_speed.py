"""Speed of dlib's face ResNet: dlib-bin's compute_face_descriptor vs facecore.resnet_onnx (one thread).

Usage: .venv/bin/python bench/resnet_speed.py [--faces 64] [--dataset DIR] [--json]

Cuts the same face chips once (first face of the first photos of the shared
CelebA folder), then times per face: dlib one chip per call (what
face_recognition.face_encodings does), dlib with all chips in one call, and
onnxruntime at batch 1, 8 and 16; also the conversion of the .dat file to
ONNX (in a temporary folder) and the largest difference from dlib.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from facecore import resnet_onnx as R  # noqa: E402
from facecore.encoding import detect_faces, load_models  # noqa: E402
from facecore.settings import default_dataset_path  # noqa: E402


def collect_chips(dataset: Path, n: int) -> np.ndarray:
    """The first face of each photo, in sorted order, until ``n`` chips: uint8 (n, 150, 150, 3)."""
    chips = []
    for photo in sorted(dataset.glob("person_*/*.jpg")):
        with Image.open(photo) as im:
            rgb = np.asarray(im.convert("RGB"))
        boxes = detect_faces(rgb)
        if boxes:
            chips.append(R.face_chips(rgb, boxes[:1])[0])
        if len(chips) == n:
            break
    return np.stack(chips)


def interleaved_ms_per_chip(
    methods: dict[str, Callable[[np.ndarray], object]], chips: np.ndarray, repeats: int
) -> dict[str, float]:
    """Best-of-``repeats`` ms per chip of each method, the methods taking turns (fair on a noisy machine)."""
    best = dict.fromkeys(methods, float("inf"))
    for _ in range(repeats):
        for name, encode in methods.items():
            t0 = time.perf_counter()
            encode(chips)
            best[name] = min(best[name], 1000 * (time.perf_counter() - t0) / len(chips))
    return {name: round(ms, 2) for name, ms in best.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--faces", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--dataset", type=Path, default=default_dataset_path())
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    api = load_models()
    chips = collect_chips(args.dataset, args.faces)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        R.convert_model(R.source_model_path(), Path(tmp) / "m.onnx")
        convert_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        session = R.load_session(tmp)  # converts again into its digest-named file, then opens it
        load_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        R.load_session(tmp)
        reopen_s = time.perf_counter() - t0

    def dlib_one_per_call(c: np.ndarray) -> list:
        return [api.face_encoder.compute_face_descriptor(x) for x in c]

    methods: dict[str, Callable[[np.ndarray], object]] = {
        "dlib_one_chip_per_call": dlib_one_per_call,
        "dlib_all_chips_in_one_call": lambda c: api.face_encoder.compute_face_descriptor(list(c)),
    }
    encoders = {batch: R.OnnxFaceEncoder(session, batch) for batch in (1, 8, 16)}
    methods.update({f"onnx_batch_{b}": enc.encode_chips for b, enc in encoders.items()})
    ref = np.array(dlib_one_per_call(chips), dtype=np.float32)
    res: dict[str, object] = {"faces": len(chips), "loadavg_before": os.getloadavg()}
    res["ms_per_face"] = interleaved_ms_per_chip(methods, chips, args.repeats)
    res["loadavg_after"] = os.getloadavg()
    res["convert_s"] = round(convert_s, 3)
    res["convert_and_open_session_s"] = round(load_s, 3)
    res["open_cached_session_s"] = round(reopen_s, 3)
    res["max_abs_diff"] = max(float(np.abs(e.encode_chips(chips) - ref).max()) for e in encoders.values())
    print(json.dumps(res) if args.json else "\n".join(f"{k}: {v}" for k, v in res.items()))


if __name__ == "__main__":
    main()
