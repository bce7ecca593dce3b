"""Re-opening an encoded folder from the cache against encoding it: ``encode_images`` twice on the same photos."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from facecore import EncoderSettings, EncodingStore, ImageRef, encode_images, open_dataset, worker_pids

from .report import Report, Table, load_avg, ms, secs


def _full_folder_row(dataset: str | os.PathLike[str], cache: str | os.PathLike[str], workers: int | None,
                     per_photo: float) -> tuple[list[str], dict]:
    """List a whole folder and re-open every photo through a cache that already holds it."""
    t = time.perf_counter()
    refs, skipped = open_dataset(dataset)
    fs = encode_images(refs, EncoderSettings(), EncodingStore(cache), workers=workers, skipped=skipped)
    dt = time.perf_counter() - t
    n = len(refs)
    row = [f"list the whole folder + re-open all {n:,} photos ({fs.encoded} had to be encoded)",
           secs(dt), ms(dt / n), f"{per_photo / (dt / n):,.0f}x per photo"]
    return row, {"photos": n, "seconds": dt, "encoded": fs.encoded, "speedup_per_photo": per_photo / (dt / n)}


def bench_cache(
    refs: Sequence[ImageRef], *, workers: int | None = None, reopen_repeats: int = 5,
    full_dataset: str | os.PathLike[str] | None = None, full_cache: str | os.PathLike[str] | None = None,
) -> Report:
    """Encoding photos into a fresh cache vs re-opening them (hash + cache lookup) through ``encode_images``.

    With ``full_dataset`` and ``full_cache`` (a cache that already holds that folder), also times listing
    the whole folder and re-opening every photo of it.
    """
    load_before = load_avg()
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
        [f"encode into a fresh cache ({pool_state})", secs(t_encode), ms(per_photo), "1x"],
        ["re-open, first time (read + sha256 + lookup)", secs(t_first), ms(t_first / len(refs)),
         f"{t_encode / t_first:,.0f}x"],
        [f"re-open, median of {reopen_repeats}", secs(t_med), ms(t_med / len(refs)), f"{t_encode / t_med:,.0f}x"],
    ]
    data = {"photos": len(refs), "encode_s": t_encode, "reopen_s": reopen, "identical": same,
            "speedup_first": t_encode / t_first, "speedup_median": t_encode / t_med, "pool": pool_state}
    if full_dataset is not None and full_cache is not None:
        row, data["full_folder"] = _full_folder_row(full_dataset, full_cache, workers, per_photo)
        table.rows.append(row)
    table.note = (f"Re-opened results identical to the first encoding: {same}. Photo files were in the OS page cache "
                  f"(just read by the encode). Load average before: {load_before}, after: {load_avg()}.")
    return Report("cache", tables=[table], data=data)
