"""The similarity map's time, peak memory and quality at 2,444 / 20,000 / 100,000 faces, against the PCA axes.

Each (method, size, dims) runs in a fresh process (``python -m bench.map _probe``),
so its peak resident set (VmHWM) is its own: the peak is read right after the
layout, before the quality metrics (which need memory of their own). Sizes above
the shared set are synthetic faces around the real ones (:mod:`bench.synthetic`:
a real encoding plus noise with the within-person spread); their "person" is the
real face's. Quality is measured on 2,000 sampled faces at every size.

On the real set, the people are also split in two halves (a fixed shuffle of
the folders): parameters were chosen looking at half A; half B is held out.

Synthetic faces are noisy copies of a real face (~43 copies each at 10^5), so
a copy's 10 nearest in 128-d are mostly its fellow copies in random order: no
flat layout can keep them, and "neighbours kept" falls for every method there
(same-person neighbours stay meaningful)::

  .venv/bin/python -m bench.map --dataset ../shared/datasets/celeba-wild --out docs/bench/map.txt
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from facecore import neighbours_kept, same_person_neighbours, similarity_map
from facecore.settings import default_cache_path, default_dataset_path

from .machine import hwm_mib, machine_info
from .report import load_avg

PROJECT = Path(__file__).resolve().parent.parent
SIZES = ("real", "20000", "100000")


def _faces(dataset: str, cache: str, size: str, seed: int = 0) -> tuple[np.ndarray, list[str | None]]:
    """``(encodings (n, 128) float32, persons)`` of the real set, one half of its people, or n synthetic faces."""
    from .photos import real_faceset
    from .synthetic import within_person_std

    fs = real_faceset(dataset, cache)
    x, persons = fs.encodings, fs.persons
    if size in ("A", "B"):
        names = sorted({p for p in persons if p is not None})
        order = np.random.default_rng(1).permutation(len(names))
        half = {names[i] for j, i in enumerate(order) if (j % 2 == 0) == (size == "A")}
        keep = np.array([p in half for p in persons])
        return x[keep], [p for p in persons if p in half]
    if size == "real":
        return x, persons
    n = int(size)
    rng = np.random.default_rng(seed)
    src = rng.integers(0, len(x), n)
    out = x[src] + rng.standard_normal((n, x.shape[1]), dtype=np.float32) * within_person_std(x, persons)
    return out, [persons[i] for i in src]


def probe(dataset: str, cache: str, size: str, method: str, dims: int) -> dict:
    """One layout in this process: seconds (wall and CPU), peak RSS before/after, quality vs the PCA axes."""
    x, persons = _faces(dataset, cache, size)
    before = hwm_mib()
    wall, cpu = time.perf_counter(), time.process_time()
    y = similarity_map(x, dims=dims, method=method)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = hwm_mib()
    pca = similarity_map(x, dims=dims, method="pca")
    return {
        "size": size, "n": len(x), "method": method, "dims": dims, "seconds": round(wall, 1), "cpu_s": round(cpu, 1),
        "rss_before_mib": round(before), "peak_rss_mib": round(peak),
        "kept10": round(neighbours_kept(x, y, 10, sample=2000), 3),
        "pca_kept10": round(neighbours_kept(x, pca, 10, sample=2000), 3),
        "same5": round(same_person_neighbours(y, persons, 5, sample=2000), 3),
        "pca_same5": round(same_person_neighbours(pca, persons, 5, sample=2000), 3),
        "load": load_avg(),
    }  # fmt: skip


def _run_probe(args: argparse.Namespace, size: str, method: str, dims: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(PROJECT))
    cmd = [sys.executable, "-m", "bench.map", "_probe", "--dataset", args.dataset, "--cache", args.cache,
           "--size", size, "--method", method, "--dims", str(dims)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=PROJECT, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"probe {size} {method} {dims}-D failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _line(r: dict) -> str:
    ratio = r["kept10"] / r["pca_kept10"] if r["pca_kept10"] else float("nan")
    return (f"| {r['size']:>6} | {r['n']:>7,} | {r['method']:>4} {r['dims']}-D | {r['seconds']:>7.1f} "
            f"| {r['cpu_s']:>7.1f} | {r['peak_rss_mib']:>6} (+{r['peak_rss_mib'] - r['rss_before_mib']}) "
            f"| {r['kept10']:.3f} | "
            f"{r['pca_kept10']:.3f} | {ratio:4.1f}x | {r['same5']:.3f} | {r['pca_same5']:.3f} | {r['load']} |")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.map", description=__doc__.splitlines()[0])
    p.add_argument("mode", nargs="?", default="run", choices=["run", "_probe"])
    p.add_argument("--dataset", default=str(default_dataset_path()))
    p.add_argument("--cache", default=str(default_cache_path()))
    p.add_argument("--size", default="real")
    p.add_argument("--method", default="tsne")
    p.add_argument("--dims", type=int, default=2)
    p.add_argument("--runs", nargs="*", default=["A:tsne:2", "B:tsne:2", "real:tsne:2", "real:tsne:3",
                                                 "20000:tsne:2", "20000:tsne:3", "100000:tsne:2", "100000:pca:2"],
                   help="SIZE:METHOD:DIMS, SIZE one of A, B (halves of the people), real, or a number of faces")
    p.add_argument("--out", default=None, help="also write the table to this file")
    args = p.parse_args(argv)
    if args.mode == "_probe":
        print(json.dumps(probe(args.dataset, args.cache, args.size, args.method, args.dims)))
        return 0
    info = machine_info()
    lines = [f"# bench.map on {info['cpu']}, {info['usable_cores']} cores; load at start {info['load_avg']}",
             "| set | faces | method | wall s | CPU s | peak RSS MiB (+layout) | kept 10 | PCA kept | ratio "
             "| same 5 | PCA same | load |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    print("\n".join(lines), flush=True)
    for run in args.runs:
        size, method, dims = run.split(":")
        lines.append(_line(_run_probe(args, size, method, int(dims))))
        print(lines[-1], flush=True)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
