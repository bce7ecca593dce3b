"""The candidates the similarity map was chosen from, each in a fresh process: time, CPU, peak RSS, quality.

``pca`` (the article's axes), ``sktsne`` (scikit-learn TSNE, PCA init, Barnes-Hut,
n_jobs=2), ``otsne30`` (openTSNE's defaults: perplexity 30, 250 + 500 iterations,
n_jobs=2), ``tsne`` (facecore's choice: openTSNE, perplexity 15, 125 + 250
iterations, one thread) and ``umap`` (umap-learn defaults: 15 neighbours,
min_dist 0.1; not a facecore dependency: ``pip install umap-learn==0.5.12``).
Sets as in :mod:`bench.map` (A/B: halves of the shared people; numbers: synthetic
faces)::

  .venv/bin/python -m bench.map_candidates umap:real sktsne:A otsne30:20000 tsne:100000
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np

from facecore import neighbours_kept, same_person_neighbours, similarity_map
from facecore.layout import pca_axes
from facecore.settings import default_cache_path, default_dataset_path

from .machine import hwm_mib
from .map import PROJECT, _faces
from .report import load_avg


def _layout(method: str, x: np.ndarray) -> np.ndarray:
    if method == "pca":
        return pca_axes(x)
    if method == "tsne":
        return similarity_map(x)
    if method == "sktsne":
        from sklearn.manifold import TSNE

        return TSNE(2, init="pca", learning_rate="auto", random_state=0, n_jobs=2).fit_transform(x)
    if method == "otsne30":
        from openTSNE import TSNE

        return np.asarray(TSNE(n_jobs=2, random_state=0).fit(x))
    if method == "umap":
        import umap

        return umap.UMAP(random_state=0).fit_transform(x)
    raise SystemExit(f"unknown method {method!r}")


def probe(method: str, size: str) -> dict:
    x, persons = _faces(str(default_dataset_path()), str(default_cache_path()), size)
    before = hwm_mib()
    wall, cpu = time.perf_counter(), time.process_time()
    y = _layout(method, x)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"method": method, "size": size, "n": len(x), "seconds": round(wall, 1), "cpu_s": round(cpu, 1),
            "rss_before_mib": round(before), "peak_rss_mib": round(hwm_mib()),
            "kept10": round(neighbours_kept(x, y, 10, sample=2000), 3),
            "same5": round(same_person_neighbours(y, persons, 5, sample=2000), 3), "load": load_avg()}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_probe"]:
        print(json.dumps(probe(argv[1], argv[2])))
        return 0
    for run in argv:
        method, size = run.split(":")
        proc = subprocess.run([sys.executable, "-m", "bench.map_candidates", "_probe", method, size],
                              capture_output=True, text=True, cwd=PROJECT, check=False,
                              env=dict(os.environ, PYTHONPATH=str(PROJECT)))  # fmt: skip
        print(proc.stdout.strip().splitlines()[-1] if proc.returncode == 0 else f"{run} failed: {proc.stderr[-500:]}",
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
