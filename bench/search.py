"""The article's shortcut at scale: nearest-centroid search against exact search, recall and comparisons per nprobe.

The real encodings are searched leave-one-out; synthetic sets of 1e3-1e6
faces (:mod:`bench.synthetic`) show what happens beyond the shared photos.
Query timings run on one BLAS thread: one query, one core.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from facecore import ClusterIndex, auto_k, cluster_search, exact_search, fit_kmeans, fit_pca, project, recall
from facecore import settings as S

from .report import Report, Table, count, load_avg, ms, secs
from .synthetic import synthetic_faces, synthetic_identities, within_person_std

SEARCH_SIZES = (1_000, 10_000, 100_000, 1_000_000)
QUICK_SEARCH_SIZES = (1_000, 10_000, 100_000)
#: Above this many faces the search benchmark fits PCA and K-means on a random
#: sample of this size and assigns every face to its nearest centroid.
FIT_SAMPLE = 200_000
SYNTHETIC_KINDS = ("around-real", "identities")


@dataclass
class BuiltIndex:
    x: np.ndarray
    sq: np.ndarray
    pca: object
    index: ClusterIndex
    timings: dict


def build_search_index(x: np.ndarray, k: int, dims: int = S.DEFAULT_DIMS, seed: int = 0,
                       fit_sample: int = FIT_SAMPLE) -> BuiltIndex:
    """PCA to ``dims`` + K-means with ``k`` clusters over ``x``; above ``fit_sample`` faces both are fitted on a
    random sample and every face is assigned to its nearest centroid."""
    rng = np.random.default_rng(seed)
    n = len(x)
    timings = {}
    sample = np.sort(rng.choice(n, fit_sample, replace=False)) if n > fit_sample else None
    t = time.perf_counter()
    pca = fit_pca(x[sample] if sample is not None else x, seed)
    timings["pca_fit_s"] = time.perf_counter() - t
    t = time.perf_counter()
    z = np.empty((n, dims), np.float32)
    for s in range(0, n, 100_000):  # chunks keep the centred copy small
        z[s : s + 100_000] = project(pca, x[s : s + 100_000], dims)
    timings["project_s"] = time.perf_counter() - t
    t = time.perf_counter()
    km = fit_kmeans(z[sample] if sample is not None else z, k, seed)
    timings["kmeans_fit_s"] = time.perf_counter() - t
    t = time.perf_counter()
    labels = km.predict(z) if sample is not None else km.labels_
    timings["assign_s"] = time.perf_counter() - t
    t = time.perf_counter()
    index = ClusterIndex.build(km.cluster_centers_, labels)
    sq = np.einsum("ij,ij->i", x, x)
    timings["index_s"] = time.perf_counter() - t
    timings["kmeans"] = type(km).__name__ + (f" on a {fit_sample:,} sample" if sample is not None else "")
    return BuiltIndex(x, sq, pca, index, timings)


def nprobe_ladder(k: int, include_k: bool) -> list[int]:
    """1, 2, 4, ... below ``k`` (and ``k`` itself when asked)."""
    out = [p for p in (2**i for i in range(20)) if p < k]
    return out + [k] if include_k else out


def search_curve(
    x: np.ndarray, qs: np.ndarray, *, k: int, self_rows: np.ndarray | None = None, top: int = 10,
    nprobes: Sequence[int] | None = None, seed: int = 0, fit_sample: int = FIT_SAMPLE, label: str = "",
) -> dict:
    """Exact vs nearest-centroid search of queries ``qs`` over faces ``x``: latency, comparisons, recall per nprobe.

    ``self_rows[i]``, when given, is the row of ``x`` that query i is (left out of both searches).
    Query timings run with BLAS/OpenMP limited to one thread: one query, one core.
    """
    n = len(x)
    built = build_search_index(x, k, seed=seed, fit_sample=fit_sample)
    zq = project(built.pca, qs, S.DEFAULT_DIMS)
    probes = list(nprobes) if nprobes else nprobe_ladder(k, include_k=n <= 10_000)
    probes = [p for p in probes if 1 <= p <= k]
    exact_t, truth = [], []
    rows = []
    with threadpool_limits(1):
        for i, q in enumerate(qs):
            ex = None if self_rows is None else int(self_rows[i])
            t = time.perf_counter()
            res = exact_search(built.x, q, top=top, exclude=ex, sq_norms=built.sq)
            exact_t.append(time.perf_counter() - t)
            truth.append(res.indices)
        for p in probes:
            lat, comps, rec = [], [], []
            for i, q in enumerate(qs):
                ex = None if self_rows is None else int(self_rows[i])
                t = time.perf_counter()
                res = cluster_search(built.index, zq[i], built.x, q, nprobe=p, top=top, exclude=ex)
                lat.append(time.perf_counter() - t)
                comps.append(res.comparisons)
                rec.append(recall(res.indices, truth[i]))
            rows.append({"nprobe": p, "recall": float(np.mean(rec)), "recall_min": float(np.min(rec)),
                         "comparisons": float(np.mean(comps)), "latency_ms": 1000 * float(np.median(lat)),
                         "fewer_comparisons": n / float(np.mean(comps))})
    sizes = built.index.sizes()
    return {"n": n, "label": label, "k": k, "queries": len(qs), "top": top,
            "exact_latency_ms": 1000 * float(np.median(exact_t)), "exact_comparisons": n, "build": built.timings,
            "cluster_size_min": int(sizes.min()), "cluster_size_max": int(sizes.max()),
            "cluster_size_median": float(np.median(sizes)), "nprobe": rows}



def search_one_size(
    real: np.ndarray, std: np.ndarray, n: int, *, queries: int = 100, k: int | None = None, top: int = 10,
    nprobes: Sequence[int] | None = None, seed: int = 0, fit_sample: int = FIT_SAMPLE, kind: str = "around-real",
    persons: Sequence[str | None] | None = None,
) -> dict:
    """:func:`search_curve` over ``n`` synthetic faces, with ``queries`` fresh synthetic draws as queries.

    ``kind="around-real"``: faces drawn around the real encodings (:func:`synthetic_faces`).
    ``kind="identities"``: faces of new people (:func:`synthetic_identities`, needs ``persons``); each
    query is a new photo of one of those people.
    """
    if kind == "around-real":
        x = synthetic_faces(real, std, n, seed)
        qs = synthetic_faces(real, std, queries, seed + 1_000_003)  # new draws: queries are not in the set
        label = f"{n:,} synthetic around real"
    elif kind == "identities":
        if persons is None:
            raise ValueError("kind='identities' needs the persons of the real faces")
        x, centres = synthetic_identities(real, persons, std, n, seed=seed)
        rng = np.random.default_rng(seed + 1_000_003)
        qs = centres[rng.integers(0, len(centres), queries)]
        qs = qs + rng.standard_normal(qs.shape, dtype=np.float32) * std
        label = f"{n:,} synthetic identities"
    else:
        raise ValueError(f"kind must be one of {SYNTHETIC_KINDS}, got {kind!r}")
    out = search_curve(x, qs, k=k or auto_k(n), top=top, nprobes=nprobes, seed=seed, fit_sample=fit_sample,
                       label=label)
    out["kind"] = kind
    return out


def search_real(real: np.ndarray, *, queries: int | None = None, k: int | None = None, top: int = 10,
                nprobes: Sequence[int] | None = None, seed: int = 0) -> dict:
    """:func:`search_curve` over the real encodings, each query a real face left out of its own results."""
    x = np.ascontiguousarray(real, dtype=np.float32)
    rows = np.arange(len(x))
    if queries is not None and queries < len(x):
        rows = np.sort(np.random.default_rng(seed).choice(len(x), queries, replace=False))
    return search_curve(x, x[rows], k=k or auto_k(len(x)), self_rows=rows, top=min(top, len(x) - 1),
                        nprobes=nprobes, seed=seed, label=f"{len(x):,} real (leave-one-out)")


def _size_table(r: dict) -> Table:
    """One face set's table: exact search and every nprobe, with recall, comparisons and latency."""
    b = r["build"]
    t = Table(f"{r['label']} faces, K={r['k']} ({b['kmeans']}; cluster sizes {r['cluster_size_min']}.."
              f"{r['cluster_size_max']}, median {r['cluster_size_median']:.0f}), {r['queries']:,} queries",
              ["search", "recall@" + str(r["top"]), "min recall", "comparisons", "fewer than exact", "median ms"])
    t.rows.append(["exact", "1.000", "1.000", count(r["n"]), "1.0x", ms(r["exact_latency_ms"] / 1000)])
    for row in r["nprobe"]:
        t.rows.append([f"nprobe={row['nprobe']}", f"{row['recall']:.3f}", f"{row['recall_min']:.2f}",
                       count(row["comparisons"]), f"{row['fewer_comparisons']:.1f}x", ms(row["latency_ms"] / 1000)])
    t.note = (f"Build: PCA fit {b['pca_fit_s']:.2f} s, projection {b['project_s']:.2f} s, K-means "
              f"{b['kmeans_fit_s']:.2f} s, assignment {b['assign_s']:.2f} s, index {b['index_s']:.2f} s.")
    return t


def _summary_row(r: dict, target_recall: float) -> list[str]:
    """The smallest nprobe of one face set that reaches ``target_recall``, as a summary row."""
    b = r["build"]
    build_s = b["pca_fit_s"] + b["project_s"] + b["kmeans_fit_s"] + b["assign_s"] + b["index_s"]
    head = [r["label"], str(r["k"]), ms(r["exact_latency_ms"] / 1000)]
    ok = [row for row in r["nprobe"] if row["recall"] >= target_recall]
    if not ok:
        return head + ["none reached", "-", "-", "-", "-", secs(build_s)]
    best = ok[0]
    return head + [str(best["nprobe"]), f"{best['recall']:.3f}", count(best["comparisons"]),
                   f"{best['fewer_comparisons']:.1f}x", ms(best["latency_ms"] / 1000), secs(build_s)]


def bench_search(
    real: np.ndarray, persons: Sequence[str | None], sizes: Sequence[int] = SEARCH_SIZES, *,
    queries: int = 100, k: int | None = None, nprobes: Sequence[int] | None = None, top: int = 10, seed: int = 0,
    fit_sample: int = FIT_SAMPLE, target_recall: float = 0.95, real_queries: int | None = None,
    kinds: Sequence[str] = ("around-real",),
) -> Report:
    """The real encodings (leave-one-out) and :func:`search_one_size` for each size and synthetic kind;
    a summary at ``target_recall``."""
    load_before = load_avg()
    std = within_person_std(real, persons)
    results = [search_real(real, queries=real_queries, k=k, top=top, nprobes=nprobes, seed=seed)]
    results[0]["kind"] = "real"
    for kind in kinds:
        for n in sizes:
            results.append(search_one_size(real, std, n, queries=queries, k=k, top=top, nprobes=nprobes, seed=seed,
                                           fit_sample=fit_sample, kind=kind, persons=persons))
    summary = Table(f"Search summary: smallest nprobe whose mean recall of the exact top-{top} is >= {target_recall}",
                    ["faces", "K", "exact ms", "nprobe", "recall", "comparisons", "fewer comparisons", "cluster ms",
                     "build s (PCA + K-means + assign)"])
    summary.rows = [_summary_row(r, target_recall) for r in results]
    summary.note = (f"Synthetic around real: a random real encoding + Gaussian noise with the within-person spread "
                    f"per dimension (norm of the std vector {float(np.linalg.norm(std)):.3f}); queries are fresh "
                    f"draws. Synthetic identities: N/16 new people drawn from a Gaussian fitted to the real persons' "
                    f"means, 16 faces each with the same within-person noise; queries are new faces of those "
                    f"people. Real: every real face as a query, left out of its own results. Latencies: one "
                    f"thread, median. Load average before: {load_before}, after: {load_avg()}.")
    return Report("search", tables=[summary] + [_size_table(r) for r in results],
                  data={"sizes": list(sizes), "results": results, "target_recall": target_recall,
                        "noise_std_norm": float(np.linalg.norm(std))})
