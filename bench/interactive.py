"""What a slider move costs: PCA + K-means refits on the real encodings and on synthetic sets, and the scatter.

Fits run as the app runs them, with BLAS/OpenMP limited to
``facecore.settings.FIT_THREADS``; a second table repeats them on every core.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from facecore import MINIBATCH_ABOVE, auto_k, fit_model, fit_pca, project
from facecore import settings as S

from .report import Report, Table, load_avg, secs, timed
from .synthetic import synthetic_faces, within_person_std


def timed_all_cores(fn: Callable[[], object], repeats: int = 1) -> tuple[float, float, object]:
    """:func:`~bench.report.timed` with ``facecore.settings.FIT_THREADS`` lifted (BLAS/OpenMP on every core)."""
    before = S.FIT_THREADS
    S.FIT_THREADS = None
    try:
        return timed(fn, repeats)
    finally:
        S.FIT_THREADS = before


def _fit_rows(name: str, x: np.ndarray, repeats: int, seed: int, threads_t: Table, data: dict) -> list[list[str]]:
    """Time the PCA fit, the projection and ``fit_model`` at K=10 and auto K on one set of faces."""
    n, dims = len(x), S.DEFAULT_DIMS
    target = "< 0.5 s" if n <= 10_000 else "< 3 s"
    pca_t, pca_min, pca = timed(lambda: fit_pca(x, seed), repeats)
    proj_t, proj_min, _ = timed(lambda: project(pca, x, dims), repeats)
    all_pca, _, _ = timed_all_cores(lambda: fit_pca(x, seed), repeats)
    rows = [[f"{n:,} {name}", "full PCA fit (all components)", secs(pca_t), secs(pca_min), ""],
            [f"{n:,} {name}", f"project to {dims} dims (dims slider: slice only)", secs(proj_t), secs(proj_min), ""]]
    threads_t.rows.append([f"{n:,} {name}", "full PCA fit", secs(pca_t), secs(all_pca), f"{all_pca / pca_t:.1f}x"])
    for k in dict.fromkeys((S.DEFAULT_K, auto_k(n))):
        algo = "MiniBatchKMeans" if n > MINIBATCH_ABOVE else "KMeans"
        m_t, m_min, model = timed(lambda k=k: fit_model(x, dims, k, seed, pca=pca), repeats)
        f_t, f_min, _ = timed(lambda k=k: fit_model(x, dims, k, seed), repeats)
        a_t, _, _ = timed_all_cores(lambda k=k: fit_model(x, dims, k, seed, pca=pca), repeats)
        rows.append([f"{n:,} {name}", f"fit_model, prefitted PCA, K={k} ({algo})", secs(m_t), secs(m_min), target])
        rows.append([f"{n:,} {name}", f"fit_model, PCA fitted too, K={k}", secs(f_t), secs(f_min), target])
        threads_t.rows.append([f"{n:,} {name}", f"fit_model, prefitted PCA, K={k}", secs(m_t), secs(a_t),
                               f"{a_t / m_t:.1f}x"])
        data.setdefault("fits", []).append({"set": name, "n": n, "k": k, "algorithm": algo, "prefit_s": m_t,
                                            "full_s": f_t, "prefit_all_cores_s": a_t, "inertia": model.inertia})
    data.setdefault("pca", []).append({"set": name, "n": n, "fit_pca_s": pca_t, "project_s": proj_t,
                                       "fit_pca_all_cores_s": all_pca})
    return rows


def _scatter(x: np.ndarray, repeats: int, seed: int) -> tuple[Table, dict]:
    """Build the app's 2-D scatter (plotly Scattergl, coloured by cluster) and serialise it, timed."""
    import plotly.graph_objects as go

    model = fit_model(x, S.DEFAULT_DIMS, S.DEFAULT_K, seed)
    z2 = np.ascontiguousarray(model.reduced[:, :2])

    def build():
        return go.Figure(go.Scattergl(x=z2[:, 0], y=z2[:, 1], mode="markers",
                                      marker=dict(color=model.labels, size=3, colorscale="Turbo")))

    b_t, b_min, fig = timed(build, repeats)
    j_t, j_min, js = timed(lambda: fig.to_json(), repeats)
    table = Table(f"Scatter figure of {len(x):,} points (plotly Scattergl, built, not rendered)",
                  ["step", "median s", "min s"])
    table.rows = [["build go.Figure(go.Scattergl(...))", secs(b_t), secs(b_min)],
                  [f"fig.to_json() ({len(js) / 1e6:.1f} MB: what is sent to the browser)", secs(j_t), secs(j_min)]]
    return table, {"n": len(x), "build_s": b_t, "to_json_s": j_t, "json_mb": len(js) / 1e6}


def bench_interactive(real: np.ndarray, persons: Sequence[str | None], *, synthetic_n: int = 100_000,
                      repeats: int = 5, seed: int = 0) -> Report:
    """PCA + K-means refit times on the real encodings and on ``synthetic_n`` synthetic faces; scatter build time."""
    load_before = load_avg()
    sets = [("real", np.asarray(real, np.float32))]
    if synthetic_n:
        sets.append(("synthetic", synthetic_faces(real, within_person_std(real, persons), synthetic_n, seed)))
    threads = S.FIT_THREADS
    table = Table("Refitting the model (what a slider move costs), seconds",
                  ["faces", "step", "median s", "min s", "target"])
    threads_t = Table(f"Same fits with BLAS/OpenMP on every core instead of settings.FIT_THREADS={threads}",
                      ["faces", "step", f"{threads} thread median s", "all cores median s", "all cores / one thread"])
    data: dict = {}
    for name, x in sets:
        table.rows += _fit_rows(name, x, repeats, seed, threads_t, data)
    table.note = f"Median of {repeats} runs each. Load average before: {load_before}, after: {load_avg()}."
    threads_t.note = "Measured in the same run, interleaved per step; > 1x means every core was slower."
    scatter, data["scatter"] = _scatter(sets[-1][1], repeats, seed)
    return Report("interactive", tables=[table, threads_t, scatter], data=data)
