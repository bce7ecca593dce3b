"""Scale tests: a large importable set of faces, and encoding on a Dask LocalCluster against the local pool.

``faces``: writes N encodings as an ``.npz`` that ``python -m facecore import``
(and the app) loads: each is a real encoding of the shared photos plus
Gaussian noise with the pooled within-person spread (:mod:`bench.synthetic`),
and keeps that face's photo path, person, digest and box, so hover pictures
and thumbnails come from the real photo. The file has the export's format
(:func:`facecore.exchange.encodings_npz`); copy ``k`` of a face is face
number ``k`` of its photo, so no two rows collide::

  .venv/bin/python -m bench.scale faces --n 100000 --out /tmp/scale-100k.npz \\
      --dataset ../shared/datasets/celeba-wild --cache /work/cache/celeba.sqlite
  .venv/bin/python -m facecore import /tmp/scale-100k.npz --root ../shared/datasets/celeba-wild

``dask``: the same sample of photos encoded, into fresh caches, by the local
process pool, a ``LocalCluster`` (``--scheduler local:N``) with paths, and
the same cluster with the photos' bytes shipped (``--ship-bytes``), taking
turns over blocks of photos so that changes of load hit them alike; plus the
cold starts, the engine's own cost per batch (a no-op task with 4 paths vs 4
photos' bytes), and the client's cost per photo, which bounds what any number
of workers can do::

  .venv/bin/python -m bench.scale dask --photos 240 --workers 2 --dataset ../shared/datasets/celeba-wild

Only public facecore names are used.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from facecore import EncoderSettings, EncodingStore, Face, FaceSet, ImageRef, encode_images
from facecore import settings as S
from facecore.exchange import encodings_npz
from facecore.workers import LocalPool, shutdown_pools, worker_pids

from .machine import cpu_seconds
from .photos import real_faceset, sample_refs
from .report import Report, Table, load_avg, secs
from .synthetic import synthetic_faces, within_person_std

# --------------------------------------------------------------------------- faces


def scale_faceset(real: FaceSet, root: str | os.PathLike[str], n: int, *, noise: float = 1.0, seed: int = 0) -> FaceSet:
    """``n`` faces around the real ones of ``real`` (photos under ``root``): every real face in turn, plus noise.

    The noise is N(0, ``noise`` x the pooled within-person std) per dimension,
    drawn by :func:`bench.synthetic.synthetic_faces` (around a zero row, then
    added to the chosen real face). Face ``i`` copies real face ``order[i % m]``
    (a fixed permutation), so each real face appears ``n / m`` times, as face
    number ``copy * F + its number`` of its photo (``F``: most faces in a photo).
    """
    m = len(real)
    std = within_person_std(real.encodings, real.persons) * np.float32(noise)
    order = np.random.default_rng(seed).permutation(m)
    src = order[np.arange(n) % m]
    x = synthetic_faces(np.zeros((1, real.encodings.shape[1]), np.float32), std, n, seed=seed)
    x += real.encodings[src]
    per_photo = 1 + max(f.in_photo for f in real.faces)
    copy = np.arange(n) // m
    base = Path(root).resolve()
    faces = tuple(
        Face(f.digest, str(base / f.name), int(c) * per_photo + f.in_photo, f.box, f.person)
        for f, c in zip((real.faces[i] for i in src.tolist()), copy.tolist(), strict=True)
    )
    return FaceSet(faces=faces, encodings=x, images=len({f.digest for f in faces}), skipped=(),
                   settings_key="synthetic")  # fmt: skip


def write_scale_file(dataset: str, cache: str, n: int, out: Path, *, noise: float = 1.0, seed: int = 0) -> dict:
    """Encode (through ``cache``) the photos of ``dataset``, write ``n`` faces around them to ``out``; return facts."""
    t = time.perf_counter()
    real = real_faceset(dataset, cache)
    t_real = time.perf_counter() - t
    t = time.perf_counter()
    fs = scale_faceset(real, dataset, n, noise=noise, seed=seed)
    data = encodings_npz(fs)
    out.write_bytes(data)
    return {"faces": n, "real_faces": len(real), "photos": fs.images, "noise": noise, "seed": seed,
            "seconds_real": round(t_real, 3), "seconds_write": round(time.perf_counter() - t, 3),
            "bytes": len(data), "out": str(out)}  # fmt: skip


# --------------------------------------------------------------------------- dask vs local pool


class Run:
    """Wall and CPU seconds summed over the blocks of one configuration."""

    def __init__(self, label: str) -> None:
        self.label, self.seconds, self.cpu, self.photos, self.faces, self.loads = label, 0.0, 0.0, 0, 0, []

    def row(self, workers: int) -> list[str]:
        cpu = self.cpu / self.photos
        return [self.label, secs(self.seconds), f"{self.photos / self.seconds:.2f}", f"{cpu:.3f}",
                f"{workers / cpu:.2f}", str(self.faces), f"{np.mean(self.loads):.1f}"]  # fmt: skip


def _encode(refs: Sequence[ImageRef], backend, pids: Callable[[], list[int]]) -> tuple[float, float, FaceSet]:
    """Encode into a fresh cache; return wall s, CPU s (this process + the workers), the set."""
    with tempfile.TemporaryDirectory(prefix="facecore-scale-") as tmp:
        store = EncodingStore(Path(tmp) / "cache.sqlite")
        cpu = time.process_time() + cpu_seconds(pids())
        t = time.perf_counter()
        fs = encode_images(refs, EncoderSettings(), store, backend=backend)
        dt = time.perf_counter() - t
        return dt, time.process_time() + cpu_seconds(pids()) - cpu, fs


def _batch_overhead(client, refs: Sequence[ImageRef], tasks: int = 60) -> dict:
    """Seconds per no-op task carrying 4 photo paths vs the same 4 photos' bytes (submit -> result), and bytes/photo."""
    items = [(r.name, r.path, None) for r in refs[:4]]
    shipped = [(r.name, None, r.read_bytes()) for r in refs[:4]]
    out = {"bytes_per_photo": float(np.mean([len(d) for _, _, d in shipped]))}
    for label, batch in (("path", items), ("bytes", shipped)):
        client.submit(len, batch, pure=False).result()  # warm the comms
        t = time.perf_counter()
        futs = [client.submit(len, batch, pure=False) for _ in range(tasks)]
        client.gather(futs)
        out[f"s_per_task_{label}"] = (time.perf_counter() - t) / tasks
    return out


def bench_dask(dataset: str, photos: int, workers: int, *, blocks: int = 3, seed: int = 0) -> Report:
    """Local pool vs a LocalCluster of ``workers`` processes (paths, then bytes) on the same ``photos`` photos."""
    from facecore.dask_backend import DaskBackend, close_clusters, connect

    refs = sample_refs(dataset, photos, seed)
    before = load_avg()
    shutdown_pools()
    t = time.perf_counter()
    pool = LocalPool(workers)
    dt_cold_pool, _, _ = _encode(refs[:workers * 4], pool, worker_pids)
    cold_pool = time.perf_counter() - t
    t = time.perf_counter()
    scheduler = f"local:{workers}"
    client = connect(scheduler)
    dask_pids = list(client.run(os.getpid).values())
    start_cluster = time.perf_counter() - t
    paths = DaskBackend.for_refs(client, refs)
    shipped = DaskBackend.for_refs(client, refs, ship_bytes=True)
    dt_cold_dask, _, _ = _encode(refs[:workers * 4], paths, lambda: dask_pids)
    configs = [(Run(f"local pool, {workers} processes (warm)"), pool, worker_pids),
               (Run(f"LocalCluster {scheduler}, workers read paths (warm)"), paths, lambda: dask_pids),
               (Run(f"LocalCluster {scheduler}, --ship-bytes (warm)"), shipped, lambda: dask_pids)]  # fmt: skip
    order = list(refs)
    np.random.default_rng(seed + 1).shuffle(order)
    encodings: dict[str, np.ndarray] = {}
    for b in range(blocks):
        part = sorted(order[b::blocks], key=lambda r: r.name)
        for run, backend, pids in configs[b % 3:] + configs[: b % 3]:  # each goes first in turn
            run.loads.append(os.getloadavg()[0])
            dt, cpu, fs = _encode(part, backend, pids)
            run.seconds, run.cpu, run.photos, run.faces = run.seconds + dt, run.cpu + cpu, run.photos + len(part), \
                run.faces + len(fs)  # fmt: skip
            encodings[run.label] = np.concatenate([encodings.get(run.label, np.empty((0, 128), np.float32)),
                                                   fs.encodings])  # fmt: skip
    ref_enc = encodings[configs[0][0].label]
    same = all(np.array_equal(e, ref_enc) for e in encodings.values())
    overhead = _batch_overhead(client, refs)
    # the client's share: reading + hashing + cache lookups + writes + unpickling, measured on a cached re-run
    worker_cpu = {}
    with tempfile.TemporaryDirectory(prefix="facecore-scale-") as tmp:
        store = EncodingStore(Path(tmp) / "cache.sqlite")
        c0, w0 = time.process_time(), cpu_seconds(dask_pids)
        t = time.perf_counter()
        encode_images(refs, EncoderSettings(), store, backend=paths)
        client_run = (time.perf_counter() - t, time.process_time() - c0, cpu_seconds(dask_pids) - w0)
        n = len(refs)
        worker_cpu = {"client_cpu_per_photo": client_run[1] / n, "worker_cpu_per_photo": client_run[2] / n,
                      "wall_per_photo": client_run[0] / n}  # fmt: skip
    close_clusters()
    shutdown_pools()
    table = Table(
        f"Encoding {photos} photos: local pool vs Dask LocalCluster, {workers} worker processes of one thread",
        ["run", "wall s", "photos/s", "CPU s/photo (client + workers)", f"photos/s if CPU-bound on {workers} cores",
         "faces", "load avg"],
        [run.row(workers) for run, _, _ in configs],
        note=(f"Turns over {blocks} blocks of photos (each run first in turn), each into a fresh cache. "
              f"Cold: the first {workers * 4} photos "
              f"with the pool started inside the timing took {secs(cold_pool)} s; starting the LocalCluster took "
              f"{secs(start_cluster)} s, then its first {workers * 4} photos {secs(dt_cold_dask)} s (models loaded "
              f"on first use). Encodings of the three runs bit-identical: {same}. "
              f"Load average (1, 5, 15 min) before: {before}, after: {load_avg()}."),
    )
    o_path, o_bytes, kb = overhead["s_per_task_path"], overhead["s_per_task_bytes"], overhead["bytes_per_photo"] / 1e3
    per = Table("The engine's cost per batch of 4 photos (no-op task, submit to result, 60 tasks)",
                ["what the task carries", "ms per task", "ms per photo"],
                [["4 paths", f"{o_path * 1e3:.2f}", f"{o_path * 250:.2f}"],
                 [f"4 photos' bytes ({kb:.0f} kB each on average)", f"{o_bytes * 1e3:.2f}", f"{o_bytes * 250:.2f}"]])
    data = {"photos": photos, "workers": workers, "blocks": blocks, "bit_identical": same,
            "cold_pool_s": cold_pool, "cold_pool_first_s": dt_cold_pool, "start_cluster_s": start_cluster,
            "cold_cluster_first_s": dt_cold_dask, "overhead": overhead, "per_photo": worker_cpu,
            "runs": [{"label": r.label, "seconds": r.seconds, "cpu": r.cpu, "photos": r.photos, "faces": r.faces,
                      "load": float(np.mean(r.loads))} for r, _, _ in configs],
            "load_before": before, "load_after": load_avg()}  # fmt: skip
    return Report("scale-dask", [table, per], data)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    f = sub.add_parser("faces", help="write N faces around the real ones as an importable .npz")
    f.add_argument("--n", type=int, default=100_000)
    f.add_argument("--out", type=Path, required=True)
    f.add_argument("--noise", type=float, default=1.0, help="x the pooled within-person std (default 1.0)")
    d = sub.add_parser("dask", help="local pool vs Dask LocalCluster on the same photos")
    d.add_argument("--photos", type=int, default=240)
    d.add_argument("--workers", type=int, default=2)
    d.add_argument("--blocks", type=int, default=3)
    for sp in (f, d):
        sp.add_argument("--dataset", default=str(S.default_dataset_path()))
        sp.add_argument("--cache", default="/tmp/bench-cache.sqlite", help="encoding cache of the real faces")
        sp.add_argument("--seed", type=int, default=0)
        sp.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    if args.command == "faces":
        out = write_scale_file(args.dataset, args.cache, args.n, args.out, noise=args.noise, seed=args.seed)
        print(json.dumps(out, indent=2) if args.json else
              f"{out['faces']:,} faces of {out['photos']:,} photos -> {out['out']} ({out['bytes'] / 1e6:.1f} MB)")
        return 0
    rep = bench_dask(args.dataset, args.photos, args.workers, blocks=args.blocks, seed=args.seed)
    print(json.dumps(rep.as_dict(), indent=2) if args.json else "\n\n".join(t.markdown() for t in rep.tables))
    return 0


if __name__ == "__main__":
    sys.exit(main())
