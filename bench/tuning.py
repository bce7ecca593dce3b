"""How many comparisons a search needs to keep 95 % of the exact nearest faces, at 2.4k, 100k and 10^6 faces.

Usage: .venv/bin/python -m bench.tuning [--dataset DIR] [--cache PATH] [--sizes 100000 1000000] [--json]

The real shared faces first (leave-one-out), then synthetic faces drawn
around them with the within-person spread (bench/synthetic.py), tuned with
facecore.tuning.tune_search: for each size, the (K, nprobe) with the fewest
comparisons reaching the target, next to the article's K = 10, nprobe = 1.
"""

from __future__ import annotations

import argparse
import json
import os
import time

from bench.synthetic import synthetic_faces, within_person_std
from facecore import EncoderSettings, EncodingStore, default_dataset_path, encode_images, scan_folder, tune_search


def _row(label: str, n: int, tuning, seconds: float) -> dict:
    article = next((p for p in tuning.points if (p.k, p.nprobe) == (10, 1)), None)
    return {
        "faces": label, "n": n, "k": tuning.k, "nprobe": tuning.nprobe, "recall": round(tuning.recall, 4),
        "comparisons": round(tuning.comparisons, 1), "exact": tuning.exact_comparisons,
        "fewer": round(tuning.exact_comparisons / tuning.comparisons, 1),
        "article_recall": round(article.recall, 4) if article else None,
        "article_comparisons": round(article.comparisons, 1) if article else None,
        "seconds": round(seconds, 1), "queries": tuning.queries,
    }  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default=str(default_dataset_path()))
    p.add_argument("--cache", default=os.environ.get("FACECORE_CACHE"))
    p.add_argument("--sizes", type=int, nargs="*", default=[100_000, 1_000_000])
    p.add_argument("--target", type=float, default=0.95)
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    refs, skipped = scan_folder(a.dataset)
    fs = encode_images(refs, EncoderSettings(), EncodingStore(a.cache) if a.cache else None, skipped=skipped)
    rows = []
    t = time.perf_counter()
    rows.append(_row("real (leave-one-out)", len(fs), tune_search(fs.encodings, a.target), time.perf_counter() - t))
    std = within_person_std(fs.encodings, fs.persons)
    for n in a.sizes:
        x = synthetic_faces(fs.encodings, std, n, seed=1)
        ks = sorted({10, *(round(f * n**0.5) for f in (0.5, 1, 2, 4))})  # 16 sqrt(n) takes minutes at 10^6
        t = time.perf_counter()
        rows.append(_row("around real", n, tune_search(x, a.target, ks=ks), time.perf_counter() - t))
        print(json.dumps(rows[-1]), flush=True)
    if a.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"load {os.getloadavg()[0]:.1f}; recall target {a.target} of the exact top 10")
    print("| faces | n | K | nprobe | kept | comparisons | exact | fewer | article (K 10, nprobe 1) | s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        art = f"{r['article_recall']:.1%} at {r['article_comparisons']:,.0f}" if r["article_recall"] else "-"
        print(f"| {r['faces']} | {r['n']:,} | {r['k']} | {r['nprobe']} | {r['recall']:.1%} | "
              f"{r['comparisons']:,.0f} | {r['exact']:,} | {r['fewer']}x | {art} | {r['seconds']} |")


if __name__ == "__main__":
    main()
