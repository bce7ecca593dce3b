"""Scale tests: a large importable set of faces, and encoding on a Dask LocalCluster against the local pool.

``faces``: writes N encodings as an ``.npz`` that ``python -m facecore import``
(and the app) loads: each is a real encoding of the shared photos plus
Gaussian noise with the pooled within-person spread (:mod:`bench.synthetic`),
and keeps that face's photo path, person, digest and box, so hover pictures
and thumbnails come from the real photo. The file has the export's format
(:func:`facecore.photos.exchange.encodings_npz`); copy ``k`` of a face is face
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

from facecore import (
    EncoderSettings,
    EncodingStore,
    Face,
    FaceSet,
    ImageRef,
    LocalPool,
    encode_images,
    encodings_npz,
    shutdown_pools,
    worker_pids,
)
from facecore import settings as S

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


def _take_turns(configs: list, refs: Sequence[ImageRef], blocks: int, seed: int) -> bool:
    """Run every configuration on each block of photos, each first in turn; True if all encodings are bit-identical."""
    order = list(refs)
    np.random.default_rng(seed + 1).shuffle(order)
    encodings: dict[str, list[np.ndarray]] = {}
    for b in range(blocks):
        part = sorted(order[b::blocks], key=lambda r: r.name)
        for run, backend, pids in configs[b % 3:] + configs[: b % 3]:
            run.loads.append(os.getloadavg()[0])
            dt, cpu, fs = _encode(part, backend, pids)
            run.seconds, run.cpu, run.photos, run.faces = (run.seconds + dt, run.cpu + cpu, run.photos + len(part),
                                                           run.faces + len(fs))  # fmt: skip
            encodings.setdefault(run.label, []).append(fs.encodings)
    first = np.concatenate(encodings[configs[0][0].label])
    return all(np.array_equal(np.concatenate(e), first) for e in encodings.values())


def _per_photo(refs: Sequence[ImageRef], backend, pids: list[int]) -> dict:
    """Wall, client CPU (reading, hashing, cache, unpickling, SQLite writes; here also the scheduler) and worker CPU
    seconds per photo of one fresh run."""
    with tempfile.TemporaryDirectory(prefix="facecore-scale-") as tmp:
        store = EncodingStore(Path(tmp) / "cache.sqlite")
        c0, w0, t = time.process_time(), cpu_seconds(pids), time.perf_counter()
        encode_images(refs, EncoderSettings(), store, backend=backend)
        n = len(refs)
        return {"wall_per_photo": (time.perf_counter() - t) / n, "client_cpu_per_photo": (time.process_time() - c0) / n,
                "worker_cpu_per_photo": (cpu_seconds(pids) - w0) / n}  # fmt: skip


def bench_dask(dataset: str, photos: int, workers: int, *, blocks: int = 3, seed: int = 0) -> Report:
    """Local pool vs a LocalCluster of ``workers`` processes (paths, then bytes) on the same ``photos`` photos."""
    from facecore import DaskBackend, close_clusters, connect

    refs = sample_refs(dataset, photos, seed)
    data: dict = {"photos": photos, "workers": workers, "blocks": blocks, "load_before": load_avg()}
    shutdown_pools()
    t = time.perf_counter()
    pool = LocalPool(workers)
    data["cold_pool_first_s"] = _encode(refs[:workers * 4], pool, worker_pids)[0]
    data["cold_pool_s"] = time.perf_counter() - t
    t = time.perf_counter()
    scheduler = f"local:{workers}"
    client = connect(scheduler)
    dask_pids = list(client.run(os.getpid).values())
    data["start_cluster_s"] = time.perf_counter() - t
    paths = DaskBackend.for_refs(client, refs)
    data["cold_cluster_first_s"] = _encode(refs[:workers * 4], paths, lambda: dask_pids)[0]
    shipped = DaskBackend.for_refs(client, refs, ship_bytes=True)
    configs = [(Run(f"local pool, {workers} processes (warm)"), pool, worker_pids),
               (Run(f"LocalCluster {scheduler}, workers read paths (warm)"), paths, lambda: dask_pids),
               (Run(f"LocalCluster {scheduler}, --ship-bytes (warm)"), shipped, lambda: dask_pids)]  # fmt: skip
    data["bit_identical"] = _take_turns(configs, refs, blocks, seed)
    data["overhead"] = _batch_overhead(client, refs)
    data["per_photo"] = _per_photo(refs, paths, dask_pids)
    close_clusters()
    shutdown_pools()
    data["load_after"] = load_avg()
    data["runs"] = [{"label": r.label, "seconds": r.seconds, "cpu": r.cpu, "photos": r.photos, "faces": r.faces,
                     "load": float(np.mean(r.loads))} for r, _, _ in configs]  # fmt: skip
    return Report("scale-dask", _dask_tables(data, [run for run, _, _ in configs]), data)


def _dask_tables(d: dict, runs: list[Run]) -> list[Table]:
    workers, first = d["workers"], d["workers"] * 4
    table = Table(
        f"Encoding {d['photos']} photos: local pool vs Dask LocalCluster, {workers} worker processes of one thread",
        ["run", "wall s", "photos/s", "CPU s/photo (client + workers)", f"photos/s if CPU-bound on {workers} cores",
         "faces", "load avg"],
        [run.row(workers) for run in runs],
        note=(f"Turns over {d['blocks']} blocks of photos (each run first in turn), each into a fresh cache. "
              f"Cold: the first {first} photos with the pool started inside the timing took "
              f"{secs(d['cold_pool_s'])} s; starting the LocalCluster took {secs(d['start_cluster_s'])} s, then its "
              f"first {first} photos {secs(d['cold_cluster_first_s'])} s (models loaded on first use). Encodings of "
              f"the three runs bit-identical: {d['bit_identical']}. Load average (1, 5, 15 min) before: "
              f"{d['load_before']}, after: {d['load_after']}."),
    )
    o = d["overhead"]
    o_path, o_bytes, kb = o["s_per_task_path"], o["s_per_task_bytes"], o["bytes_per_photo"] / 1e3
    per = Table("The engine's cost per batch of 4 photos (no-op task, submit to result, 60 tasks)",
                ["what the task carries", "ms per task", "ms per photo"],
                [["4 paths", f"{o_path * 1e3:.2f}", f"{o_path * 250:.2f}"],
                 [f"4 photos' bytes ({kb:.0f} kB each on average)", f"{o_bytes * 1e3:.2f}", f"{o_bytes * 250:.2f}"]])
    p = d["per_photo"]
    cost = Table("Per photo, one fresh run on the LocalCluster (paths)", ["wall s", "client CPU s", "worker CPU s"],
                 [[f"{p[k]:.4f}" for k in ("wall_per_photo", "client_cpu_per_photo", "worker_cpu_per_photo")]])
    return [table, per, cost]


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
