"""The command line: ``python -m bench encode|cache|interactive|search|memory|resnet|plot|all``.

Run from the repository root. Each report is printed as soon as it is done
(Markdown tables, or one JSON object at the end with ``--json``) and, with
``--out DIR``, saved as ``DIR/<name>.json`` beside its PNG plots. Real
encodings of the shared CelebA set are computed once through an encoding cache
kept outside the repository (``--cache``, default ``/tmp/bench-cache.sqlite``).
The machines are shared and noisy: every table carries the load average, and
ratios are only quoted between numbers measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from facecore import MODEL_DIR_ENV, FaceSet, NotEnoughFacesError, shutdown_pools, silence_bomb_warnings
from facecore import settings as S

from .cache import bench_cache
from .encode import bench_encode
from .interactive import bench_interactive
from .machine import machine_info
from .memory import bench_memory, probe_main
from .photos import real_faceset, sample_refs
from .plots import other_runs, plot_encode, plot_safely, plot_search, replot
from .report import Report
from .resnet_speed import resnet_report
from .search import QUICK_SEARCH_SIZES, SEARCH_SIZES, SYNTHETIC_KINDS, bench_search

DEFAULT_BENCH_CACHE = Path(os.environ.get("FACECORE_BENCH_CACHE", "/tmp/bench-cache.sqlite"))
COMMANDS = ("encode", "cache", "interactive", "search", "memory", "resnet", "all", "plot")


class Reports(list):
    """A list of reports that shows each one as soon as it is added (long runs print as they go)."""

    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__()
        self.args = args

    def append(self, rep: Report) -> None:  # type: ignore[override]
        super().append(rep)
        if self.args.out:
            out = Path(self.args.out)
            out.mkdir(parents=True, exist_ok=True)
            (out / f"{rep.name}.json").write_text(json.dumps(rep.as_dict(), indent=2, default=str))
        if self.args.json:
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


def _sample_size(args: argparse.Namespace) -> int | None:
    return None if args.all else (args.photos or (40 if args.quick else 300))


def _encode(args: argparse.Namespace, out: Path | None) -> Report:
    refs = sample_refs(args.dataset, _sample_size(args), args.seed)
    rep = bench_encode(refs, workers=args.workers, stage_sample=args.stage_sample or (10 if args.quick else 60),
                       alt_max_side=args.alt_max_side, seed=args.seed, resnet_faces=16 if args.quick else 64)
    rep.data["machine"] = machine_info()
    if args.label:
        for r in rep.data["runs"]:
            r["label"] = f"{args.label}: {r['label']}"
    if out:
        extra, extra_workers = other_runs(args.also or ())
        rep.plots += plot_safely(lambda: [plot_encode(rep, out, extra, extra_workers)])
    return rep


def _on_real_faces(command: str, args: argparse.Namespace, out: Path | None, reports: Reports) -> None:
    """The benchmarks that work on the real encodings: interactive, search, memory."""
    fs = _real(args)
    persons, quick = fs.persons, args.quick
    if command in ("interactive", "all"):
        reports.append(bench_interactive(fs.encodings, persons, synthetic_n=20_000 if quick else 100_000,
                                         repeats=3 if quick else 5, seed=args.seed))
    if command in ("search", "all"):
        sizes = args.sizes or (QUICK_SEARCH_SIZES if quick else SEARCH_SIZES)
        rep = bench_search(fs.encodings, persons, sizes, queries=args.queries or (30 if quick else 100),
                           k=args.k, nprobes=args.nprobes, seed=args.seed, kinds=args.synthetic)
        if out:
            rep.plots += plot_safely(lambda: plot_search(rep, out))
        reports.append(rep)
    if command in ("memory", "all"):
        reports.append(bench_memory(fs.encodings, persons, cache=args.cache, dataset=args.dataset,
                                    encode_photos=100 if quick else None, search_n=100_000 if quick else 1_000_000))


def run(command: str, args: argparse.Namespace) -> list[Report]:
    """Run one benchmark (or all of them) with parsed ``args``; show and return the reports."""
    out = Path(args.out) if args.out else None
    if out:
        out.mkdir(parents=True, exist_ok=True)
    reports = Reports(args)
    if command == "plot":
        if not out:
            raise ValueError("bench plot needs --out, the folder holding encode.json / search.json")
        for p in replot(out, args.also or ()):
            print(f"plot: {p}")
        return reports
    if command in ("encode", "all"):
        reports.append(_encode(args, out))
    if command == "resnet":  # also part of encode's report
        reports.append(resnet_report(sample_refs(args.dataset, None), faces=16 if args.quick else 64))
    if command in ("cache", "all"):
        reports.append(bench_cache(sample_refs(args.dataset, _sample_size(args), args.seed), workers=args.workers,
                                   full_dataset=args.dataset,
                                   full_cache=args.cache if Path(args.cache).exists() else None))
    if command in ("interactive", "search", "memory", "all"):
        _on_real_faces(command, args, out, reports)
    return reports


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("command", choices=COMMANDS,
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
    p.add_argument("--alt-max-side", type=int, help="encode: also a warm run with this detect_max_side")
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


def _bad_count(args: argparse.Namespace) -> str | None:
    for name in ("photos", "stage_sample", "workers", "queries", "k", "alt_max_side"):
        value = getattr(args, name)
        if value is not None and value < 1:
            return f"--{name.replace('_', '-')} must be >= 1, got {value}"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m bench ...``; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["_probe"]:
        return probe_main(argv[1:])
    args = build_parser().parse_args(argv)
    problem = _bad_count(args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    silence_bomb_warnings()
    # The converted face model goes beside the benchmark's cache, for this process and its workers.
    os.environ.setdefault(MODEL_DIR_ENV, str(Path(args.cache).expanduser().parent))
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
