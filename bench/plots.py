"""PNG plots of the encode and search results, drawn from their JSON (``python -m bench plot`` redraws them).

matplotlib is a development dependency: without it the numbers are kept and a
note says why no plot was drawn.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from .report import Report


def pyplot():
    """matplotlib's pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_safely(draw: Callable[[], list[str]]) -> list[str]:
    """Run a plotting function; without matplotlib, say so on stderr and keep the numbers."""
    try:
        return draw()
    except ImportError as exc:
        print(f"note: no plot ({exc}); install matplotlib (requirements-dev.txt) for PNGs", file=sys.stderr)
        return []


def other_runs(paths: Sequence[str]) -> tuple[list[dict], int | None]:
    """The warm runs (not the article loop, not cold) of other encode.json files, and their worker count."""
    extra, workers = [], None
    for path in paths:
        other = json.loads(Path(path).read_text())
        extra += [r for r in other["data"]["runs"] if "article" not in r["label"] and "cold" not in r["label"]]
        workers = other["data"]["workers"]
    return extra, workers


def idle_rate(run: dict, workers: int) -> float:
    """Photos/s of ``run`` on an otherwise idle machine: processes / CPU seconds per photo."""
    procs = run.get("processes") or (1 if ("1 process" in run["label"] or "article" in run["label"]) else workers)
    cpu = run.get("cpu_seconds") or 0.0
    return procs * run["photos"] / cpu if cpu else 0.0


def plot_encode(rep: Report, out: Path, extra: Sequence[dict] = (), extra_workers: int | None = None) -> str:
    """Bar chart of photos/s per run, measured and CPU-time projected (plus ``extra`` runs from another run)."""
    plt = pyplot()
    workers = rep.data["workers"]
    runs = [dict(r, _w=workers) for r in rep.data["runs"]] + [dict(r, _w=extra_workers or workers) for r in extra]
    labels = [r["label"].replace(", ", "\n", 2) for r in runs]
    wall = [r["photos_per_s"] for r in runs]
    idle = [idle_rate(r, r["_w"]) for r in runs]
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
        ax.axvline(10 * wall[0], color="#d62728", ls="--", lw=1, label="target: 10x the article loop (wall clock)")
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


def plot_search(rep: Report, out: Path) -> list[str]:
    """recall vs nprobe (with comparisons), and latency vs N."""
    return [_plot_recall(rep, out), _plot_latency(rep, out)]


def _plot_recall(rep: Report, out: Path) -> str:
    plt = pyplot()
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
    return str(p1)


def _plot_latency(rep: Report, out: Path) -> str:
    plt = pyplot()
    results = rep.data["results"]
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
    return str(p2)


def replot(out: Path, also: Sequence[str]) -> list[str]:
    """Redraw the PNGs from the JSON results saved in ``out`` (adding the encode runs of ``also`` files)."""
    drawn = []
    for name in ("encode", "search"):
        path = out / f"{name}.json"
        if not path.exists():
            continue
        rep = Report(name, data=json.loads(path.read_text())["data"])
        if name == "encode":
            extra, workers = other_runs(also)
            drawn += plot_safely(lambda rep=rep, e=extra, w=workers: [plot_encode(rep, out, e, w)])
        else:
            drawn += plot_safely(lambda rep=rep: plot_search(rep, out))
    return drawn
