"""Encoding throughput: the article's loop against ``facecore.encode_images`` on the same photos, in one run.

The article's loop is ``face_recognition.load_image_file`` then
``face_recognition.face_encodings`` with defaults, one process, models loaded
before the clock starts. facecore runs in this process, on a warm worker pool,
and on a cold one (pool start, model loading and the onnxruntime session
included). The warm configurations take turns over blocks of photos, so a change
of load on the shared machine hits them alike; CPU seconds (this process plus the
pool's workers) give the throughput of an otherwise idle machine.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facecore import (
    EncoderSettings,
    EncodingStore,
    ImageRef,
    default_workers,
    encode_images,
    encoder_engine,
    load_models,
    shutdown_pools,
)

from .machine import workers_cpu_seconds
from .report import Report, Table, load_avg, secs
from .resnet_speed import resnet_table
from .stages import stage_table

ARTICLE = "article loop (1 process, upsample 1, full size)"


@dataclass
class EncodeRun:
    """One timed encoding run: wall seconds, CPU seconds (this process + its workers), photos with a face."""

    label: str
    seconds: float = 0.0
    photos: int = 0
    with_face: int = 0
    cpu_seconds: float = 0.0
    processes: int = 1

    @property
    def rate(self) -> float:
        return self.photos / self.seconds if self.seconds > 0 else 0.0

    def add(self, other: EncodeRun) -> None:
        self.seconds += other.seconds
        self.photos += other.photos
        self.with_face += other.with_face
        self.cpu_seconds += other.cpu_seconds

    def as_dict(self, load: float) -> dict:
        return dict(label=self.label, seconds=self.seconds, photos=self.photos, with_face=self.with_face,
                    photos_per_s=self.rate, cpu_seconds=self.cpu_seconds, processes=self.processes, load=load)


def article_loop(refs: Sequence[ImageRef], label: str = ARTICLE) -> EncodeRun:
    """The article's loop: ``load_image_file`` then ``face_encodings`` (defaults), one process."""
    load_models()  # imports face_recognition (models load at its import: excluded from the time)
    import face_recognition

    found = 0
    cpu = time.process_time()
    t = time.perf_counter()
    for ref in refs:
        img = face_recognition.load_image_file(ref.path)
        found += len(face_recognition.face_encodings(img)) > 0
    return EncodeRun(label, time.perf_counter() - t, len(refs), found, time.process_time() - cpu)


def facecore_run(refs: Sequence[ImageRef], settings: EncoderSettings, workers: int, *, cold: bool,
                 label: str) -> EncodeRun:
    """``encode_images`` on ``refs`` into a fresh temporary cache; ``cold`` stops the worker pool first."""
    if workers == 1:
        load_models()  # in-process run: models loaded before timing, like the warm pool
        encoder_engine()
    elif cold:
        shutdown_pools()
    with tempfile.TemporaryDirectory(prefix="facecore-bench-") as tmp:
        store = EncodingStore(Path(tmp) / "cache.sqlite")
        cpu = time.process_time() + workers_cpu_seconds()
        t = time.perf_counter()
        fs = encode_images(refs, settings, store, workers=workers)
        dt = time.perf_counter() - t
        cpu = time.process_time() + workers_cpu_seconds() - cpu
    return EncodeRun(label, dt, len(refs), fs.photos_with_face, cpu, workers)


Config = tuple[str, Callable[[Sequence[ImageRef], str], EncodeRun]]


def _configs(workers: int, baseline: bool, alt_max_side: int | None) -> list[Config]:
    """The warm configurations that take turns: (label, run on some photos)."""
    settings = EncoderSettings()
    configs: list[Config] = [(ARTICLE, lambda b, label: article_loop(b, label))] if baseline else []
    configs.append(("facecore, 1 process (in-process)",
                    lambda b, label: facecore_run(b, settings, 1, cold=False, label=label)))
    configs.append((f"facecore, {workers} processes, warm pool",
                    lambda b, label: facecore_run(b, settings, workers, cold=False, label=label)))
    if alt_max_side:
        alt = EncoderSettings(detect_max_side=alt_max_side)
        configs.append((f"facecore, {workers} processes, warm, detect_max_side={alt_max_side}",
                        lambda b, label: facecore_run(b, alt, workers, cold=False, label=label)))
    return configs


def _interleaved(refs: Sequence[ImageRef], configs: list[Config], blocks: int, seed: int
                 ) -> tuple[list[EncodeRun], dict[str, list[float]], int]:
    """Run every configuration on each block of photos in turn; return the summed runs and the loads seen."""
    order = list(refs)
    random.Random(seed + 1).shuffle(order)
    n_blocks = max(1, min(blocks, len(order)))
    totals = {label: EncodeRun(label) for label, _ in configs}
    loads: dict[str, list[float]] = {label: [] for label, _ in configs}
    for part in (order[i::n_blocks] for i in range(n_blocks)):
        for label, fn in configs:
            loads[label].append(os.getloadavg()[0])
            run = fn(part, label)
            totals[label].add(run)
            totals[label].processes = run.processes
    return list(totals.values()), loads, n_blocks


def throughput_table(runs: list[EncodeRun], loads: dict[str, list[float]], workers: int, note: str) -> Table:
    """Photos/s of each run, its ratio to the first (the article's loop) and its CPU-bound projection."""
    base = runs[0] if runs[0].label.startswith("article") else None
    table = Table(
        f"Encoding {runs[-1].photos} photos (photos/s, higher is better)",
        ["run", "wall s", "photos/s", "vs article loop", "CPU s/photo",
         f"photos/s if CPU-bound on {workers} idle cores", "photos with a face", "load avg"],
    )
    base_cpu = base.cpu_seconds / base.photos if base else None
    for r in runs:
        cpu_pp = r.cpu_seconds / r.photos
        ideal = r.processes / cpu_pp if cpu_pp else 0.0
        table.rows.append([
            r.label, secs(r.seconds), f"{r.rate:.2f}", f"{r.rate / base.rate:.2f}x" if base else "-",
            f"{cpu_pp:.3f}", f"{ideal:.2f}" + (f" ({ideal * base_cpu:.2f}x)" if base_cpu else ""),
            f"{r.with_face}/{r.photos}", f"{float(np.mean(loads[r.label])):.1f}",
        ])
    table.note = note
    return table


def bench_encode(
    refs: Sequence[ImageRef], *, workers: int | None = None, stage_sample: int = 60,
    alt_max_side: int | None = None, baseline: bool = True, seed: int = 0, blocks: int = 5,
    resnet_faces: int = 64,
) -> Report:
    """Photos/s of the article's loop vs ``encode_images`` on the same photos, time per stage, the ResNet alone."""
    workers = workers or default_workers()
    load_before = load_avg()
    t = time.perf_counter()
    load_models()
    engine = encoder_engine()
    model_load = time.perf_counter() - t
    configs = _configs(workers, baseline, alt_max_side)
    facecore_run(list(refs)[:4], EncoderSettings(), workers, cold=True, label="warm-up")  # pool up before warm runs
    runs, loads, n_blocks = _interleaved(refs, configs, blocks, seed)
    cold_label = f"facecore, {workers} processes, cold (pool start + model load included)"
    loads[cold_label] = [os.getloadavg()[0]]
    runs.insert(2 if baseline else 1, facecore_run(refs, EncoderSettings(), workers, cold=True, label=cold_label))
    note = (f"Face ResNet engine: {engine}. Models load in {model_load:.2f} s per process (excluded from the "
            f"article loop and the in-process run, included in the cold run). CPU s/photo counts this process and "
            f"the pool's workers; the column after it is processes / CPU s per photo, the throughput of an otherwise "
            f"idle machine. Warm runs took turns over {n_blocks} blocks of photos; load avg = mean 1-min load at "
            f"the start of each block (2 = both cores busy). Load average (1, 5, 15 min) before: {load_before}, "
            f"after: {load_avg()}.")
    rep = Report("encode", tables=[throughput_table(runs, loads, workers, note)])
    sub = list(refs)[:stage_sample]
    stages, stage_data = stage_table(sub, EncoderSettings())
    rep.tables.append(stages)
    rep.data = {"photos": len(refs), "workers": workers, "model_load_s": model_load, "seed": seed,
                "blocks": n_blocks, "engine": engine,
                "runs": [r.as_dict(float(np.mean(loads[r.label]))) for r in runs],
                "stages": stage_data, "load_before": load_before, "load_after": load_avg()}
    if resnet_faces:
        resnet, rep.data["resnet"] = resnet_table(refs, resnet_faces)
        rep.tables.append(resnet)
    return rep
