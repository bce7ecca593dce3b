"""Measure faces -> persons (facecore.people): quality against folder names, and speed at 100,000 faces.

Quality (folders = people; unsorted faces count as singletons):
  nice -n 10 .venv/bin/python bench/people.py quality --dataset ../shared/datasets/celeba-wild \
      --cache /work/cache/celeba.sqlite [--json]
Prints, for the whole set, the tuning half and the held-out half of the people (split with
--split-seed, the halves the defaults were chosen on and checked on), random subsets of
30 and 75 people, and 40 people x 10 photos drawn from each half: persons found, pairwise P/R/F,
BCubed F and seconds for every grouping method (consensus, the default; chinese_whispers;
agglomerative), plain Infomap (10 and 20 neighbours, radius 0.55) and K-means with K=10 and
the true K (128-d and PCA-20).

Scale (real encodings repeated with Gaussian noise, as facecore.bench's synthetic faces):
  nice -n 10 .venv/bin/python bench/people.py scale --dataset ... --cache ... --faces 100000 [--noise 1.0] \
      [--method consensus|chinese_whispers]
--noise scales the per-dimension within-person standard deviation added to each copy (1.0 is what
facecore.bench uses; smaller noise makes a denser graph). Or an imported set, with its photos:
  nice -n 10 .venv/bin/python bench/people.py scale --imported KEY --cache COPY.sqlite --radius 0.7
(opening a cache may write to it: give a copy of a shared one). Prints graph and grouping seconds
(wall, and CPU seconds of this process), the load averages around the run (the machine is shared:
read wall times with them), and the peak resident memory of this process.

Only public facecore names are used.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from facecore import (  # noqa: E402
    EncoderSettings,
    EncodingStore,
    encode_images,
    group_faces,
    kmeans_labels,
    load_imported,
    neighbour_graph,
    photo_ids,
    scan_folder,
    score_labels,
    threshold_sweep,
)
from facecore.people import DEFAULT_METHOD, METHODS, infomap_labels, nearest_edges  # noqa: E402


def load(dataset: str, cache: str):
    """``(encodings (n, 128) float32, persons (n,) names, photo digests (n,))`` of a folder, through the cache."""
    refs, skipped = scan_folder(dataset)
    fs = encode_images(refs, EncoderSettings(), EncodingStore(cache), skipped=skipped)
    return fs.encodings, np.array(fs.persons, dtype=object), np.array([f.digest for f in fs.faces])


def halves(persons: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The people of the tuning half and of the held-out half (sorted names, a seeded random half)."""
    names = np.unique(persons.astype(str))
    tune = np.sort(np.random.default_rng(seed).choice(names, len(names) // 2, replace=False))
    return tune, np.setdiff1d(names, tune)


def row(label: str, persons, labels, seconds: float) -> dict:
    s = score_labels(list(persons), labels)
    return {
        "method": label,
        "groups": s.groups,
        "unsorted": s.unsorted,
        "pairwise_p": round(s.pairwise_precision, 4),
        "pairwise_r": round(s.pairwise_recall, 4),
        "pairwise_f": round(s.pairwise_f, 4),
        "bcubed_f": round(s.bcubed_f, 4),
        "seconds": round(seconds, 3),
    }


def infomap_alone(x: np.ndarray, neighbours: int, radius: float) -> np.ndarray:
    """Plain Infomap (edge weight 1 - distance) over each face's nearest neighbours below ``radius``; groups of
    one face unsorted. No constraints: for comparison only."""
    g = neighbour_graph(x, radius)
    a, b, d = nearest_edges(g.rows, g.cols, g.dist, len(x), neighbours)
    labels = infomap_labels(len(x), a, b, 1.0 - d)
    return np.where(np.bincount(labels)[labels] >= 2, labels, -1)


def compare(x: np.ndarray, persons: np.ndarray, digests: np.ndarray, kmeans: bool = True) -> list[dict]:
    """Every grouping method, plain Infomap (10 and 20 neighbours, radius 0.55) and K-means (K=10, true K)."""
    out = []
    for method in METHODS:
        t = time.perf_counter()
        g = group_faces(x, digests, method=method)
        out.append(row(f"people {method}", persons, g.labels, time.perf_counter() - t))
        out[-1]["persons"] = g.n_persons
    for k in (10, 20):
        t = time.perf_counter()
        labels = infomap_alone(x, k, 0.55)
        out.append(row(f"infomap alone k={k} r=0.55", persons, labels, time.perf_counter() - t))
        out[-1]["persons"] = len(np.unique(labels[labels >= 0]))
    if kmeans:
        true_k = len(set(persons))
        for k, dims in ((10, None), (true_k, None), (true_k, 20)):
            t = time.perf_counter()
            labels = kmeans_labels(x, k, dims=dims)
            out.append(row(f"kmeans K={k}" + (f" pca{dims}" if dims else ""), persons, labels, time.perf_counter() - t))
    return out


def quality(args: argparse.Namespace) -> dict:
    x, persons, digests = load(args.dataset, args.cache)
    tune, held = halves(persons, args.split_seed)
    report = {"faces": len(x), "people": len(set(persons)), "sets": {}}

    def add(name: str, people: np.ndarray, kmeans: bool = True, per_person=None, people_n=None, rng=None) -> None:
        if per_person:  # a random people_n of people, per_person random photos each
            sel = np.zeros(len(persons), bool)
            for p in rng.choice(people, people_n, replace=False):
                rows = np.flatnonzero(persons.astype(str) == p)
                sel[rng.choice(rows, min(per_person, len(rows)), replace=False)] = True
            people = np.unique(persons[sel].astype(str))
        else:
            sel = np.isin(persons.astype(str), people)
        report["sets"][f"{name} ({len(people)} people, {int(sel.sum())} faces)"] = compare(
            x[sel], persons[sel], digests[sel], kmeans
        )

    add("all", np.unique(persons.astype(str)))
    add("tuning half", tune)
    add("held-out half", held)
    rng = np.random.default_rng(args.subset_seed)
    names = np.unique(persons.astype(str))
    for size in (30, 75):
        for draw in range(args.draws):
            add(f"random {size} #{draw}", rng.choice(names, size, replace=False))
    for half_name, half in (("tuning", tune), ("held-out", held)):  # small collections: 40 people x 10 photos
        for draw in range(args.draws):
            add(f"{half_name} 40x10 #{draw}", half, kmeans=False, per_person=10, people_n=40, rng=rng)
    t = time.perf_counter()
    sweep = threshold_sweep(x, digests, list(persons), [0.45, 0.5, 0.525, 0.55, 0.575, 0.6, 0.625, 0.65, 0.7])
    report["sweep_seconds"] = round(time.perf_counter() - t, 3)
    report["sweep"] = [
        {
            "threshold": p.threshold,
            "persons": p.persons,
            "unsorted": p.unsorted,
            "pairwise_f": round(p.scores.pairwise_f, 4),
            "bcubed_f": round(p.scores.bcubed_f, 4),
        }
        for p in sweep
    ]
    return report


def synthetic(x: np.ndarray, persons: np.ndarray, n: int, noise: float, seed: int = 0) -> np.ndarray:
    """``(n, 128)`` float32: random real faces plus N(0, noise * within-person std) per dimension."""
    names, pid = np.unique(persons.astype(str), return_inverse=True)
    counts = np.bincount(pid)
    means = np.zeros((len(names), x.shape[1]))
    np.add.at(means, pid, x)
    means /= counts[:, None]
    dev = (x - means[pid])[counts[pid] >= 2]
    std = np.sqrt((dev**2).sum(axis=0) / (len(dev) - (counts >= 2).sum())).astype(np.float32)
    rng = np.random.default_rng(seed)
    return x[rng.integers(0, len(x), n)] + rng.standard_normal((n, x.shape[1]), dtype=np.float32) * std * noise


def scale_faces(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray, str]:
    """``(encodings, photo ids, source)``: an imported set (``--imported``) or synthetic copies (one photo each)."""
    if args.imported:
        fs = load_imported(EncodingStore(args.cache), args.imported)
        return fs.encodings, photo_ids(fs), f"imported {args.imported}"
    x, persons, _ = load(args.dataset, args.cache)
    return synthetic(x, persons, args.faces, args.noise), np.arange(args.faces), f"synthetic noise {args.noise}"


def scale(args: argparse.Namespace) -> dict:
    y, photos, source = scale_faces(args)
    radius = args.radius or args.threshold
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    load_before = os.getloadavg()
    t, cpu = time.perf_counter(), time.process_time()
    graph = neighbour_graph(y, radius)
    t_graph, cpu_graph = time.perf_counter() - t, time.process_time() - cpu
    g = group_faces(y, photos, args.threshold, graph=graph, method=args.method)
    total, cpu_total = time.perf_counter() - t, time.process_time() - cpu
    return {
        "faces": len(y),
        "source": source,
        "method": args.method,
        "radius": radius,
        "threshold": args.threshold,
        "graph_exact": graph.exact,
        "graph_pairs": len(graph.rows),
        "graph_seconds": round(t_graph, 2),
        "group_seconds": round(total - t_graph, 2),
        "total_seconds": round(total, 2),
        "graph_cpu_seconds": round(cpu_graph, 2),
        "group_cpu_seconds": round(cpu_total - cpu_graph, 2),
        "load_average_before": [round(v, 2) for v in load_before],
        "load_average_after": [round(v, 2) for v in os.getloadavg()],
        "persons": g.n_persons,
        "unsorted": len(g.unsorted),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "rss_mb_before_grouping": round(rss_before),
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("what", choices=("quality", "scale"))
    p.add_argument("--dataset", help="a folder of photos, one subfolder per person (all but scale --imported)")
    p.add_argument("--cache", required=True)
    p.add_argument("--split-seed", type=int, default=0)
    p.add_argument("--subset-seed", type=int, default=1)
    p.add_argument("--draws", type=int, default=3)
    p.add_argument("--faces", type=int, default=100_000)
    p.add_argument("--noise", type=float, default=1.0)
    p.add_argument("--threshold", type=float, default=0.6)
    p.add_argument("--radius", type=float, default=None, help="scale: the graph's radius (default: --threshold)")
    p.add_argument("--method", default=DEFAULT_METHOD, choices=METHODS, help="scale: the grouping method")
    p.add_argument("--imported", default=None, help="scale: the key of an imported set in --cache, instead of copies")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    if args.dataset is None and not (args.what == "scale" and args.imported):
        p.error("--dataset is required (except for scale --imported KEY)")
    report = quality(args) if args.what == "quality" else scale(args)
    if args.json:
        print(json.dumps(report, indent=1))
        return
    if args.what == "scale":
        for k, v in report.items():
            print(f"{k:24s} {v}")
        return
    print(f"{report['faces']} faces of {report['people']} people")
    for name, rows in report["sets"].items():
        print(f"\n{name}")
        print(
            f"  {'method':28s} {'persons':>7s} {'groups':>6s} {'unsort':>6s} {'pair P':>6s} {'pair R':>6s} "
            f"{'pair F':>6s} {'B3 F':>6s} {'s':>6s}"
        )
        for r in rows:
            print(
                f"  {r['method']:28s} {r.get('persons', ''):>7} {r['groups']:>6} {r['unsorted']:>6} "
                f"{r['pairwise_p']:6.3f} {r['pairwise_r']:6.3f} {r['pairwise_f']:6.3f} {r['bcubed_f']:6.3f} "
                f"{r['seconds']:6.2f}"
            )
    print(f"\nthreshold sweep over all faces ({report['sweep_seconds']} s, one graph):")
    for s in report["sweep"]:
        print(
            f"  {s['threshold']:.3f}: {s['persons']} persons, {s['unsorted']} unsorted, "
            f"pairwise F {s['pairwise_f']:.3f}, BCubed F {s['bcubed_f']:.3f}"
        )


if __name__ == "__main__":
    main()
