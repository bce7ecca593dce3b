"""Memory: bytes per face in each representation, the cache file per face, peak RSS of encoding and of search.

Peaks are measured in fresh processes (``python -m bench _probe ...``), read as
VmHWM, so nothing this benchmark process did before counts.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from facecore import (
    EncoderSettings,
    EncodingStore,
    auto_k,
    cluster_search,
    encode_images,
    exact_search,
    project,
    shutdown_pools,
    worker_pids,
)
from facecore import settings as S

from .machine import hwm_mib
from .photos import sample_refs
from .report import Report, Table, count
from .search import build_search_index
from .synthetic import synthetic_faces, within_person_std

PROJECT = Path(__file__).resolve().parent.parent


def cache_bytes_per_face(path: str | os.PathLike[str]) -> dict:
    """Size of the SQLite cache per stored face row: file bytes, and the encoding and thumbnail blobs inside it."""
    store = EncodingStore(path)
    st = store.stats()
    with store.connect() as con:
        rows, enc, thumb = con.execute(
            "SELECT COUNT(*), SUM(LENGTH(encoding)), SUM(LENGTH(thumb)) FROM faces").fetchone()  # fmt: skip
    faces = max(1, rows)
    return {"faces": rows, "images": st["images"], "file_bytes": st["bytes"],
            "file_per_face": st["bytes"] / faces, "encoding_per_face": (enc or 0) / faces,
            "thumb_per_face": (thumb or 0) / faces}


def run_probe(args: list[str]) -> dict:
    """Run ``python -m bench _probe ...`` in a fresh process; return its JSON."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(PROJECT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    proc = subprocess.run([sys.executable, "-m", "bench", "_probe", *args], capture_output=True, text=True,
                          env=env, cwd=PROJECT, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"memory probe {args[0]} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _probe_encode(dataset: str, photos: int | None) -> dict:
    refs = sample_refs(dataset, photos)
    base = hwm_mib()
    with tempfile.TemporaryDirectory(prefix="facecore-bench-") as tmp:
        t = time.perf_counter()
        fs = encode_images(refs, EncoderSettings(), EncodingStore(Path(tmp) / "c.sqlite"))
        dt = time.perf_counter() - t
    workers = [hwm_mib(pid) for pid in worker_pids()]
    shutdown_pools()
    return {"photos": len(refs), "faces": len(fs), "seconds": dt, "rss_start_mib": base,
            "peak_parent_mib": hwm_mib(), "peak_worker_mib": max(workers, default=0.0)}


def _probe_search(real_path: str, n: int, queries: int) -> dict:
    loaded = np.load(real_path)
    real, pid = loaded["encodings"], loaded["persons"]
    std = within_person_std(real, [int(v) if v >= 0 else None for v in pid])
    base = hwm_mib()
    x = synthetic_faces(real, std, n)
    built = build_search_index(x, auto_k(n))
    after_build = hwm_mib()
    qs = synthetic_faces(real, std, queries, 7)
    zq = project(built.pca, qs, S.DEFAULT_DIMS)
    for i, q in enumerate(qs):
        exact_search(built.x, q, top=10, sq_norms=built.sq)
        cluster_search(built.index, zq[i], built.x, q, nprobe=min(16, built.index.k), top=10)
    idx = built.index
    index_bytes = idx.labels.nbytes + idx.order.nbytes + idx.offsets.nbytes + idx.centroids.nbytes + built.sq.nbytes
    return {"n": n, "k": idx.k, "rss_start_mib": base, "peak_after_build_mib": after_build, "peak_mib": hwm_mib(),
            "faces_mib": x.nbytes / 2**20, "index_mib": index_bytes / 2**20,
            "reduced_mib": n * S.DEFAULT_DIMS * 4 / 2**20}


def probe_main(argv: Sequence[str]) -> int:
    """The measured side of the memory benchmark: one job in this fresh process, peak RSS as JSON on stdout."""
    p = argparse.ArgumentParser(prog="python -m bench _probe")
    p.add_argument("job", choices=["encode", "search"])
    p.add_argument("--dataset")
    p.add_argument("--photos", type=int)
    p.add_argument("--real")
    p.add_argument("--n", type=int)
    p.add_argument("--queries", type=int, default=20)
    a = p.parse_args(list(argv))
    out = _probe_encode(a.dataset, a.photos) if a.job == "encode" else _probe_search(a.real, a.n, a.queries)
    print(json.dumps(out))
    return 0


def _bytes_table(cache: str | os.PathLike[str] | None, data: dict) -> Table:
    dims = S.DEFAULT_DIMS
    table = Table("Bytes per face", ["representation", "bytes per face", "1e6 faces"])
    for label, b in [("float64 128-d (face_recognition's output)", 128 * 8),
                     ("float32 128-d (what facecore keeps)", 128 * 4), (f"PCA-{dims} float32", dims * 4)]:
        table.rows.append([label, count(b), f"{b * 1e6 / 2**20:,.0f} MiB"])
    table.rows.append(["cluster index (label + order int64)", "16", f"{16e6 / 2**20:,.0f} MiB"])
    data["bytes_per_face"] = dict(float64=1024, float32=512, pca_float32=dims * 4, index=16)
    if cache is not None and Path(cache).exists():
        c = cache_bytes_per_face(cache)
        table.rows.append([f"SQLite cache file ({c['faces']:,} faces, {c['images']:,} images, thumbnails incl.)",
                           count(c["file_per_face"]), f"{c['file_per_face'] * 1e6 / 2**20:,.0f} MiB"])
        table.rows.append(["  of which the encoding blob", count(c["encoding_per_face"]), ""])
        table.rows.append([f"  of which the {S.THUMB_SIDE} px JPEG thumbnail", count(c["thumb_per_face"]), ""])
        data["cache"] = c
    return table


def _search_peak(real: np.ndarray, persons: Sequence[str | None], n: int) -> tuple[list[str], dict]:
    names = {p: i for i, p in enumerate(sorted({p for p in persons if p is not None}))}
    pid = np.array([names[p] if p is not None else -1 for p in persons])
    with tempfile.TemporaryDirectory(prefix="facecore-bench-") as tmp:
        real_path = Path(tmp) / "real.npz"
        np.savez(real_path, encodings=np.asarray(real, np.float32), persons=pid)
        s = run_probe(["search", "--real", str(real_path), "--n", str(n)])
    row = [f"search over {n:,} faces (build + 20 queries)", f"{s['rss_start_mib']:.0f}", f"{s['peak_mib']:.0f}",
           f"faces {s['faces_mib']:.0f} MiB float32, index {s['index_mib']:.0f} MiB, "
           f"PCA-{S.DEFAULT_DIMS} {s['reduced_mib']:.0f} MiB, K={s['k']}"]
    return row, s


def bench_memory(
    real: np.ndarray, persons: Sequence[str | None], *, cache: str | os.PathLike[str] | None = None,
    dataset: str | os.PathLike[str] | None = None, encode_photos: int | None = None, search_n: int = 1_000_000,
) -> Report:
    """Bytes per face in each representation, cache file size per face, peak RSS of encoding and of search.

    ``encode_photos=0`` skips the encoding probe; ``None`` encodes every photo of ``dataset``.
    """
    rep = Report("memory")
    rep.tables.append(_bytes_table(cache, rep.data))
    peaks = Table("Peak memory (resident set, fresh process per job)", ["job", "start MiB", "peak MiB", "details"])
    if dataset is not None and encode_photos != 0:
        e = run_probe(["encode", "--dataset", str(dataset)] + (["--photos", str(encode_photos)] if encode_photos
                                                               else []))
        peaks.rows.append([f"encode {e['photos']:,} photos (parent process)", f"{e['rss_start_mib']:.0f}",
                           f"{e['peak_parent_mib']:.0f}", f"{e['faces']:,} faces in {e['seconds']:.0f} s"])
        peaks.rows.append(["  largest worker process", "-", f"{e['peak_worker_mib']:.0f}", "models + one chunk"])
        rep.data["encode_probe"] = e
    if search_n:
        row, rep.data["search_probe"] = _search_peak(real, persons, search_n)
        peaks.rows.append(row)
    if peaks.rows:
        peaks.note = ("start = peak RSS after imports and input loading; peak = VmHWM of the probe process, and of "
                      "each encoding worker read before the pool stops.")
        rep.tables.append(peaks)
    return rep
