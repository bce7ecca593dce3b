"""Where an encoding's time goes: the article's loop and facecore's encoder, stage by stage, in one process.

facecore's stages are its public functions in the order the workers run them:
read + sha256, ``decode_image``, ``detect_faces``, ``face_chips`` (5-point
landmarks + aligned 150 px chips), the face ResNet on the chips of
``batch`` photos at once (as a worker encodes a batch), ``face_thumbnail``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from facecore import (
    EncoderSettings,
    ImageRef,
    content_digest,
    decode_image,
    detect_faces,
    face_chips,
    face_thumbnail,
    load_models,
    onnx_encoder,
)

from .report import Table, ms

BASELINE_STAGES = ("decode", "detect", "landmarks", "encode")
OUR_STAGES = ("read+hash", "decode", "detect", "landmarks+chips", "encode", "thumbnails")


def _article_stages(ref: ImageRef, api, into: dict) -> int:
    """face_recognition's ``load_image_file`` + ``face_encodings`` split into its own steps; returns faces."""
    t0 = time.perf_counter()
    img = api.load_image_file(ref.path)
    t1 = time.perf_counter()
    rects = api.face_detector(img, 1)
    t2 = time.perf_counter()
    shapes = [api.pose_predictor_5_point(img, r) for r in rects]
    t3 = time.perf_counter()
    for sh in shapes:
        api.face_encoder.compute_face_descriptor(img, sh, 1)
    t4 = time.perf_counter()
    for key, dt in zip(BASELINE_STAGES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
        into[key] += dt
    return len(rects)


def _encode_chips(chips: list[np.ndarray], api) -> float:
    """Seconds to encode these chips in one go with the engine the workers use."""
    if not chips:
        return 0.0
    batch = np.concatenate(chips)
    encoder = onnx_encoder()
    t = time.perf_counter()
    if encoder is not None:
        encoder.encode_chips(batch)
    else:
        api.face_encoder.compute_face_descriptor(list(batch))
    return time.perf_counter() - t


def _our_stages(ref: ImageRef, settings: EncoderSettings, into: dict) -> tuple[int, np.ndarray]:
    """facecore's stages but the ResNet; returns the faces found and their chips."""
    t0 = time.perf_counter()
    data = ref.read_bytes()
    content_digest(data)
    t1 = time.perf_counter()
    rgb = decode_image(data)
    t2 = time.perf_counter()
    boxes = detect_faces(rgb, settings)
    t3 = time.perf_counter()
    chips = face_chips(rgb, boxes)
    t4 = time.perf_counter()
    for b in boxes:
        face_thumbnail(rgb, b)
    t5 = time.perf_counter()
    for key, dt in zip(("read+hash", "decode", "detect", "landmarks+chips", "thumbnails"),
                       (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4), strict=True):
        into[key] += dt
    return len(boxes), chips


def stage_times(refs: Sequence[ImageRef], settings: EncoderSettings, batch: int = 4) -> dict:
    """Seconds summed over ``refs`` per stage, for the article's loop and for facecore, plus face counts."""
    api = load_models()  # face_recognition.api: load_image_file, the detector, predictor and ResNet
    base = dict.fromkeys(BASELINE_STAGES, 0.0)
    ours = dict.fromkeys(OUR_STAGES, 0.0)
    counts = dict.fromkeys(("baseline_faces", "ours_faces", "baseline_photos_with_face", "ours_photos_with_face"), 0)
    pending: list[np.ndarray] = []
    for i, ref in enumerate(refs):
        n = _article_stages(ref, api, base)
        counts["baseline_faces"] += n
        counts["baseline_photos_with_face"] += n > 0
        n, chips = _our_stages(ref, settings, ours)
        counts["ours_faces"] += n
        counts["ours_photos_with_face"] += n > 0
        pending.append(chips)
        if len(pending) == batch or i == len(refs) - 1:
            ours["encode"] += _encode_chips([c for c in pending if len(c)], api)
            pending.clear()
    return {"photos": len(refs), "baseline": base, "ours": ours, "batch": batch, **counts}


def stage_table(refs: Sequence[ImageRef], settings: EncoderSettings) -> tuple[Table, dict]:
    """:func:`stage_times` as a table of ms per photo (and per face where the work is per face)."""
    st = stage_times(refs, settings)
    n, b, o = st["photos"], st["baseline"], st["ours"]
    bf, of = st["baseline_faces"], st["ours_faces"]

    def per_face(total: float, faces: int) -> str:
        return f" ({ms(total / faces)}/face)" if faces else ""

    engine = "onnxruntime" if onnx_encoder() is not None else "dlib"
    table = Table(f"Time per stage, one process, {n} photos (ms per photo; landmarks/encode also per face)",
                  ["stage", "article loop", "facecore"])
    table.rows = [
        ["read + sha256", "-", ms(o["read+hash"] / n)],
        ["decode", ms(b["decode"] / n), ms(o["decode"] / n)],
        ["detect (HOG)", ms(b["detect"] / n) + " (upsample 1, full size)",
         ms(o["detect"] / n) + f" (<= {settings.detect_max_side} px, upsample 0; more only on a miss)"],
        ["landmarks (5 points) + chips", ms(b["landmarks"] / n) + per_face(b["landmarks"], bf),
         ms(o["landmarks+chips"] / n) + per_face(o["landmarks+chips"], of)],
        ["encode (face ResNet)", ms(b["encode"] / n) + per_face(b["encode"], bf) + " dlib-bin, 1 face per call",
         ms(o["encode"] / n) + per_face(o["encode"], of) + f" {engine}, {st['batch']} photos per call"],
        ["thumbnails", "-", ms(o["thumbnails"] / n)],
        ["total", ms(sum(b.values()) / n), ms(sum(o.values()) / n)],
        ["faces / photos with a face", f"{bf} / {st['baseline_photos_with_face']}",
         f"{of} / {st['ours_photos_with_face']}"],
    ]
    return table, st
