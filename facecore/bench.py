"""Benchmarks behind BENCHMARKS.md: ``python -m facecore bench encode|cache|interactive|search|memory|all``.

Each subcommand prints Markdown tables (copied as they are into
BENCHMARKS.md), ``--json`` prints one JSON object instead, and ``--out DIR``
also writes ``DIR/<name>.json`` and PNG plots. Real encodings of the shared
CelebA set are computed once through an encoding cache kept outside the
repository (``--cache``, default ``/tmp/bench-cache.sqlite``); synthetic sets
are drawn around them (a random real encoding plus Gaussian noise whose
per-dimension spread matches the spread of one person's faces). The machines
are shared and noisy: every run prints the load average before and after,
and ratios are only quoted between numbers measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from . import reduce
from . import settings as S
from .cluster import MINIBATCH_ABOVE, auto_k, fit_kmeans
from .encoding import detect_faces, load_models
from .errors import NotEnoughFacesError
from .faceset import FaceSet, encode_images
from .imaging import decode_image, face_thumbnail
from .reduce import fit_pca, project
from .search import ClusterIndex, cluster_search, exact_search, recall
from .settings import EncoderSettings
from .similarity import fit_model
from .sources import ImageRef, content_digest, open_dataset
from .store import EncodingStore
from .workers import default_workers, shutdown_pools, worker_pids

DEFAULT_BENCH_CACHE = Path(os.environ.get("FACECORE_BENCH_CACHE", "/tmp/bench-cache.sqlite"))
SEARCH_SIZES = (1_000, 10_000, 100_000, 1_000_000)
QUICK_SEARCH_SIZES = (1_000, 10_000, 100_000)
#: Above this many faces the search benchmark fits PCA and K-means on a random
#: sample of this size and assigns every face to its nearest centroid.
FIT_SAMPLE = 200_000


# --------------------------------------------------------------------------- output


@dataclass
class Table:
    """A titled table; ``rows`` hold already formatted cells."""

    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    note: str = ""

    def markdown(self) -> str:
        """The table as GitHub Markdown (title line, header, rows, note)."""
        widths = [max(len(str(c)), *(len(str(r[i])) for r in self.rows)) if self.rows else len(str(c))
                  for i, c in enumerate(self.columns)]

        def line(cells: Sequence[str]) -> str:
            return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

        out = [f"**{self.title}**", "", line(self.columns), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
        out += [line(r) for r in self.rows]
        if self.note:
            out += ["", self.note]
        return "\n".join(out)

    def as_dict(self) -> dict:
        return {"title": self.title, "columns": self.columns, "rows": self.rows, "note": self.note}


@dataclass
class Report:
    """What one benchmark produced: tables for people, raw numbers for JSON, plot files."""

    name: str
    tables: list[Table] = field(default_factory=list)
    data: dict = field(default_factory=dict)
    plots: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"name": self.name, "tables": [t.as_dict() for t in self.tables], "data": self.data, "plots": self.plots}


def _ms(seconds: float) -> str:
    ms = seconds * 1000
    return f"{ms:.3f}" if ms < 1 else f"{ms:.2f}" if ms < 10 else f"{ms:.1f}" if ms < 1000 else f"{ms:,.0f}"


def _s(seconds: float) -> str:
    return f"{seconds:.3f}" if seconds < 10 else f"{seconds:.1f}"


def _int(n: float) -> str:
    return f"{int(round(n)):,}"


def _load() -> str:
    a, b, c = os.getloadavg()
    return f"{a:.2f} {b:.2f} {c:.2f}"


def _timed(fn: Callable[[], object], repeats: int = 1) -> tuple[float, float, object]:
    """Run ``fn`` ``repeats`` times; return ``(median s, min s, last result)``."""
    times, result = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times)), float(min(times)), result


def _timed_all_cores(fn: Callable[[], object], repeats: int = 1) -> tuple[float, float, object]:
    """:func:`_timed` with ``reduce.FIT_THREADS`` lifted (BLAS/OpenMP may use every core)."""
    before = reduce.FIT_THREADS
    reduce.FIT_THREADS = None
    try:
        return _timed(fn, repeats)
    finally:
        reduce.FIT_THREADS = before


def _maxrss_mib(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux reports KiB


def _hwm_mib(pid: int | str = "self") -> float:
    """Peak resident set (VmHWM) of a process in MiB.

    Unlike ``ru_maxrss``, which Linux carries over fork and exec (a probe started by a big process
    would report the parent's size), VmHWM belongs to the process's own address space.
    """
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return _maxrss_mib() if pid == "self" else 0.0


def machine_info() -> dict:
    """CPU model, cores, RAM and library versions of this run."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        usable = os.cpu_count() or 1
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for dist in ("numpy", "scikit-learn", "scipy", "pillow", "plotly", "matplotlib", "face_recognition",
                 "dlib-bin", "dlib"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    try:
        import dlib

        versions["dlib_blas"] = bool(getattr(dlib, "DLIB_USE_BLAS", False))
        versions["dlib_avx"] = bool(getattr(dlib, "USE_AVX_INSTRUCTIONS", False))
        versions["dlib_path"] = str(Path(dlib.__file__).parent)
    except ImportError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "usable_cores": usable, "ram_gib": round(ram / 2**30, 1),
            "load_avg": _load(), "versions": versions}


# --------------------------------------------------------------------------- data


def _photos_with_face(fs: FaceSet) -> int:
    return fs.photos_with_face


def sample_refs(dataset: str | os.PathLike[str], n: int | None, seed: int = 0) -> list[ImageRef]:
    """A fixed random sample of ``n`` images of ``dataset`` (all of them when ``n`` is None), sorted by name."""
    refs, _ = open_dataset(dataset)
    if not refs:
        raise NotEnoughFacesError(f"No images found in {str(dataset)!r}: point --dataset to a folder of photos.")
    if n is not None and n < len(refs):
        refs = random.Random(seed).sample(refs, n)
    return sorted(refs, key=lambda r: r.name)


def real_faceset(dataset: str | os.PathLike[str], cache: str | os.PathLike[str]) -> FaceSet:
    """Encode every photo of ``dataset`` through the cache file ``cache`` (slow the first time only)."""
    refs, skipped = open_dataset(dataset)
    return encode_images(refs, EncoderSettings(), EncodingStore(cache), skipped=skipped)


def within_person_std(encodings: np.ndarray, persons: Sequence[str | None]) -> np.ndarray:
    """Per-dimension standard deviation of faces around their person's mean, pooled over persons.

    Only persons with two or more faces count. Returns a ``(128,)`` float32 array.
    """
    x = np.asarray(encodings, dtype=np.float64)
    names = {p: i for i, p in enumerate(sorted({p for p in persons if p is not None}))}
    pid = np.array([names.get(p, -1) if p is not None else -1 for p in persons])
    keep = pid >= 0
    counts = np.bincount(pid[keep], minlength=len(names))
    keep &= counts[np.maximum(pid, 0)] >= 2
    if keep.sum() < 2:
        raise NotEnoughFacesError("No person has two faces: synthetic faces need folders named by person.")
    x, pid = x[keep], pid[keep]
    sums = np.zeros((len(names), x.shape[1]))
    np.add.at(sums, pid, x)
    means = sums / np.maximum(counts, 1)[:, None]
    dev = x - means[pid]
    dof = len(x) - len(np.unique(pid))
    return np.sqrt((dev**2).sum(axis=0) / dof).astype(np.float32)


def synthetic_faces(real: np.ndarray, std: np.ndarray, n: int, seed: int = 0, chunk: int = 100_000) -> np.ndarray:
    """``(n, 128)`` float32 faces: a random row of ``real`` plus N(0, ``std``) noise per dimension."""
    rng = np.random.default_rng(seed)
    real = np.asarray(real, dtype=np.float32)
    std = np.asarray(std, dtype=np.float32)
    out = np.empty((n, real.shape[1]), dtype=np.float32)
    for s in range(0, n, chunk):
        e = min(n, s + chunk)
        out[s:e] = real[rng.integers(0, len(real), e - s)]
        out[s:e] += rng.standard_normal((e - s, real.shape[1]), dtype=np.float32) * std
    return out


def synthetic_identities(
    real: np.ndarray, persons: Sequence[str | None], std: np.ndarray, n: int, *, per_identity: int = 16,
    seed: int = 0, chunk: int = 100_000,
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` faces of ``n / per_identity`` new people: a stress test with no dense blobs around the real faces.

    Each new person's centre is drawn from a Gaussian fitted to the real persons' mean encodings
    (between-person covariance); each face is its centre plus the within-person noise ``std``.
    Returns ``(faces, centres)``: ``(n, 128)`` float32 and ``(n_identities, 128)`` float32; face i
    belongs to identity ``i // per_identity``.
    """
    rng = np.random.default_rng(seed)
    x = np.asarray(real, dtype=np.float64)
    names = sorted({p for p in persons if p is not None})
    means = np.array([x[[i for i, p in enumerate(persons) if p == name]].mean(axis=0) for name in names])
    cov = np.cov(means, rowvar=False) + 1e-8 * np.eye(x.shape[1])
    n_ids = -(-n // per_identity)
    centres = rng.multivariate_normal(means.mean(axis=0), cov, size=n_ids, method="cholesky").astype(np.float32)
    std = np.asarray(std, dtype=np.float32)
    out = np.empty((n, x.shape[1]), dtype=np.float32)
    for s in range(0, n, chunk):
        e = min(n, s + chunk)
        out[s:e] = centres[np.arange(s, e) // per_identity]
        out[s:e] += rng.standard_normal((e - s, x.shape[1]), dtype=np.float32) * std
    return out, centres


# --------------------------------------------------------------------------- encode


@dataclass
class EncodeRun:
    """One timed encoding run: wall seconds, CPU seconds (this process + its workers), photos with a face."""

    label: str
    seconds: float
    photos: int
    with_face: int
    cpu_seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.photos / self.seconds if self.seconds > 0 else 0.0


def _worker_cpu_seconds(workers: int) -> float:
    """User + system CPU seconds used so far by the live local encoding workers."""
    total = 0.0
    for pid in worker_pids():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            continue
    return total


def article_loop(refs: Sequence[ImageRef]) -> EncodeRun:
    """The article's loop: ``load_image_file`` then ``face_encodings`` (defaults), one process."""
    load_models()  # imports face_recognition (models load at its import: excluded from the time)
    import face_recognition

    found = 0
    cpu = time.process_time()
    t = time.perf_counter()
    for ref in refs:
        img = face_recognition.load_image_file(ref.path)
        found += len(face_recognition.face_encodings(img)) > 0
    return EncodeRun("article loop (1 process, upsample 1, full size)", time.perf_counter() - t, len(refs), found,
                     time.process_time() - cpu)


def facecore_run(
    refs: Sequence[ImageRef], settings: EncoderSettings, workers: int, *, cold: bool, label: str
) -> EncodeRun:
    """``encode_images`` on ``refs`` into a fresh temporary cache; ``cold`` restarts the worker pool first."""
    if workers == 1:
        load_models()  # in-process run: models loaded before timing, like the warm pool
    elif cold:
        shutdown_pools()
    with tempfile.TemporaryDirectory(prefix="facecore-bench-") as tmp:
        store = EncodingStore(Path(tmp) / "cache.sqlite")
        cpu = time.process_time() + _worker_cpu_seconds(workers)
        t = time.perf_counter()
        fs = encode_images(refs, settings, store, workers=workers)
        dt = time.perf_counter() - t
        cpu = time.process_time() + _worker_cpu_seconds(workers) - cpu
    return EncodeRun(label, dt, len(refs), _photos_with_face(fs), cpu)


def stage_times(refs: Sequence[ImageRef], settings: EncoderSettings, batch: int = 4) -> dict:
    """Single-process time per stage, for the article's loop and for facecore's encoder.

    Returns seconds summed over ``refs`` per stage plus face counts. Landmarks
    and encodings are timed per face; ``encode_batched`` times the same faces
    encoded ``batch`` photos per dlib call.
    """
    api = load_models()
    import dlib
    import face_recognition

    base = dict.fromkeys(("decode", "detect", "landmarks", "encode"), 0.0)
    ours = dict.fromkeys(("read+hash", "decode", "detect", "landmarks", "encode", "thumbnails"), 0.0)
    base_faces = ours_faces = base_photos = ours_photos = 0
    pending: list[tuple[np.ndarray, object]] = []
    batched = 0.0

    def flush() -> float:
        if not pending:
            return 0.0
        t = time.perf_counter()
        api.face_encoder.compute_face_descriptor([p[0] for p in pending], [p[1] for p in pending], 1)
        pending.clear()
        return time.perf_counter() - t

    for ref in refs:
        # the article's loop, stage by stage (face_encodings' own steps)
        t0 = time.perf_counter()
        img = face_recognition.load_image_file(ref.path)
        t1 = time.perf_counter()
        rects = api.face_detector(img, 1)
        t2 = time.perf_counter()
        shapes = [api.pose_predictor_5_point(img, r) for r in rects]
        t3 = time.perf_counter()
        for sh in shapes:
            api.face_encoder.compute_face_descriptor(img, sh, 1)
        t4 = time.perf_counter()
        base["decode"] += t1 - t0
        base["detect"] += t2 - t1
        base["landmarks"] += t3 - t2
        base["encode"] += t4 - t3
        base_faces += len(rects)
        base_photos += len(rects) > 0

        # facecore's encode_bytes, stage by stage
        t0 = time.perf_counter()
        data = ref.read_bytes()
        content_digest(data)
        t1 = time.perf_counter()
        rgb = decode_image(data)
        t2 = time.perf_counter()
        boxes = detect_faces(rgb, settings)
        t3 = time.perf_counter()
        shapes = [api.pose_predictor_5_point(rgb, api._css_to_rect(b)) for b in boxes]
        t4 = time.perf_counter()
        for sh in shapes:
            api.face_encoder.compute_face_descriptor(rgb, sh, settings.jitters)
        t5 = time.perf_counter()
        for b in boxes:
            face_thumbnail(rgb, b)
        t6 = time.perf_counter()
        for key, dt in zip(ours, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5), strict=True):
            ours[key] += dt
        ours_faces += len(boxes)
        ours_photos += len(boxes) > 0
        if shapes:
            pending.append((rgb, dlib.full_object_detections(shapes)))
        if len(pending) >= batch:
            batched += flush()
    batched += flush()
    return {"photos": len(refs), "baseline": base, "ours": ours, "encode_batched": batched, "batch": batch,
            "baseline_faces": base_faces, "ours_faces": ours_faces,
            "baseline_photos_with_face": base_photos, "ours_photos_with_face": ours_photos}


def bench_encode(
    refs: Sequence[ImageRef],
    *,
    workers: int | None = None,
    stage_sample: int = 60,
    alt_max_side: int | None = 400,
    baseline: bool = True,
    seed: int = 0,
    blocks: int = 5,
) -> Report:
    """Photos/s of the article's loop vs ``encode_images`` on the same photos, plus a per-stage breakdown.

    The photos are split into ``blocks`` and the warm configurations take turns block by block, so a
    change of load on the shared machine hits them alike; the cold run (worker pool started from
    scratch) covers the whole sample once, at the end.
    """
    workers = workers or default_workers()
    settings = EncoderSettings()
    rep = Report("encode")
    load_before = _load()
    t = time.perf_counter()
    load_models()
    model_load = time.perf_counter() - t
    configs: list[tuple[str, Callable[[Sequence[ImageRef], str], EncodeRun]]] = []
    if baseline:
        configs.append(("article loop (1 process, upsample 1, full size)", lambda b, label: article_loop(b)))
    configs.append(("facecore, 1 process (in-process)",
                    lambda b, label: facecore_run(b, settings, 1, cold=False, label=label)))
    configs.append((f"facecore, {workers} processes, warm pool",
                    lambda b, label: facecore_run(b, settings, workers, cold=False, label=label)))
    if alt_max_side:
        alt = EncoderSettings(detect_max_side=alt_max_side)
        configs.append((f"facecore, {workers} processes, warm, detect_max_side={alt_max_side}",
                        lambda b, label: facecore_run(b, alt, workers, cold=False, label=label)))
    order = list(refs)
    random.Random(seed + 1).shuffle(order)
    n_blocks = max(1, min(blocks, len(order)))
    parts = [order[i::n_blocks] for i in range(n_blocks)]
    facecore_run(order[:4], settings, workers, cold=True, label="warm-up")  # start the pool before the warm runs
    totals = {label: EncodeRun(label, 0.0, 0, 0, 0.0) for label, _ in configs}
    loads: dict[str, list[float]] = {label: [] for label, _ in configs}
    for part in parts:
        for label, fn in configs:
            loads[label].append(os.getloadavg()[0])
            r = fn(part, label)
            acc = totals[label]
            acc.seconds += r.seconds
            acc.photos += r.photos
            acc.with_face += r.with_face
            acc.cpu_seconds += r.cpu_seconds
    runs: list[EncodeRun] = [totals[label] for label, _ in configs]
    cold_label = f"facecore, {workers} processes, cold (pool start + model load included)"
    loads[cold_label] = [os.getloadavg()[0]]
    runs.insert(2 if baseline else 1, facecore_run(refs, settings, workers, cold=True, label=cold_label))
    base_rate = runs[0].rate if baseline else None
    table = Table(
        f"Encoding {len(refs)} photos (photos/s, higher is better)",
        ["run", "wall s", "photos/s", "vs article loop", "CPU s/photo", "photos/s if CPU-bound on "
         f"{workers} idle cores", "photos with a face", "load avg"],
    )
    base_cpu = runs[0].cpu_seconds / runs[0].photos if baseline else None
    for r in runs:
        ratio = f"{r.rate / base_rate:.2f}x" if base_rate else "-"
        cpu_pp = r.cpu_seconds / r.photos
        procs = 1 if ("1 process" in r.label or "article" in r.label) else workers
        ideal = procs / cpu_pp if cpu_pp else 0.0
        ideal_ratio = f" ({ideal * base_cpu:.2f}x)" if base_cpu else ""
        table.rows.append([r.label, _s(r.seconds), f"{r.rate:.2f}", ratio, f"{cpu_pp:.3f}",
                           f"{ideal:.2f}{ideal_ratio}", f"{r.with_face}/{r.photos}",
                           f"{float(np.mean(loads[r.label])):.1f}"])
    table.note = (f"Models load in {model_load:.2f} s per process (excluded from the article loop and the in-process "
                  f"run, included in the cold run). CPU s/photo counts this process and the pool's workers; the "
                  f"column after it is processes / CPU s per photo, the throughput of an otherwise idle machine. "
                  f"Warm runs took turns over {n_blocks} blocks of photos; load avg = mean 1-min load at the start "
                  f"of each block (2 = both cores busy). Load average (1, 5, 15 min) before: {load_before}, "
                  f"after: {_load()}.")
    rep.tables.append(table)

    sub = list(refs)[:stage_sample] if stage_sample < len(refs) else list(refs)
    st = stage_times(sub, settings)
    n = st["photos"]
    stages = Table(
        f"Time per stage, one process, {n} photos (ms per photo; landmarks/encode also per face)",
        ["stage", "article loop", "facecore"],
    )
    b, o = st["baseline"], st["ours"]

    def per_face(total: float, faces: int) -> str:
        return f" ({_ms(total / faces)}/face)" if faces else ""

    stages.rows = [
        ["read + sha256", "-", _ms(o["read+hash"] / n)],
        ["decode", _ms(b["decode"] / n), _ms(o["decode"] / n)],
        ["detect (HOG)", _ms(b["detect"] / n) + " (upsample 1, full size)",
         _ms(o["detect"] / n) + f" (<= {settings.detect_max_side} px, upsample 0, 1 on a miss)"],
        ["landmarks (5 points)", _ms(b["landmarks"] / n) + per_face(b["landmarks"], st["baseline_faces"]),
         _ms(o["landmarks"] / n) + per_face(o["landmarks"], st["ours_faces"])],
        ["encode (ResNet)", _ms(b["encode"] / n) + per_face(b["encode"], st["baseline_faces"]),
         _ms(o["encode"] / n) + per_face(o["encode"], st["ours_faces"])],
        [f"encode, {st['batch']} photos per dlib call", "-",
         _ms(st["encode_batched"] / n) + per_face(st["encode_batched"], st["ours_faces"])],
        ["thumbnails", "-", _ms(o["thumbnails"] / n)],
        ["total", _ms(sum(b.values()) / n), _ms(sum(o.values()) / n)],
        ["faces / photos with a face", f"{st['baseline_faces']} / {st['baseline_photos_with_face']}",
         f"{st['ours_faces']} / {st['ours_photos_with_face']}"],
    ]
    rep.tables.append(stages)
    rep.data = {"photos": len(refs), "workers": workers, "model_load_s": model_load, "seed": seed,
                "blocks": n_blocks,
                "runs": [dict(label=r.label, seconds=r.seconds, photos=r.photos, with_face=r.with_face,
                              photos_per_s=r.rate, cpu_seconds=r.cpu_seconds, load=float(np.mean(loads[r.label])))
                         for r in runs],
                "stages": st, "load_before": load_before, "load_after": _load()}
    return rep


def _idle_rate(run: dict, workers: int) -> float:
    """Photos/s of ``run`` on an otherwise idle machine: processes / CPU seconds per photo."""
    procs = 1 if ("1 process" in run["label"] or "article" in run["label"]) else workers
    cpu = run.get("cpu_seconds") or 0.0
    return procs * run["photos"] / cpu if cpu else 0.0


def plot_encode(rep: Report, out: Path, extra: Sequence[dict] = (), extra_workers: int | None = None) -> str:
    """Bar chart of photos/s per run, measured and CPU-time projected (plus ``extra`` runs from another run)."""
    plt = _pyplot()
    workers = rep.data["workers"]
    runs = [dict(r, _w=workers) for r in rep.data["runs"]] + [dict(r, _w=extra_workers or workers) for r in extra]
    labels = [r["label"].replace(", ", "\n", 2) for r in runs]
    wall = [r["photos_per_s"] for r in runs]
    idle = [_idle_rate(r, r["_w"]) for r in runs]
    fig, ax = plt.subplots(figsize=(11, 0.95 * len(runs) + 1.8))
    y = np.arange(len(runs))
    h = 0.38
    colors = ["#999999" if "article" in r["label"] else "#2ca02c" if "accelerated" in r["label"] else "#1f77b4"
              for r in runs]
    b1 = ax.barh(y - h / 2, wall, h, color=colors, label="measured wall clock (shared machine)")
    b2 = ax.barh(y + h / 2, idle, h, color=colors, alpha=0.45, hatch="//",
                 label="projected for idle cores: processes / CPU s per photo")
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()
    base = runs[0] if "article" in runs[0]["label"] else None
    for bars, vals, ref in ((b1, wall, base["photos_per_s"] if base else None),
                            (b2, idle, idle[0] if base else None)):
        for bar, v in zip(bars, vals, strict=True):
            txt = f" {v:.1f}/s" + (f" ({v / ref:.1f}x)" if ref else "")
            ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, txt, va="center", fontsize=7)
    if base:
        ax.axvline(4 * idle[0], color="#d62728", ls="--", lw=1, label="target: 4x the article loop (idle)")
    ax.set_xlim(0, max(wall + idle) * 1.3)
    ax.set_xlabel("photos per second (higher is better)")
    title = f"Encoding throughput, {rep.data['photos']} CelebA photos, {workers} cores"
    if extra:
        title += "\n(green: accelerated dlib build, a separate run; every ratio is against the grey article loop)"
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    path = out / "encode_throughput.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return str(path)


# --------------------------------------------------------------------------- cache


def bench_cache(
    refs: Sequence[ImageRef], *, workers: int | None = None, reopen_repeats: int = 5,
    full_dataset: str | os.PathLike[str] | None = None, full_cache: str | os.PathLike[str] | None = None,
) -> Report:
    """Encoding photos into a fresh cache vs re-opening them (hash + cache lookup) through ``encode_images``.

    With ``full_dataset`` and ``full_cache`` (a cache that already holds that folder), also times listing
    the whole folder with :func:`open_dataset` and re-opening every photo of it.
    """
    rep = Report("cache")
    load_before = _load()
    settings = EncoderSettings()
    pool_state = "warm pool" if worker_pids() else "cold pool: start + model load included"
    with tempfile.TemporaryDirectory(prefix="facecore-bench-") as tmp:
        store = EncodingStore(Path(tmp) / "cache.sqlite")
        t = time.perf_counter()
        first = encode_images(refs, settings, store, workers=workers)
        t_encode = time.perf_counter() - t
        reopen = []
        for _ in range(reopen_repeats):
            t = time.perf_counter()
            again = encode_images(refs, settings, store, workers=workers)
            reopen.append(time.perf_counter() - t)
        same = bool(np.array_equal(first.encodings, again.encodings)) and again.encoded == 0
    t_first, t_med = reopen[0], float(np.median(reopen))
    per_photo = t_encode / len(refs)
    table = Table(f"Encoding {len(refs)} photos vs re-opening them from the cache",
                  ["step", "seconds", "ms per photo", "speed-up vs encoding"])
    table.rows = [
        [f"encode into a fresh cache ({pool_state})", _s(t_encode), _ms(per_photo), "1x"],
        ["re-open, first time (read + sha256 + lookup)", _s(t_first), _ms(t_first / len(refs)),
         f"{t_encode / t_first:,.0f}x"],
        [f"re-open, median of {reopen_repeats}", _s(t_med), _ms(t_med / len(refs)), f"{t_encode / t_med:,.0f}x"],
    ]
    rep.data = {"photos": len(refs), "encode_s": t_encode, "reopen_s": reopen, "identical": same,
                "speedup_first": t_encode / t_first, "speedup_median": t_encode / t_med, "pool": pool_state}
    if full_dataset is not None and full_cache is not None:
        full_store = EncodingStore(full_cache)
        t = time.perf_counter()
        all_refs, skipped = open_dataset(full_dataset)
        fs = encode_images(all_refs, settings, full_store, workers=workers, skipped=skipped)
        t_full = time.perf_counter() - t
        n = len(all_refs)
        table.rows.append([f"list the whole folder + re-open all {n:,} photos ({fs.encoded} had to be encoded)",
                           _s(t_full), _ms(t_full / n), f"{per_photo / (t_full / n):,.0f}x per photo"])
        rep.data["full_folder"] = {"photos": n, "seconds": t_full, "encoded": fs.encoded,
                                   "speedup_per_photo": per_photo / (t_full / n)}
    table.note = (f"Re-opened results identical to the first encoding: {same}. Photo files were in the OS page cache "
                  f"(just read by the encode). Load average before: {load_before}, after: {_load()}.")
    rep.tables.append(table)
    return rep


# --------------------------------------------------------------------------- interactive


def bench_interactive(
    real: np.ndarray,
    persons: Sequence[str | None],
    *,
    synthetic_n: int = 100_000,
    repeats: int = 5,
    seed: int = 0,
) -> Report:
    """PCA + K-means refit times on the real encodings and on ``synthetic_n`` synthetic faces; scatter build time."""
    rep = Report("interactive")
    load_before = _load()
    std = within_person_std(real, persons)
    sets = [("real", np.asarray(real, np.float32))]
    if synthetic_n:
        sets.append(("synthetic", synthetic_faces(real, std, synthetic_n, seed)))
    table = Table("Refitting the model (what a slider move costs), seconds",
                  ["faces", "step", "median s", "min s", "target"])
    threads_t = Table(f"Same fits with BLAS/OpenMP on every core instead of reduce.FIT_THREADS={reduce.FIT_THREADS}",
                      ["faces", "step", f"{reduce.FIT_THREADS} thread median s", "all cores median s",
                       "all cores / one thread"])
    rows = []
    for name, x in sets:
        n = len(x)
        target = "< 0.5 s" if n <= 10_000 else "< 3 s"
        pca_t, pca_min, pca = _timed(lambda x=x: fit_pca(x, seed), repeats)
        proj_t, proj_min, _ = _timed(lambda x=x, pca=pca: project(pca, x, S.DEFAULT_DIMS), repeats)
        rows.append([f"{n:,} {name}", "full PCA fit (all components)", _s(pca_t), _s(pca_min), ""])
        rows.append([f"{n:,} {name}", f"project to {S.DEFAULT_DIMS} dims (dims slider: slice only)",
                     _s(proj_t), _s(proj_min), ""])
        all_pca, _, _ = _timed_all_cores(lambda x=x: fit_pca(x, seed), repeats)
        threads_t.rows.append([f"{n:,} {name}", "full PCA fit", _s(pca_t), _s(all_pca), f"{all_pca / pca_t:.1f}x"])
        for k in dict.fromkeys((S.DEFAULT_K, auto_k(n))):
            algo = "MiniBatchKMeans" if n > MINIBATCH_ABOVE else "KMeans"
            m_t, m_min, model = _timed(lambda x=x, pca=pca, k=k: fit_model(x, S.DEFAULT_DIMS, k, seed, pca=pca),
                                       repeats)
            f_t, f_min, _ = _timed(lambda x=x, k=k: fit_model(x, S.DEFAULT_DIMS, k, seed), repeats)
            rows.append([f"{n:,} {name}", f"fit_model, prefitted PCA, K={k} ({algo})", _s(m_t), _s(m_min), target])
            rows.append([f"{n:,} {name}", f"fit_model, PCA fitted too, K={k}", _s(f_t), _s(f_min), target])
            a_t, _, _ = _timed_all_cores(lambda x=x, pca=pca, k=k: fit_model(x, S.DEFAULT_DIMS, k, seed, pca=pca),
                                         repeats)
            threads_t.rows.append([f"{n:,} {name}", f"fit_model, prefitted PCA, K={k}", _s(m_t), _s(a_t),
                                   f"{a_t / m_t:.1f}x"])
            rep.data.setdefault("fits", []).append({"set": name, "n": n, "k": k, "algorithm": algo,
                                                    "prefit_s": m_t, "full_s": f_t, "prefit_all_cores_s": a_t,
                                                    "inertia": model.inertia})
        rep.data.setdefault("pca", []).append({"set": name, "n": n, "fit_pca_s": pca_t, "project_s": proj_t,
                                               "fit_pca_all_cores_s": all_pca})
    table.rows = rows
    table.note = f"Median of {repeats} runs each. Load average before: {load_before}, after: {_load()}."
    threads_t.note = "Measured in the same run, interleaved per step; > 1x means every core was slower."
    rep.tables += [table, threads_t]

    # the scatter the app draws: 2-D PCA coordinates coloured by cluster, as a WebGL scatter
    x = sets[-1][1]
    model = fit_model(x, S.DEFAULT_DIMS, S.DEFAULT_K, seed)
    z2 = np.ascontiguousarray(model.reduced[:, :2])
    import plotly.graph_objects as go

    def build():
        return go.Figure(go.Scattergl(x=z2[:, 0], y=z2[:, 1], mode="markers",
                                      marker=dict(color=model.labels, size=3, colorscale="Turbo")))

    b_t, b_min, fig = _timed(build, repeats)
    j_t, j_min, js = _timed(lambda: fig.to_json(), repeats)
    scatter = Table(f"Scatter figure of {len(x):,} points (plotly Scattergl, built, not rendered)",
                    ["step", "median s", "min s"])
    scatter.rows = [["build go.Figure(go.Scattergl(...))", _s(b_t), _s(b_min)],
                    [f"fig.to_json() ({len(js) / 1e6:.1f} MB: what is sent to the browser)", _s(j_t), _s(j_min)]]
    rep.tables.append(scatter)
    rep.data["scatter"] = {"n": len(x), "build_s": b_t, "to_json_s": j_t, "json_mb": len(js) / 1e6}
    return rep


# --------------------------------------------------------------------------- search


@dataclass
class BuiltIndex:
    x: np.ndarray
    sq: np.ndarray
    pca: object
    index: ClusterIndex
    timings: dict


def build_search_index(x: np.ndarray, k: int, dims: int = S.DEFAULT_DIMS, seed: int = 0,
                       fit_sample: int = FIT_SAMPLE) -> BuiltIndex:
    """PCA to ``dims`` + K-means with ``k`` clusters over ``x``; above ``fit_sample`` faces both are fitted on a
    random sample and every face is assigned to its nearest centroid."""
    rng = np.random.default_rng(seed)
    n = len(x)
    timings = {}
    sample = np.sort(rng.choice(n, fit_sample, replace=False)) if n > fit_sample else None
    t = time.perf_counter()
    pca = fit_pca(x[sample] if sample is not None else x, seed)
    timings["pca_fit_s"] = time.perf_counter() - t
    t = time.perf_counter()
    z = np.empty((n, dims), np.float32)
    for s in range(0, n, 100_000):  # chunks keep the centred copy small
        z[s : s + 100_000] = project(pca, x[s : s + 100_000], dims)
    timings["project_s"] = time.perf_counter() - t
    t = time.perf_counter()
    km = fit_kmeans(z[sample] if sample is not None else z, k, seed)
    timings["kmeans_fit_s"] = time.perf_counter() - t
    t = time.perf_counter()
    labels = km.predict(z) if sample is not None else km.labels_
    timings["assign_s"] = time.perf_counter() - t
    t = time.perf_counter()
    index = ClusterIndex.build(km.cluster_centers_, labels)
    sq = np.einsum("ij,ij->i", x, x)
    timings["index_s"] = time.perf_counter() - t
    timings["kmeans"] = type(km).__name__ + (f" on a {fit_sample:,} sample" if sample is not None else "")
    return BuiltIndex(x, sq, pca, index, timings)


def nprobe_ladder(k: int, include_k: bool) -> list[int]:
    """1, 2, 4, ... below ``k`` (and ``k`` itself when asked)."""
    out = [p for p in (2**i for i in range(20)) if p < k]
    return out + [k] if include_k else out


def search_curve(
    x: np.ndarray, qs: np.ndarray, *, k: int, self_rows: np.ndarray | None = None, top: int = 10,
    nprobes: Sequence[int] | None = None, seed: int = 0, fit_sample: int = FIT_SAMPLE, label: str = "",
) -> dict:
    """Exact vs nearest-centroid search of queries ``qs`` over faces ``x``: latency, comparisons, recall per nprobe.

    ``self_rows[i]``, when given, is the row of ``x`` that query i is (left out of both searches).
    Query timings run with BLAS/OpenMP limited to one thread: one query, one core.
    """
    n = len(x)
    built = build_search_index(x, k, seed=seed, fit_sample=fit_sample)
    zq = project(built.pca, qs, S.DEFAULT_DIMS)
    probes = list(nprobes) if nprobes else nprobe_ladder(k, include_k=n <= 10_000)
    probes = [p for p in probes if 1 <= p <= k]
    exact_t, truth = [], []
    rows = []
    with threadpool_limits(1):
        for i, q in enumerate(qs):
            ex = None if self_rows is None else int(self_rows[i])
            t = time.perf_counter()
            res = exact_search(built.x, q, top=top, exclude=ex, sq_norms=built.sq)
            exact_t.append(time.perf_counter() - t)
            truth.append(res.indices)
        for p in probes:
            lat, comps, rec = [], [], []
            for i, q in enumerate(qs):
                ex = None if self_rows is None else int(self_rows[i])
                t = time.perf_counter()
                res = cluster_search(built.index, zq[i], built.x, q, nprobe=p, top=top, exclude=ex)
                lat.append(time.perf_counter() - t)
                comps.append(res.comparisons)
                rec.append(recall(res.indices, truth[i]))
            rows.append({"nprobe": p, "recall": float(np.mean(rec)), "recall_min": float(np.min(rec)),
                         "comparisons": float(np.mean(comps)), "latency_ms": 1000 * float(np.median(lat)),
                         "fewer_comparisons": n / float(np.mean(comps))})
    sizes = built.index.sizes()
    return {"n": n, "label": label, "k": k, "queries": len(qs), "top": top,
            "exact_latency_ms": 1000 * float(np.median(exact_t)), "exact_comparisons": n, "build": built.timings,
            "cluster_size_min": int(sizes.min()), "cluster_size_max": int(sizes.max()),
            "cluster_size_median": float(np.median(sizes)), "nprobe": rows}


SYNTHETIC_KINDS = ("around-real", "identities")


def search_one_size(
    real: np.ndarray, std: np.ndarray, n: int, *, queries: int = 100, k: int | None = None, top: int = 10,
    nprobes: Sequence[int] | None = None, seed: int = 0, fit_sample: int = FIT_SAMPLE, kind: str = "around-real",
    persons: Sequence[str | None] | None = None,
) -> dict:
    """:func:`search_curve` over ``n`` synthetic faces, with ``queries`` fresh synthetic draws as queries.

    ``kind="around-real"``: faces drawn around the real encodings (:func:`synthetic_faces`).
    ``kind="identities"``: faces of new people (:func:`synthetic_identities`, needs ``persons``); each
    query is a new photo of one of those people.
    """
    if kind == "around-real":
        x = synthetic_faces(real, std, n, seed)
        qs = synthetic_faces(real, std, queries, seed + 1_000_003)  # new draws: queries are not in the set
        label = f"{n:,} synthetic around real"
    elif kind == "identities":
        if persons is None:
            raise ValueError("kind='identities' needs the persons of the real faces")
        x, centres = synthetic_identities(real, persons, std, n, seed=seed)
        rng = np.random.default_rng(seed + 1_000_003)
        qs = centres[rng.integers(0, len(centres), queries)]
        qs = qs + rng.standard_normal(qs.shape, dtype=np.float32) * std
        label = f"{n:,} synthetic identities"
    else:
        raise ValueError(f"kind must be one of {SYNTHETIC_KINDS}, got {kind!r}")
    out = search_curve(x, qs, k=k or auto_k(n), top=top, nprobes=nprobes, seed=seed, fit_sample=fit_sample,
                       label=label)
    out["kind"] = kind
    return out


def search_real(real: np.ndarray, *, queries: int | None = None, k: int | None = None, top: int = 10,
                nprobes: Sequence[int] | None = None, seed: int = 0) -> dict:
    """:func:`search_curve` over the real encodings, each query a real face left out of its own results."""
    x = np.ascontiguousarray(real, dtype=np.float32)
    rows = np.arange(len(x))
    if queries is not None and queries < len(x):
        rows = np.sort(np.random.default_rng(seed).choice(len(x), queries, replace=False))
    return search_curve(x, x[rows], k=k or auto_k(len(x)), self_rows=rows, top=min(top, len(x) - 1),
                        nprobes=nprobes, seed=seed, label=f"{len(x):,} real (leave-one-out)")


def bench_search(
    real: np.ndarray, persons: Sequence[str | None], sizes: Sequence[int] = SEARCH_SIZES, *,
    queries: int = 100, k: int | None = None, nprobes: Sequence[int] | None = None, top: int = 10, seed: int = 0,
    fit_sample: int = FIT_SAMPLE, target_recall: float = 0.95, real_queries: int | None = None,
    kinds: Sequence[str] = ("around-real",),
) -> Report:
    """The real encodings (leave-one-out) and :func:`search_one_size` for each size and synthetic kind;
    a summary at ``target_recall``."""
    rep = Report("search")
    load_before = _load()
    std = within_person_std(real, persons)
    results = [search_real(real, queries=real_queries, k=k, top=top, nprobes=nprobes, seed=seed)]
    results[0]["kind"] = "real"
    for kind in kinds:
        for n in sizes:
            results.append(search_one_size(real, std, n, queries=queries, k=k, top=top, nprobes=nprobes, seed=seed,
                                           fit_sample=fit_sample, kind=kind, persons=persons))
    summary = Table(f"Search summary: smallest nprobe whose mean recall of the exact top-{top} is >= {target_recall}",
                    ["faces", "K", "exact ms", "nprobe", "recall", "comparisons", "fewer comparisons", "cluster ms",
                     "build s (PCA + K-means + assign)"])
    for r in results:
        n = r["n"]
        b = r["build"]
        t = Table(f"{r['label']} faces, K={r['k']} ({b['kmeans']}; cluster sizes {r['cluster_size_min']}.."
                  f"{r['cluster_size_max']}, median {r['cluster_size_median']:.0f}), {r['queries']:,} queries",
                  ["search", "recall@" + str(r["top"]), "min recall", "comparisons", "fewer than exact", "median ms"])
        t.rows.append(["exact", "1.000", "1.000", _int(n), "1.0x", _ms(r["exact_latency_ms"] / 1000)])
        for row in r["nprobe"]:
            t.rows.append([f"nprobe={row['nprobe']}", f"{row['recall']:.3f}", f"{row['recall_min']:.2f}",
                           _int(row["comparisons"]), f"{row['fewer_comparisons']:.1f}x",
                           _ms(row["latency_ms"] / 1000)])
        build_s = b["pca_fit_s"] + b["project_s"] + b["kmeans_fit_s"] + b["assign_s"] + b["index_s"]
        t.note = (f"Build: PCA fit {b['pca_fit_s']:.2f} s, projection {b['project_s']:.2f} s, K-means "
                  f"{b['kmeans_fit_s']:.2f} s, assignment {b['assign_s']:.2f} s, index {b['index_s']:.2f} s.")
        rep.tables.append(t)
        ok = [row for row in r["nprobe"] if row["recall"] >= target_recall]
        head = [r["label"], str(r["k"]), _ms(r["exact_latency_ms"] / 1000)]
        if ok:
            best = ok[0]
            summary.rows.append(head + [str(best["nprobe"]), f"{best['recall']:.3f}", _int(best["comparisons"]),
                                        f"{best['fewer_comparisons']:.1f}x", _ms(best["latency_ms"] / 1000),
                                        _s(build_s)])
        else:
            summary.rows.append(head + ["none reached", "-", "-", "-", "-", _s(build_s)])
    summary.note = (f"Synthetic around real: a random real encoding + Gaussian noise with the within-person spread "
                    f"per dimension (norm of the std vector {float(np.linalg.norm(std)):.3f}); queries are fresh "
                    f"draws. Synthetic identities: N/16 new people drawn from a Gaussian fitted to the real persons' "
                    f"means, 16 faces each with the same within-person noise; queries are new faces of those "
                    f"people. Real: every real face as a query, left out of its own results. Latencies: one "
                    f"thread, median. Load average before: {load_before}, after: {_load()}.")
    rep.tables.insert(0, summary)
    rep.data = {"sizes": list(sizes), "results": results, "target_recall": target_recall,
                "noise_std_norm": float(np.linalg.norm(std))}
    return rep


def plot_search(rep: Report, out: Path) -> list[str]:
    """recall vs nprobe (with comparisons), and latency vs N."""
    plt = _pyplot()
    results = rep.data["results"]
    n_lines = len(results)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.4 + 0.22 * ((n_lines + 2) // 3)))
    for r in results:
        p = [row["nprobe"] for row in r["nprobe"]]
        if r.get("kind") == "real":
            style = dict(marker="s", ls="--", color="black")
        else:
            ns = sorted({q["n"] for q in results if q.get("kind") != "real"})
            color = plt.cm.viridis(0.85 * ns.index(r["n"]) / max(1, len(ns) - 1))
            style = dict(marker="^", ls=":", color=color) if r.get("kind") == "identities" else dict(
                marker="o", color=color)
        a1.plot(p, [row["recall"] for row in r["nprobe"]], label=f"{r['label']} (K={r['k']})", **style)
        a2.plot(p, [row["fewer_comparisons"] for row in r["nprobe"]], label=r["label"], **style)
    a1.axhline(rep.data["target_recall"], color="grey", ls="--", lw=1)
    a1.set(xscale="log", xlabel="nprobe (clusters scanned)", ylabel="recall of exact top-10", ylim=(0, 1.02),
           title="Recall vs nprobe")
    a1.set_xscale("log", base=2)
    a2.axhline(20, color="grey", ls="--", lw=1)
    a2.set_xscale("log", base=2)
    a2.set(yscale="log", xlabel="nprobe", ylabel="exact comparisons / cluster comparisons",
           title="Comparisons saved vs nprobe (target 20x at 1e6)")
    rows = (n_lines + 2) // 3
    fig.legend(*a1.get_legend_handles_labels(), loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.055 * rows + 0.02, 1, 1))
    p1 = out / "search_recall_vs_nprobe.png"
    fig.savefig(p1, dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4.5))
    target = rep.data["target_recall"]
    colors = {"around-real": "#1f77b4", "identities": "#2ca02c"}
    first = True
    for kind in colors:
        rs = [r for r in results if r.get("kind") == kind]
        if not rs:
            continue
        ns = [r["n"] for r in rs]
        if first:  # exact search costs the same whatever the data
            ax.plot(ns, [r["exact_latency_ms"] for r in rs], marker="o", color="black", label="exact (all faces)")
            first = False
        pts = []
        for r in rs:
            ok = [row for row in r["nprobe"] if row["recall"] >= target]
            if ok:
                pts.append((r["n"], ok[0]["latency_ms"], ok[0]["nprobe"]))
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", color=colors[kind],
                    label=f"nearest-centroid at recall >= {target} ({kind})")
            for n, ms, p in pts:
                ax.annotate(f"nprobe={p}", (n, ms), textcoords="offset points", xytext=(4, -12), fontsize=7,
                            color=colors[kind])
    ax.set(xscale="log", yscale="log", xlabel="faces (N)", ylabel="median query latency (ms)",
           title="Query latency vs N (float32, one query at a time)")
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    p2 = out / "search_latency_vs_n.png"
    fig.savefig(p2, dpi=110)
    plt.close(fig)
    return [str(p1), str(p2)]


# --------------------------------------------------------------------------- memory


def cache_bytes_per_face(path: str | os.PathLike[str]) -> dict:
    """Size of the SQLite cache per face: file bytes, and the encoding and thumbnail blobs inside it."""
    import sqlite3

    store = EncodingStore(path)
    st = store.stats()
    con = sqlite3.connect(store.path)
    try:
        enc, thumb = con.execute("SELECT SUM(LENGTH(encoding)), SUM(LENGTH(thumb)) FROM faces").fetchone()
    finally:
        con.close()
    faces = max(1, st["faces"])
    return {"faces": st["faces"], "images": st["images"], "file_bytes": st["bytes"],
            "file_per_face": st["bytes"] / faces, "encoding_per_face": (enc or 0) / faces,
            "thumb_per_face": (thumb or 0) / faces}


def _run_probe(args: list[str]) -> dict:
    """Run ``python -m facecore.bench _probe ...`` in a fresh process; return its JSON."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    proc = subprocess.run([sys.executable, "-m", "facecore.bench", "_probe", *args], capture_output=True, text=True,
                          env=env, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"memory probe {args[0]} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _probe(argv: list[str]) -> int:
    """The measured side of the memory benchmark: one job in a fresh process, peak RSS as JSON on stdout."""
    p = argparse.ArgumentParser(prog="facecore.bench _probe")
    p.add_argument("job", choices=["encode", "search"])
    p.add_argument("--dataset")
    p.add_argument("--photos", type=int)
    p.add_argument("--real")
    p.add_argument("--n", type=int)
    p.add_argument("--queries", type=int, default=20)
    a = p.parse_args(argv)
    if a.job == "encode":
        refs = sample_refs(a.dataset, a.photos)
        base = _hwm_mib()
        with tempfile.TemporaryDirectory(prefix="facecore-bench-") as tmp:
            t = time.perf_counter()
            fs = encode_images(refs, EncoderSettings(), EncodingStore(Path(tmp) / "c.sqlite"))
            dt = time.perf_counter() - t
        workers = [_hwm_mib(pid) for pid in worker_pids()]
        shutdown_pools()
        out = {"photos": len(refs), "faces": len(fs), "seconds": dt, "rss_start_mib": base,
               "peak_parent_mib": _hwm_mib(), "peak_worker_mib": max(workers, default=0.0)}
    else:
        loaded = np.load(a.real)
        real, pid = loaded["encodings"], loaded["persons"]
        std = within_person_std(real, [int(v) if v >= 0 else None for v in pid])
        base = _hwm_mib()
        x = synthetic_faces(real, std, a.n)
        built = build_search_index(x, auto_k(a.n))
        after_build = _hwm_mib()
        qs = synthetic_faces(real, std, a.queries, 7)
        zq = project(built.pca, qs, S.DEFAULT_DIMS)
        for i, q in enumerate(qs):
            exact_search(built.x, q, top=10, sq_norms=built.sq)
            cluster_search(built.index, zq[i], built.x, q, nprobe=min(16, built.index.k), top=10)
        idx = built.index
        out = {"n": a.n, "k": idx.k, "rss_start_mib": base, "peak_after_build_mib": after_build,
               "peak_mib": _hwm_mib(), "faces_mib": x.nbytes / 2**20,
               "index_mib": (idx.labels.nbytes + idx.order.nbytes + idx.offsets.nbytes + idx.centroids.nbytes
                             + built.sq.nbytes) / 2**20,
               "reduced_mib": a.n * S.DEFAULT_DIMS * 4 / 2**20}
    print(json.dumps(out))
    return 0


def bench_memory(
    real: np.ndarray, persons: Sequence[str | None], *, cache: str | os.PathLike[str] | None = None,
    dataset: str | os.PathLike[str] | None = None, encode_photos: int | None = None, search_n: int = 1_000_000,
) -> Report:
    """Bytes per face in each representation, cache file size per face, peak RSS of encoding and of search.

    ``encode_photos=0`` skips the encoding probe; ``None`` encodes every photo of ``dataset``.
    Peaks are measured in fresh processes (``ru_maxrss``), so earlier work in this process does not count.
    """
    rep = Report("memory")
    dims = S.DEFAULT_DIMS
    per_face = Table("Bytes per face", ["representation", "bytes per face", "1e6 faces"])
    reps = [("float64 128-d (face_recognition's output)", 128 * 8), ("float32 128-d (what facecore keeps)", 128 * 4),
            (f"PCA-{dims} float32", dims * 4)]
    for label, b in reps:
        per_face.rows.append([label, _int(b), f"{b * 1e6 / 2**20:,.0f} MiB"])
    per_face.rows.append(["cluster index (label + order int64)", "16", f"{16e6 / 2**20:,.0f} MiB"])
    rep.data["bytes_per_face"] = dict(float64=1024, float32=512, pca_float32=dims * 4, index=16)
    if cache is not None and Path(cache).exists():
        c = cache_bytes_per_face(cache)
        per_face.rows.append([f"SQLite cache file ({c['faces']:,} faces, {c['images']:,} images, thumbnails incl.)",
                              _int(c["file_per_face"]), f"{c['file_per_face'] * 1e6 / 2**20:,.0f} MiB"])
        per_face.rows.append(["  of which the encoding blob", _int(c["encoding_per_face"]), ""])
        per_face.rows.append([f"  of which the {S.THUMB_SIDE} px JPEG thumbnail", _int(c["thumb_per_face"]), ""])
        rep.data["cache"] = c
    rep.tables.append(per_face)

    peaks = Table("Peak memory (resident set, fresh process per job)", ["job", "start MiB", "peak MiB", "details"])
    if dataset is not None and encode_photos != 0:
        e = _run_probe(["encode", "--dataset", str(dataset)] + (["--photos", str(encode_photos)] if encode_photos
                                                                 else []))
        peaks.rows.append([f"encode {e['photos']:,} photos (parent process)", f"{e['rss_start_mib']:.0f}",
                           f"{e['peak_parent_mib']:.0f}", f"{e['faces']:,} faces in {e['seconds']:.0f} s"])
        peaks.rows.append(["  largest worker process", "-", f"{e['peak_worker_mib']:.0f}", "models + one chunk"])
        rep.data["encode_probe"] = e
    if search_n:
        names = {p: i for i, p in enumerate(sorted({p for p in persons if p is not None}))}
        pid = np.array([names[p] if p is not None else -1 for p in persons])
        with tempfile.TemporaryDirectory(prefix="facecore-bench-") as tmp:
            real_path = Path(tmp) / "real.npz"
            np.savez(real_path, encodings=np.asarray(real, np.float32), persons=pid)
            s = _run_probe(["search", "--real", str(real_path), "--n", str(search_n)])
        peaks.rows.append([f"search over {search_n:,} faces (build + 20 queries)", f"{s['rss_start_mib']:.0f}",
                           f"{s['peak_mib']:.0f}",
                           f"faces {s['faces_mib']:.0f} MiB float32, index {s['index_mib']:.0f} MiB, "
                           f"PCA-{dims} {s['reduced_mib']:.0f} MiB, K={s['k']}"])
        rep.data["search_probe"] = s
    if peaks.rows:
        peaks.note = ("start = peak RSS after imports and input loading; peak = VmHWM of the probe process, and of "
                      "each encoding worker read before the pool stops.")
        rep.tables.append(peaks)
    return rep


# --------------------------------------------------------------------------- CLI


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _replot(out: Path, also: Sequence[str]) -> list[Report]:
    """Redraw the PNGs from the JSON results saved in ``out`` (adding the encode runs of ``also`` files)."""
    drawn = []
    for name in ("encode", "search"):
        path = out / f"{name}.json"
        if not path.exists():
            continue
        saved = json.loads(path.read_text())
        rep = Report(name, data=saved["data"])
        if name == "encode":
            extra, extra_workers = [], None
            for other_path in also:
                other = json.loads(Path(other_path).read_text())
                extra += [r for r in other["data"]["runs"] if "article" not in r["label"] and "cold" not in r["label"]]
                extra_workers = other["data"]["workers"]
            drawn += _plot_safely(lambda rep=rep, e=extra, w=extra_workers: [plot_encode(rep, out, e, w)])
        else:
            drawn += _plot_safely(lambda rep=rep: plot_search(rep, out))
    for p in drawn:
        print(f"plot: {p}")
    return []


def _plot_safely(draw: Callable[[], list[str]]) -> list[str]:
    """Run a plotting function; without matplotlib, say so on stderr and keep the numbers."""
    try:
        return draw()
    except ImportError as exc:
        print(f"note: no plot ({exc}); install matplotlib (requirements-dev.txt) for PNGs", file=sys.stderr)
        return []


def _emit(rep: Report, args: argparse.Namespace) -> None:
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{rep.name}.json").write_text(json.dumps(rep.as_dict(), indent=2, default=str))
    if args.json:
        return
    print(f"\n## bench {rep.name}\n")
    for t in rep.tables:
        print(t.markdown())
        print()
    for p in rep.plots:
        print(f"plot: {p}")


def _real(args: argparse.Namespace) -> FaceSet:
    t = time.perf_counter()
    fs = real_faceset(args.dataset, args.cache)
    if not args.json:
        print(f"real encodings: {len(fs):,} faces of {fs.images:,} images from {args.dataset} "
              f"({fs.cached:,} from {args.cache}, {fs.encoded:,} encoded, {time.perf_counter() - t:.1f} s)",
              file=sys.stderr)
    if len(fs) < 10:
        raise NotEnoughFacesError(f"only {len(fs)} faces in {args.dataset}: the benchmarks need a real face set.")
    return fs


class _Reports(list):
    """A list of reports that shows each one as soon as it is added (long runs print as they go)."""

    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__()
        self.args = args

    def append(self, rep: Report) -> None:  # type: ignore[override]
        super().append(rep)
        _emit(rep, self.args)


def run(command: str, args: argparse.Namespace) -> list[Report]:
    """Run one benchmark (or all of them) with parsed ``args``; show and return the reports."""
    out = Path(args.out) if args.out else None
    if out:
        out.mkdir(parents=True, exist_ok=True)
    quick = args.quick
    reports: list[Report] = _Reports(args)
    if command == "plot":
        if not out:
            raise ValueError("bench plot needs --out, the folder holding encode.json / search.json")
        return _replot(out, args.also or ())
    if command in ("encode", "all"):
        n = None if args.all else (args.photos or (40 if quick else 300))
        refs = sample_refs(args.dataset, n, args.seed)
        rep = bench_encode(refs, workers=args.workers, stage_sample=args.stage_sample or (10 if quick else 60),
                           alt_max_side=None if quick else 400, seed=args.seed)
        rep.data["machine"] = machine_info()
        if args.label:
            for r in rep.data["runs"]:
                r["label"] = f"{args.label}: {r['label']}"
        extra, extra_workers = [], None
        for path in args.also or ():
            other = json.loads(Path(path).read_text())
            extra += [r for r in other["data"]["runs"] if "article" not in r["label"] and "cold" not in r["label"]]
            extra_workers = other["data"]["workers"]
        if out:
            rep.plots += _plot_safely(lambda: [plot_encode(rep, out, extra, extra_workers)])
        reports.append(rep)
    if command in ("cache", "all"):
        n = None if args.all else (args.photos or (40 if quick else 300))
        reports.append(bench_cache(sample_refs(args.dataset, n, args.seed), workers=args.workers,
                                   full_dataset=args.dataset,
                                   full_cache=args.cache if Path(args.cache).exists() else None))
    if command in ("interactive", "search", "memory", "all"):
        fs = _real(args)
        persons = fs.persons
        if command in ("interactive", "all"):
            reports.append(bench_interactive(fs.encodings, persons, synthetic_n=20_000 if quick else 100_000,
                                             repeats=3 if quick else 5, seed=args.seed))
        if command in ("search", "all"):
            sizes = args.sizes or (QUICK_SEARCH_SIZES if quick else SEARCH_SIZES)
            rep = bench_search(fs.encodings, persons, sizes, queries=args.queries or (30 if quick else 100),
                               k=args.k, nprobes=args.nprobes, seed=args.seed, kinds=args.synthetic)
            if out:
                rep.plots += _plot_safely(lambda: plot_search(rep, out))
            reports.append(rep)
        if command in ("memory", "all"):
            reports.append(bench_memory(fs.encodings, persons, cache=args.cache, dataset=args.dataset,
                                        encode_photos=100 if quick else None,
                                        search_n=100_000 if quick else 1_000_000))
    return reports


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m facecore bench", description=__doc__.splitlines()[0])
    p.add_argument("command", choices=["encode", "cache", "interactive", "search", "memory", "all", "plot"],
                   help="a benchmark, all of them, or plot: redraw the PNGs from the JSON saved in --out")
    p.add_argument("--dataset", default=str(S.default_dataset_path()), help="folder of photos (default: shared CelebA)")
    p.add_argument("--cache", default=str(DEFAULT_BENCH_CACHE),
                   help="encoding cache for the real set, outside the repo (default /tmp/bench-cache.sqlite)")
    p.add_argument("--out", help="folder for PNG plots and <name>.json results")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    p.add_argument("--quick", action="store_true", help="small sizes (a smoke run of a minute or two)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--photos", type=int, help="encode/cache: size of the random sample (default 300)")
    p.add_argument("--all", action="store_true", help="encode/cache: every photo instead of a sample")
    p.add_argument("--stage-sample", type=int, help="encode: photos timed stage by stage (default 60)")
    p.add_argument("--workers", type=int, help="encoding processes (default: all CPUs)")
    p.add_argument("--label", help="encode: prefix for run labels (e.g. 'accelerated dlib')")
    p.add_argument("--also", action="append",
                   help="encode/plot: add the warm runs of another encode.json (e.g. another dlib build) to the plot")
    p.add_argument("--sizes", type=lambda s: [int(float(v)) for v in s.split(",")],
                   help="search: comma-separated N (default 1e3,1e4,1e5,1e6)")
    p.add_argument("--queries", type=int, help="search: queries per size (default 100)")
    p.add_argument("--k", type=int, help="search: pin K instead of auto_k(N) ~ sqrt(N)")
    p.add_argument("--nprobes", type=lambda s: [int(v) for v in s.split(",")], help="search: nprobe values")
    p.add_argument("--synthetic", type=lambda s: s.split(","), default=list(SYNTHETIC_KINDS),
                   help="search: synthetic kinds, comma-separated (default around-real,identities)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m facecore bench ...``; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["_probe"]:
        return _probe(argv[1:])
    args = build_parser().parse_args(argv)
    for name in ("photos", "stage_sample", "workers", "queries", "k"):
        value = getattr(args, name)
        if value is not None and value < 1:
            print(f"error: --{name.replace('_', '-')} must be >= 1, got {value}", file=sys.stderr)
            return 2
    started = time.perf_counter()
    if not args.json:
        m = machine_info()
        print(f"machine: {m['cpu']}, {m['usable_cores']} usable cores, {m['ram_gib']} GiB RAM, "
              f"load {m['load_avg']}; " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()))
    try:
        reports = run(args.command, args)
    except (NotEnoughFacesError, ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        shutdown_pools()
    if args.json:
        print(json.dumps({"machine": machine_info(), "reports": [r.as_dict() for r in reports]}, indent=2,
                         default=str))
    else:
        print(f"total {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
