"""Every face encoded once, the largest face of each photo derived from it: cost and figures on the shared photos.

``python -m bench.every_face`` runs, one after the other and as whole processes (each with its worker
processes), on the shared CelebA folder (or ``--dataset``; ``--sample N`` photos of it, linked into a
temporary folder):

1. ``python -m facecore encode DIR --json`` (largest-face mode: the detection cascade that stops at the
   first pass finding a face) into a fresh cache, and ``python -m facecore encode DIR --all-faces --json``
   (every face: the article's full-size pass) into another; wall and CPU seconds, faces, load average;
   ``--rounds 2`` repeats the pair in the other order;
2. ``encode DIR --json`` again on the every-face cache: largest-face mode must reuse those rows (0 encoded);
3. ``evaluate`` on both caches: today's largest-face mode against the largest-face view derived from the
   every-face rows (same code, same run);
4. ``people --json`` on the every-face cache: persons from every face, scored against the folders (``evaluate``
   gives the persons of the largest faces in 3).

``--detection N`` instead times detection alone (one process, CPU time) in both modes on N photos of each size
(longest side up to 800 px, and above), to see where every-face mode's time goes.

Photos are never copied: a sample is a folder of links, caches live in a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from facecore import default_dataset_path

REPO = Path(__file__).resolve().parent.parent


def _run(args: list[str]) -> tuple[dict, float, float]:
    """``python -m facecore ARGS --json`` as a whole process: its JSON, wall seconds, CPU seconds (user + system,
    with its children). Raises if it fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "facecore", *args, "--json"], cwd=REPO, capture_output=True,
                          text=True)  # fmt: skip
    if done.returncode:
        raise RuntimeError(f"facecore {' '.join(args)} failed: {done.stderr.strip()}")
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return json.loads(done.stdout), wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _sample(dataset: Path, n: int, seed: int, into: Path) -> Path:
    """A folder of links to ``n`` photos of ``dataset`` (picked at random with ``seed``), person folders kept."""
    photos = sorted(p for p in dataset.glob("*/*") if p.is_file())
    if not photos:
        raise SystemExit(f"no photos in {dataset}/*/: give --dataset or set FACECORE_DATASET")
    for p in random.Random(seed).sample(photos, min(n, len(photos))):
        (into / p.parent.name).mkdir(parents=True, exist_ok=True)
        (into / p.parent.name / p.name).symlink_to(p)
    return into


def _encode_pair(folder: Path, tmp: Path, rounds: int, workers: list[str]) -> list[dict]:
    """Fresh-cache encodes of ``folder`` in both modes, ``rounds`` times (the second round in the other order)."""
    out = []
    for r in range(rounds):
        modes = ("largest", "every") if r % 2 == 0 else ("every", "largest")
        for mode in modes:
            cache = tmp / f"{mode}-{r}.sqlite"
            flag = ["--all-faces"] if mode == "every" else []
            load = os.getloadavg()
            res, wall, cpu = _run(["encode", str(folder), *flag, "--cache", str(cache), *workers])
            out.append({"round": r, "mode": mode, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1),
                        "faces": res["faces"], "encoded": res["encoded"], "load_before": load,
                        "load_after": os.getloadavg(), "cache": str(cache)})  # fmt: skip
            print(json.dumps(out[-1]), file=sys.stderr)
    return out


def _people(out: dict) -> dict:
    sc = out.get("scores") or {}
    return {"persons": len(out["persons"]), "unsorted": len(out["unsorted"]), "faces": out.get("faces"),
            **{k: round(sc[k], 4) for k in ("pairwise_f", "bcubed_f", "pairwise_precision", "pairwise_recall")
               if k in sc}}  # fmt: skip


def run(dataset: Path, sample: int | None, seed: int, rounds: int, workers: int | None,
        keep: Path | None = None) -> dict:
    w = [] if workers is None else ["--workers", str(workers)]
    with tempfile.TemporaryDirectory(prefix="every-face-") as name:
        tmp = Path(name)
        folder = _sample(dataset, sample, seed, tmp / "photos") if sample else dataset
        encodes = _encode_pair(folder, tmp, rounds, w)
        largest, every = tmp / "largest-0.sqlite", tmp / "every-0.sqlite"
        reuse, reuse_wall, _ = _run(["encode", str(folder), "--cache", str(every), *w])
        ev = {}
        for label, cache in (("largest-face mode", largest), ("derived from every face", every)):
            res, _, _ = _run(["evaluate", "--dataset", str(folder), "--cache", str(cache), *w])
            ev[label] = {k: res[k] for k in ("faces", "photos_with_face", "exact_precision_at_k",
                                             "exact_pca_precision_at_k", "cluster_precision_at_k",
                                             "recall_of_exact") if k in res}  # fmt: skip
            ev[label]["people"] = {k: res["people"][k] for k in ("persons_found", "pairwise_f", "bcubed_f")}
        people = {"every face": _people(_run(["people", str(folder), "--cache", str(every), *w])[0])}
        if keep is not None:  # the caches, for a look afterwards (SQLite's backup: WAL files included)
            keep.mkdir(parents=True, exist_ok=True)
            for cache in (largest, every):
                with sqlite3.connect(cache) as src, sqlite3.connect(keep / cache.name) as dst:
                    src.backup(dst)
    return {"dataset": str(dataset), "sample": sample, "seed": seed, "encodes": encodes,
            "largest_mode_on_every_rows": {"encoded": reuse["encoded"], "cached": reuse["cached"],
                                           "faces": reuse["faces"], "wall_s": round(reuse_wall, 1)},
            "evaluate": ev, "people": people}  # fmt: skip


def table(result: dict) -> str:
    rows = ["| round | mode | wall s | CPU s | faces | load before (1, 5, 15 min) |", "|---|---|---|---|---|---|"]
    for e in result["encodes"]:
        lb = e["load_before"]
        rows.append(f"| {e['round'] + 1} | {e['mode']} | {e['wall_s']} | {e['cpu_s']} | {e['faces']:,} "
                    f"| {lb[0]:.2f} {lb[1]:.2f} {lb[2]:.2f} |")
    by = {}
    for e in result["encodes"]:
        by.setdefault(e["round"], {})[e["mode"]] = e
    for r, m in sorted(by.items()):
        if len(m) == 2:
            rows.append(f"\nround {r + 1}: every / largest = {m['every']['wall_s'] / m['largest']['wall_s']:.2f}x "
                        f"wall, {m['every']['cpu_s'] / m['largest']['cpu_s']:.2f}x CPU")
    ru = result["largest_mode_on_every_rows"]
    rows.append(f"\nlargest-face mode on the every-face cache: {ru['encoded']} encoded, {ru['cached']} from the "
                f"cache, {ru['faces']:,} faces, {ru['wall_s']} s")
    rows += ["", "| faces used | faces | photos with a face | exact P@5 | exact PCA P@5 | group search P@5 "
             "| recall of exact | persons | pairwise F | BCubed F |", "|---|---|---|---|---|---|---|---|---|---|"]
    for label, ev in result["evaluate"].items():
        p = ev["people"]
        rows.append(f"| {label} | {ev['faces']:,} | {ev['photos_with_face']:,} | {ev.get('exact_precision_at_k')} "
                    f"| {ev.get('exact_pca_precision_at_k')} | {ev.get('cluster_precision_at_k')} "
                    f"| {ev.get('recall_of_exact')} "
                    f"| {p['persons_found']} | {p['pairwise_f']} | {p['bcubed_f']} |")
    rows += ["", "| `people` | faces | persons | unsorted | pairwise P / R / F | BCubed F |",
             "|---|---|---|---|---|---|"]
    for label, p in result["people"].items():
        rows.append(f"| {label} | {p['faces']} | {p['persons']} | {p['unsorted']} | {p.get('pairwise_precision')} / "
                    f"{p.get('pairwise_recall')} / {p.get('pairwise_f')} | {p.get('bcubed_f')} |")
    return "\n".join(rows)


def detection_by_size(dataset: Path, per_bucket: int, seed: int) -> dict:
    """Detection alone, in this process (one core), on ``per_bucket`` random photos of each size bucket (longest
    side <= 800 px, where the cascade's first pass sees the photo itself; and above): ms per photo in each mode
    (the photos decoded once, before the clock), and the faces each mode finds."""
    from PIL import Image

    from facecore import EncoderSettings, decode_image, detect_faces

    photos = sorted(p for p in dataset.glob("*/*") if p.is_file())
    rng = random.Random(seed)
    rng.shuffle(photos)
    buckets: dict[str, list[Path]] = {"<= 800 px": [], "> 800 px": []}
    for p in photos:
        with Image.open(p) as im:
            b = buckets["<= 800 px" if max(im.size) <= 800 else "> 800 px"]
        if len(b) < per_bucket:
            b.append(p)
        if all(len(v) >= per_bucket for v in buckets.values()):
            break
    out = {}
    modes = {"largest": EncoderSettings(), "every": EncoderSettings(all_faces=True)}
    for name, paths in buckets.items():
        rgbs = [decode_image(p.read_bytes()) for p in paths]
        detect_faces(rgbs[0], modes["every"])  # models loaded before the clock
        row = {"photos": len(rgbs), "median_side": int(np.median([max(r.shape[:2]) for r in rgbs]))}
        for mode, settings in modes.items():
            t = time.process_time()
            faces = sum(len(detect_faces(r, settings)) for r in rgbs)
            row[mode] = {"ms_per_photo": round(1000 * (time.process_time() - t) / len(rgbs), 1), "faces": faces}
        out[name] = row
        print(json.dumps({name: row}), file=sys.stderr)
    return out


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", type=Path, default=default_dataset_path())
    ap.add_argument("--sample", type=int, default=None, help="encode this many photos of it (default: all)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rounds", type=int, default=1, help="encode pairs (the second in the other order)")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--json", type=Path, default=None, help="also write the result here")
    ap.add_argument("--keep", type=Path, default=None, metavar="DIR", help="copy the two caches here at the end")
    ap.add_argument("--detection", type=int, default=None, metavar="N",
                    help="instead: time detection alone in each mode on N photos of each size bucket (CPU ms)")
    args = ap.parse_args(argv)
    if args.detection:
        print(json.dumps(detection_by_size(args.dataset, args.detection, args.seed), indent=1))
        return
    result = run(args.dataset, args.sample, args.seed, args.rounds, args.workers, args.keep)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    print(table(result))


if __name__ == "__main__":
    main()
