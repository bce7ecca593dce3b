"""What a distance threshold means when one face is searched against a whole collection.

Usage: .venv/bin/python bench/verdict.py [--dataset DIR] [--cache PATH] [--draws 30] [--splits 10] [--json]

Encodes (or reads from the cache) the shared CelebA folder, then prints, with
folder names as identities: the same/different-person distance histograms;
the calibration table (pair precision and recall, leave-one-person-out
stranger-match rate, same-person match share); the stranger rate at several
collection sizes (random subsets of people) beside the per-pair model
1 - (1 - p(t))^n; the size rule fitted on all people (bench/size_rule.py) and
facecore.verdict's SIZE_RULE; and the held-out check (rule fitted on a random half of the people,
measured on the other half). The numbers in facecore/verdict/calibration.py come from this
script with its defaults.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.size_rule import SizeDraw, fit_size_rule, size_thresholds, stranger_rates_by_size  # noqa: E402
from facecore import EncoderSettings, EncodingStore, encode_images, scan_folder  # noqa: E402
from facecore import settings as S  # noqa: E402
from facecore.verdict import (  # noqa: E402
    DEFAULT_THRESHOLDS,
    SIZE_RULE,
    Calibration,
    SizeRule,
    calibrate,
    default_threshold,
    distance_distributions,
    recommended_threshold,
)

PERSON_COUNTS = (10, 15, 20, 30, 40, 50, 75, 100, 125, 150)
HALF_COUNTS = (10, 15, 20, 30, 40, 50, 75)
TABLE = tuple(round(0.40 + 0.025 * i, 3) for i in range(9))  # 0.40 ... 0.60
MODEL_AT = (0.45, 0.50, 0.55)
# README (evaluate): one actress is filed as both person_7392 and person_7393.
KNOWN_DUPLICATE = {"person_7393": "person_7392"}


def load(dataset: Path, cache: Path) -> tuple[np.ndarray, list[str | None], float]:
    """The shared set's encodings (n, 128) and persons (folder names), through the cache."""
    start = time.perf_counter()
    refs, skipped = scan_folder(dataset)
    fs = encode_images(refs, EncoderSettings(), EncodingStore(cache), skipped=skipped)
    x, persons = _arrays(fs)
    return x, persons, time.perf_counter() - start


def _arrays(fs) -> tuple[np.ndarray, list[str | None]]:
    # the one place that reads FaceSet attributes
    return fs.encodings, list(fs.persons)


def _pct(v: float) -> str:
    return "–" if np.isnan(v) else f"{100 * v:.1f} %"


def histograms(x: np.ndarray, persons: list) -> str:
    dd = distance_distributions(x, persons)
    lines = [
        f"Pairs: {dd.same_pairs:,} same-person, {dd.different_pairs:,} different-person "
        f"(measured {dd.same_measured:,} and {dd.different_measured:,}); "
        f"{dd.faces:,} faces of {dd.persons} people.",
        "",
        "| distance | same-person pairs | share | different-person pairs | share |",
        "|---|---|---|---|---|",
    ]
    for i, (s, d) in enumerate(zip(dd.same_counts, dd.different_counts, strict=True)):
        if s or d:
            lo, hi = dd.edges[i], dd.edges[i + 1]
            shares = f"{_pct(s / dd.same_measured)} | {d:,} | {_pct(d / dd.different_measured)}"
            lines.append(f"| {lo:.3f}–{hi:.3f} | {s:,} | {shares} |")
    return "\n".join(lines)


def calibration_table(x: np.ndarray, persons: list) -> tuple[str, Calibration]:
    thresholds = sorted({*TABLE, S.VERDICT_THRESHOLD, *DEFAULT_THRESHOLDS})
    cal = calibrate(x, persons, thresholds=thresholds, source="the shared photos")
    merged = [KNOWN_DUPLICATE.get(p, p) for p in persons]
    cal_m = calibrate(x, merged, thresholds=thresholds)
    lines = [
        f"{cal.faces:,} faces of {cal.persons} people; {cal.stranger_queries:,} stranger queries, "
        f"{cal.same_person_queries:,} same-person queries. Last two columns: person_7393 filed as person_7392.",
        "",
        "| threshold | pair precision | pair recall | p(t) per pair | stranger-match rate | same-person match share "
        "| precision, merged | stranger rate, merged |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for t in sorted({*TABLE, S.VERDICT_THRESHOLD}):
        a, b = cal.at(t), cal_m.at(t)
        p = cal.different_pair_rate[cal.thresholds.index(t)]
        lines.append(
            f"| {t:.3f} | {_pct(a.pair_precision)} | {_pct(a.pair_recall)} | {p:.2e} | {_pct(a.stranger_rate)} "
            f"| {_pct(a.same_person_rate)} | {_pct(b.pair_precision)} | {_pct(b.stranger_rate)} |"
        )
    lines += [
        "",
        f"recommended_threshold (stranger rate <= 10 %): {recommended_threshold(cal):.3f} "
        f"(merged: {recommended_threshold(cal_m):.3f})",
    ]
    return "\n".join(lines), cal


def _model_threshold(draws: list[SizeDraw]) -> float | None:
    rate = np.mean([d.predicted_rate for d in draws], axis=0)
    ok = np.asarray(draws[0].thresholds)[rate <= S.MAX_STRANGER_RATE]
    return float(ok[-1]) if len(ok) else None


def size_table(draws: tuple[SizeDraw, ...]) -> str:
    at = {t: draws[0].thresholds.index(t) for t in MODEL_AT}
    points = dict(zip(sorted({d.persons for d in draws}), size_thresholds(draws), strict=False))
    lines = [
        "| people | faces (mean) | draws | thr. mean rate <= 10 % | per-draw thr. q25 / median / min "
        + "".join(f"| rate at {t:.2f}: measured / model " for t in MODEL_AT)
        + "| model's thr. |",
        "|---|---|---|---|---|" + "---|" * len(MODEL_AT) + "---|",
    ]
    for count in sorted({d.persons for d in draws}):
        g = [d for d in draws if d.persons == count]
        own = np.array([d.recommended if d.recommended is not None else np.nan for d in g])
        cells = "".join(
            f"| {_pct(np.mean([d.stranger_rate[i] for d in g]))} / {_pct(np.mean([d.predicted_rate[i] for d in g]))} "
            for i in at.values()
        )
        model = _model_threshold(g)
        lines.append(
            f"| {count} | {points[count][0]:,.0f} | {len(g)} | {points[count][1]:.3f} "
            f"| {np.nanquantile(own, 0.25):.3f} / {np.nanmedian(own):.3f} / {np.nanmin(own):.3f} "
            f"{cells}| {'–' if model is None else f'{model:.3f}'} |"
        )
    return "\n".join(lines)


def _subset(x: np.ndarray, persons: list, keep: set) -> tuple[np.ndarray, list]:
    rows = [i for i, p in enumerate(persons) if p in keep]
    return x[rows], [persons[i] for i in rows]


def held_out(x: np.ndarray, persons: list, cal: Calibration, draws: int, splits: int) -> tuple[str, dict]:
    """Fit the rule on a random half of the people, measure the stranger rate on the other half."""
    names = sorted({p for p in persons if p is not None})
    lines = [
        "| split | rule fitted on half A | held-out draws | mean rate | median | 90th pct | share above 10 % "
        "| rule at 2,339 faces: rate on all |",
        "|---|---|---|---|---|---|---|---|",
    ]
    every: list[float] = []
    for split in range(splits):
        perm = np.random.default_rng(100 + split).permutation(len(names))
        half_a = {names[i] for i in perm[: len(names) // 2]}
        xa, pa = _subset(x, persons, half_a)
        xb, pb = _subset(x, persons, set(names) - half_a)
        rule = fit_size_rule(stranger_rates_by_size(xa, pa, HALF_COUNTS, draws=draws, seed=split))
        check = stranger_rates_by_size(xb, pb, HALF_COUNTS, draws=draws, seed=50 + split)
        rates = np.array([d.stranger_rate[d.thresholds.index(rule.threshold(d.faces))] for d in check])
        every += rates.tolist()
        full = cal.at(rule.threshold(cal.faces)).stranger_rate
        lines.append(
            f"| {split} | {rule.intercept:.4f} - {rule.slope:.4f} log10(n) | {len(rates)} | {_pct(rates.mean())} "
            f"| {_pct(np.median(rates))} | {_pct(np.quantile(rates, 0.9))} | {_pct((rates > 0.1).mean())} "
            f"| {rule.threshold(cal.faces):.3f}: {_pct(full)} |"
        )
    r = np.array(every)
    summary = {
        "mean": float(r.mean()),
        "median": float(np.median(r)),
        "p90": float(np.quantile(r, 0.9)),
        "share_above_10pct": float((r > 0.1).mean()),
    }
    lines.append(
        f"| all | | {len(r)} | {_pct(summary['mean'])} | {_pct(summary['median'])} | {_pct(summary['p90'])} "
        f"| {_pct(summary['share_above_10pct'])} | |"
    )
    return "\n".join(lines), summary


def rule_lines(rule: SizeRule, cal: Calibration) -> str:
    sizes = (50, 100, 300, 1000, 2339, 3197, 10_000, 30_000, 100_000, 1_000_000)
    shipped = SIZE_RULE
    lines = [
        f"Fitted now: threshold = {rule.intercept:.4f} - {rule.slope:.4f} log10(faces), "
        f"kept within {rule.lowest:.2f}..{rule.highest:.2f}, rounded down to {rule.step}.",
        f"facecore.verdict.SIZE_RULE: {shipped.intercept:.4f} - {shipped.slope:.4f} log10(faces).",
        "",
        "| faces | " + " | ".join(f"{n:,}" for n in sizes) + " |",
        "|---|" + "---|" * len(sizes),
        "| fitted now | " + " | ".join(f"{rule.threshold(n):.3f}" for n in sizes) + " |",
        "| default_threshold | " + " | ".join(f"{default_threshold(n):.3f}" for n in sizes) + " |",
        "",
    ]
    t = default_threshold(cal.faces)
    p = cal.at(t)
    lines.append(
        f"Default for these {cal.faces:,} faces: {t:.3f} (VERDICT_THRESHOLD = {S.VERDICT_THRESHOLD}); "
        f"stranger-match rate {_pct(p.stranger_rate)}, same-person match share {_pct(p.same_person_rate)}, "
        f"pair precision {_pct(p.pair_precision)}."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    project = Path(__file__).resolve().parent.parent
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--dataset",
        type=Path,
        default=Path(os.environ.get("FACECORE_DATASET", project.parent / "shared" / "datasets" / "celeba-wild")),
    )
    ap.add_argument("--cache", type=Path, default=Path(os.environ.get("FACECORE_CACHE", "/tmp/bench-cache.sqlite")))
    ap.add_argument("--draws", type=int, default=30, help="random draws of people per collection size")
    ap.add_argument("--splits", type=int, default=10, help="random halves of the people for the held-out check")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of Markdown")
    args = ap.parse_args(argv)
    x, persons, seconds = load(args.dataset, args.cache)
    hist = histograms(x, persons)
    table, cal = calibration_table(x, persons)
    draws = stranger_rates_by_size(x, persons, PERSON_COUNTS, draws=args.draws)
    rule = fit_size_rule(draws)
    held, summary = held_out(x, persons, cal, args.draws, args.splits)
    if args.json:
        out = {
            "faces": cal.faces,
            "persons": cal.persons,
            "calibration": {t: vars(cal.at(t)) for t in sorted({*TABLE, S.VERDICT_THRESHOLD})},
            "size_thresholds": size_thresholds(draws),
            "fitted_rule": vars(rule),
            "held_out": summary,
        }
        print(json.dumps(out, indent=1, default=float))
        return 0
    print(f"# Verdict thresholds on {args.dataset} ({seconds:.1f} s to load)\n")
    print("## Pair distances\n\n" + hist + "\n")
    print("## Calibration (folders as identities)\n\n" + table + "\n")
    print(
        f"## Stranger-match rate by collection size ({args.draws} draws of people each)\n\n" + size_table(draws) + "\n"
    )
    print("## Size rule\n\n" + rule_lines(rule, cal) + "\n")
    print(f"## Held-out check ({args.splits} random halves of the people)\n\n" + held)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
