"""Command line: ``python -m facecore encode|similar|evaluate|cache``.

Human-readable output by default (with a progress bar on stderr), one JSON
object with ``--json``. Any facecore error ends the run with exit code 2 and
one clear line on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from . import settings as S
from .errors import FaceCoreError, NotEnoughFacesError, UnreadableImageError
from .faceset import FaceSet, Progress, encode_images
from .photos.datasets import open_dataset
from .photos.folders import allowed_roots_from_env
from .photos.imaging import silence_bomb_warnings
from .photos.refs import ImageRef, content_digest, display_name
from .settings import EncoderSettings
from .storage.deletion import clear_cache, delete_set
from .storage.encodings import EncodingStore

# PCA, K-means, grouping and their scikit-learn/scipy imports (~2 CPU s) load inside the commands that use
# them: `encode` starts its workers without them.


def _progress_bar(quiet: bool):
    """A one-line progress bar on stderr, redrawn at most 5 times a second; silent for runs under half a second."""
    if quiet:
        return None
    drawn = [0.0]  # when the bar was last drawn (0: never)

    def show(p: Progress) -> None:
        finished = p.done >= p.total
        if p.elapsed < 0.5 and not (finished and drawn[0]):
            return
        now = time.monotonic()
        if now - drawn[0] < 0.2 and not finished:
            return
        drawn[0] = now
        width = 30
        filled = int(width * p.done / p.total) if p.total else width
        rate = f", {p.rate:.1f} photos/s" if p.rate else ""
        eta = f", {p.eta:.0f} s left" if p.eta is not None and not finished else ""
        sys.stderr.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {p.done}/{p.total} photos, "
            f"{p.faces} faces, {p.cached} cached{rate}{eta}\033[K"
        )
        if finished:
            sys.stderr.write("\n")
        _bar_open[0] = not finished
        sys.stderr.flush()

    return show


_bar_open = [False]  # a progress bar line is on stderr without its newline yet


def _end_bar() -> None:
    """End an unfinished progress bar line, so an error message gets a line of its own."""
    if _bar_open[0]:
        sys.stderr.write("\n")
        _bar_open[0] = False


def _settings(args: argparse.Namespace) -> EncoderSettings:
    return EncoderSettings(
        detector=args.detector, detect_max_side=args.detect_max_side, all_faces=args.all_faces, jitters=args.jitters
    )


def _cluster_backend(args: argparse.Namespace, refs: list[ImageRef]):
    """The Dask backend of ``encode --scheduler`` (connected now, before any photo is read), else None."""
    if getattr(args, "scheduler", None) is None:
        return None
    from .encode.dask_backend import DaskBackend

    return DaskBackend.for_refs(args.scheduler, refs, ship_bytes=args.ship_bytes)


def load_faceset(dataset: str, args: argparse.Namespace) -> FaceSet:
    """Open, encode (through the cache) and return the faces of a folder or zip."""
    refs, skipped = open_dataset(dataset)
    if not refs:
        raise NotEnoughFacesError(f"No images found in {dataset!r}: point to a folder or zip of photos.")
    store = EncodingStore(args.cache)
    return encode_images(
        refs,
        _settings(args),
        store,
        workers=args.workers,
        backend=_cluster_backend(args, refs),
        skipped=skipped,
        on_progress=_progress_bar(args.json),
    )


def _need_faces(fs: FaceSet, dataset: str) -> None:
    """Refuse, with the reasons, a set too small to fit a model (PCA and K-means need 2 faces)."""
    if len(fs) >= 2:
        return
    why = ", ".join(f"{n} {r}" for r, n in fs.skip_counts().most_common()) or "nothing skipped"
    raise NotEnoughFacesError(
        f"n_faces={len(fs)} should be >= 2: {dataset!r} has {fs.images} files (skipped: {why}); add photos "
        f"with a visible face (`python -m facecore encode {dataset}` lists the skipped files and why)."
    )


def _check_dataset_arg(path: str) -> None:
    if not Path(path).exists():
        raise FaceCoreError(f"Dataset {path!r} does not exist: give a folder or a .zip file.")


def cmd_encode(args: argparse.Namespace) -> dict:
    _check_dataset_arg(args.dir)
    fs = load_faceset(args.dir, args)
    return {
        "images": fs.images,
        "faces": len(fs),
        "encoded": fs.encoded,
        "cached": fs.cached,
        "skipped": [{"path": s.path, "reason": s.reason, "detail": s.detail} for s in fs.skipped],
        "seconds": round(fs.seconds, 3),
        "cache": str(args.cache),
    }


def cmd_import(args: argparse.Namespace) -> dict:
    from .photos.exchange import read_encodings
    from .storage.imported_sets import write_imported
    roots = args.root or allowed_roots_from_env()
    found = read_encodings(args.file, roots, name=args.name)  # all checks first: a refused file writes nothing
    fs = write_imported(found, EncodingStore(args.cache))
    return {"key": found.key, "faces": len(fs), "photos": fs.images, "name": found.name,
            "allowed_roots": [str(r) for r in roots], "cache": str(args.cache)}  # fmt: skip


def _hits(fs: FaceSet, indices: np.ndarray, dists: np.ndarray) -> list[dict]:
    return [{"path": fs.faces[i].name, "distance": round(float(d), 4)} for i, d in zip(indices, dists, strict=True)]


def _fit(fs: FaceSet, args: argparse.Namespace):
    """The model of ``--dims``/``--k``; with ``--nprobe auto``, K and nprobe chosen for ``--recall`` first
    (args.k and args.nprobe are set to the choice). Returns ``(model, tuning or None)``."""
    from .search.similarity import fit_model
    from .search.tuning import tune_search
    tuning = None
    if args.nprobe == "auto":
        tuning = tune_search(fs.encodings, target=args.recall, top=args.top, dims=args.dims)
        args.k, args.nprobe = tuning.k, tuning.nprobe
    return fit_model(fs.encodings, dims=args.dims, k=args.k), tuning


def _tuning_out(tuning) -> dict | None:
    if tuning is None:
        return None
    return {"k": tuning.k, "nprobe": tuning.nprobe, "recall": round(tuning.recall, 4), "target": tuning.target,
            "reached": tuning.reached, "comparisons": round(tuning.comparisons, 1),
            "exact_comparisons": tuning.exact_comparisons, "queries": tuning.queries}  # fmt: skip


def cmd_similar(args: argparse.Namespace) -> dict:
    from .encode.encoding import encode_query
    from .search.similarity import find_similar
    _check_dataset_arg(args.dataset)
    query = Path(args.query)
    if not query.is_file():
        raise FaceCoreError(f"Query {args.query!r} is not a file: give the path of a photo.")
    fs = load_faceset(args.dataset, args)
    _need_faces(fs, args.dataset)
    model, tuning = _fit(fs, args)
    try:
        data = ImageRef(args.query, path=str(query)).read_bytes()
    except UnreadableImageError as exc:
        raise FaceCoreError(f"Query {args.query!r} cannot be read ({exc}): give the path of a photo.") from exc
    digest = content_digest(data)
    face = next((i for i, f in enumerate(fs.faces) if f.digest == digest and f.in_photo == 0), None)
    if face is not None:
        res = find_similar(model, row=face, nprobe=args.nprobe, top=args.top)
    else:
        try:
            enc = encode_query(data, _settings(args)).encodings[0]
        except UnreadableImageError as exc:
            raise FaceCoreError(
                f"Query {args.query!r} cannot be used ({exc}): give a JPEG, PNG, WebP or HEIC photo."
            ) from exc
        res = find_similar(model, encoding=enc, nprobe=args.nprobe, top=args.top)
    far = res.farthest[: args.top]
    return {
        "query": args.query,
        "query_in_dataset": face is not None,
        "cluster": res.cluster,
        "clusters_probed": list(res.mates.clusters),
        "mates": _hits(fs, res.mates.indices, res.mates.distances),
        "farthest_cluster": {
            "id": res.farthest_cluster,
            "size": int(model.index.sizes()[res.farthest_cluster]),
            "paths": [fs.faces[i].name for i in far],
        },
        "k": model.k,
        "nprobe": args.nprobe,
        "tuning": _tuning_out(tuning),
        "comparisons": res.mates.comparisons,
        "exact_comparisons": res.exact.comparisons,
        "recall_of_exact": round(res.recall, 4),
        "exact": _hits(fs, res.exact.indices, res.exact.distances),
        "exact_pca": _hits(fs, res.exact_pca.indices, res.exact_pca.distances),
    }


def cmd_evaluate(args: argparse.Namespace) -> dict:
    from .search.evaluation import evaluate
    _check_dataset_arg(args.dataset)
    fs = load_faceset(args.dataset, args)
    _need_faces(fs, args.dataset)
    model, tuning = _fit(fs, args)
    ev = evaluate(model, fs.persons, top=args.top, nprobe=args.nprobe)
    out = {"images": fs.images, "faces": len(fs), "photos_with_face": fs.photos_with_face}
    out.update({k: (round(v, 4) if isinstance(v, float) else v) for k, v in ev.as_dict().items() if k != "faces"})
    out["dims"], out["k"] = args.dims, args.k
    out["tuning"] = _tuning_out(tuning)
    out["people"] = _people_scores(fs, model)
    return out


def _people_scores(fs: FaceSet, model) -> dict:
    """Persons found without K vs K-means at the chosen K (and at the true number of people), folders as
    people, and pairwise F at a sweep of thresholds: where to set the People page's slider."""
    from .people.faces import photo_ids
    from .people.report import people_report
    from .people.scores import score_labels, threshold_sweep
    report = people_report(fs)
    scores = {k: round(v, 4) if isinstance(v, float) else v for k, v in (report["scores"] or {}).items()}
    chosen = score_labels(fs.persons, model.labels)
    thresholds = [round(0.45 + 0.025 * i, 3) for i in range(9)]
    sweep = threshold_sweep(fs.encodings, photo_ids(fs), fs.persons, thresholds)
    return {
        "threshold": report["threshold"],
        "persons_found": len(report["persons"]),
        "unsorted": len(report["unsorted"]),
        **scores,
        "kmeans_chosen_k": model.k,
        "kmeans_chosen_pairwise_f": round(chosen.pairwise_f, 4),
        "kmeans_chosen_bcubed_f": round(chosen.bcubed_f, 4),
        "sweep": [{"threshold": p.threshold, "pairwise_f": round(p.scores.pairwise_f, 4),
                   "bcubed_f": round(p.scores.bcubed_f, 4), "persons": p.persons} for p in sweep if p.scores],
    }


def cmd_people(args: argparse.Namespace) -> dict:
    from .people.corrections import load_corrections
    from .people.report import people_report
    _check_dataset_arg(args.dir)
    fs = load_faceset(args.dir, args)
    _need_faces(fs, args.dir)
    constraints = load_corrections(EncodingStore(args.cache), fs)  # names and fixes made in the app
    return people_report(fs, args.threshold, args.min_size, constraints=constraints)


def cmd_cache(args: argparse.Namespace) -> dict:
    store = EncodingStore(args.cache)
    if args.action == "clear":
        clear_cache(store)
    elif args.action == "delete":
        if not args.dir:
            raise FaceCoreError("cache delete needs the folder or zip whose encodings to delete.")
        refs, _ = open_dataset(args.dir)
        digests = []
        for r in refs:
            try:
                digests.append(content_digest(r.read_bytes()))
            except FaceCoreError:
                continue
        return {"deleted_images": delete_set(store, digests), "cache": str(store.path), **store.stats()}
    return {"cache": str(store.path), **store.stats()}


def _print_human(command: str, out: dict) -> None:
    if command == "encode":
        print(f"{out['images']} photos, {out['faces']} faces ({out['encoded']} encoded, {out['cached']} from cache) "
              f"in {out['seconds']:.1f} s; cache: {out['cache']}")
        for s in out["skipped"]:
            print(f"  skipped {s['path']}: {s['reason']}" + (f" ({s['detail']})" if s["detail"] else ""))
    elif command == "import":
        print(f"Imported {out['faces']} faces of {out['photos']} photos as {out['name']!r} (key {out['key']}) "
              f"into {out['cache']}")
    elif command == "people":
        for p in out["persons"]:
            print(f"person {p['id']:4d}  {p['size']:5d} faces  {p['name'] or ''}")
        print(f"{len(out['persons'])} persons, {len(out['unsorted'])} faces unsorted (threshold {out['threshold']})")
        if out["scores"]:
            sc = out["scores"]
            print(f"folders as people: pairwise F {sc['pairwise_f']:.3f}, BCubed F {sc['bcubed_f']:.3f}; "
                  f"K-means with the true K={sc['kmeans_k']}: pairwise F {sc['kmeans_pairwise_f']:.3f}")
    elif command == "similar":
        print(f"Query {out['query']}: nearest cluster {out['cluster']}, {out['comparisons']} comparisons "
              f"instead of {out['exact_comparisons']}; kept {out['recall_of_exact']:.0%} of the exact top.")
        print("Cluster mates (distance < 0.6 usually means the same person):")
        for h in out["mates"]:
            print(f"  {h['distance']:.3f}  {h['path']}")
        print("Exact ranking over all faces:")
        for h in out["exact"]:
            print(f"  {h['distance']:.3f}  {h['path']}")
        fc = out["farthest_cluster"]
        print(f"Farthest cluster {fc['id']} ({fc['size']} faces): " + ", ".join(fc["paths"][:5]))
    else:
        for key, value in out.items():
            if key not in ("confused_pairs", "people"):
                print(f"{key:28s} {value}")
        pp = out.get("people", {})  # `cache` has no people figures
        if "pairwise_f" in pp:
            print(f"People (no K, threshold {pp['threshold']}): {pp['persons_found']} persons, pairwise F "
                  f"{pp['pairwise_f']:.3f}, BCubed F {pp['bcubed_f']:.3f}; K-means K={pp['kmeans_chosen_k']}: "
                  f"{pp['kmeans_chosen_pairwise_f']:.3f} / {pp['kmeans_chosen_bcubed_f']:.3f}; "
                  f"K-means true K={pp['kmeans_k']}: {pp['kmeans_pairwise_f']:.3f} / {pp['kmeans_bcubed_f']:.3f}")
        if out.get("confused_pairs"):
            print("Most confused folders (each other's nearest faces; often one person filed twice):")
            for c in out["confused_pairs"]:
                print(f"  {c['share']:6.1%}  {c['a']} ~ {c['b']}  ({c['results']} results)")


def _nprobe(text: str) -> int | str:
    """``--nprobe``: a number of groups, or ``auto`` (K and nprobe tuned for ``--recall``)."""
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number or 'auto', got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m facecore", description=__doc__.splitlines()[0])
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--cache", type=Path, default=S.default_cache_path(),
                        help="encoding cache file (default: $FACECORE_CACHE or ~/.cache/facecore/encodings.sqlite)")
    common.add_argument("--json", action="store_true", help="print one JSON object")
    common.add_argument("--detector", choices=S.DETECTORS, default=EncoderSettings.detector)
    common.add_argument("--detect-max-side", type=int, default=S.DEFAULT_DETECT_MAX_SIDE)
    common.add_argument("--all-faces", action="store_true", help="every face of a photo, not only the largest")
    common.add_argument("--jitters", type=int, default=EncoderSettings.jitters,
                        help="re-sample each face n times (slower, slightly better)")
    common.add_argument("--workers", type=int, default=None, help="encoding processes (default: all CPUs)")
    model = argparse.ArgumentParser(add_help=False)
    model.add_argument("--dims", type=int, default=S.DEFAULT_DIMS, help=f"PCA dimensions (default {S.DEFAULT_DIMS})")
    model.add_argument("--k", type=int, default=S.DEFAULT_K, help=f"K-means clusters (default {S.DEFAULT_K})")
    model.add_argument("--recall", type=float, default=S.SEARCH_RECALL,
                       help=f"with --nprobe auto: the share of the exact top to keep (default {S.SEARCH_RECALL})")
    model.add_argument("--nprobe", type=_nprobe, default=S.DEFAULT_NPROBE,
                       help=f"clusters to scan (default {S.DEFAULT_NPROBE})")
    sub = p.add_subparsers(dest="command", required=True)
    sub.metavar = "COMMAND"  # the list of commands no longer fits the 80-column usage line (its errors stay 2 lines)
    e = sub.add_parser("encode", parents=[common], help="encode every face of a folder or zip")
    e.add_argument("dir")
    e.add_argument("--scheduler", default=None, metavar="tcp://HOST:8786|local:N",
                   help="encode on a Dask cluster (needs requirements-cluster.txt); local:N starts N local workers")
    e.add_argument("--ship-bytes", action="store_true",
                   help="with --scheduler: send the photos' bytes to the workers instead of their paths")
    im = sub.add_parser("import", help="load encodings made elsewhere (.npz as exported, or .parquet) into the cache")
    im.add_argument("file")
    im.add_argument("--root", action="append", type=Path, default=None, metavar="DIR",
                    help="a folder the photos' paths must lie in (repeat for more; relative paths start at the first);"
                         " default: $FACECORE_ALLOWED_ROOTS and the shared dataset")
    im.add_argument("--name", default=None, help="the set's name (default: the file's name)")
    im.add_argument("--cache", type=Path, default=S.default_cache_path(), help="encoding cache file")
    im.add_argument("--json", action="store_true", help="print one JSON object")
    s = sub.add_parser("similar", parents=[common, model], help="faces most like a query photo")
    s.add_argument("--dataset", required=True)
    s.add_argument("--query", required=True)
    s.add_argument("--top", type=int, default=S.DEFAULT_TOP)
    v = sub.add_parser("evaluate", parents=[common, model], help="same-person precision on DIR/<person>/*.jpg")
    v.add_argument("--dataset", required=True)
    v.add_argument("--top", type=int, default=S.DEFAULT_EVAL_TOP)
    g = sub.add_parser("people", parents=[common], help="group faces into persons (no K needed)")
    g.add_argument("dir")
    g.add_argument("--threshold", type=float, default=S.PEOPLE_THRESHOLD,
                   help=f"how close a person's faces are on average (default {S.PEOPLE_THRESHOLD})")
    g.add_argument("--min-size", type=int, default=S.PEOPLE_MIN_SIZE,
                   help=f"faces a person needs; smaller groups are unsorted (default {S.PEOPLE_MIN_SIZE})")
    c = sub.add_parser("cache", parents=[common], help="show, clear, or delete a dataset's encodings")
    c.add_argument("action", choices=["info", "clear", "delete"], nargs="?", default="info")
    c.add_argument("dir", nargs="?")
    return p


def main(argv: list[str] | None = None) -> int:
    silence_bomb_warnings()  # huge images are reported in the result, not as Pillow warnings
    parser = build_parser()
    args = parser.parse_args(argv)
    for name in ("dims", "k", "nprobe", "top", "workers", "detect_max_side", "jitters", "min_size"):
        value = getattr(args, name, None)
        if isinstance(value, int) and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {value}")
    handlers = {"encode": cmd_encode, "similar": cmd_similar, "evaluate": cmd_evaluate, "people": cmd_people,
                "cache": cmd_cache}  # fmt: skip
    handlers["import"] = cmd_import
    if getattr(args, "ship_bytes", False) and args.scheduler is None:
        parser.error("--ship-bytes needs --scheduler")
    try:
        out = handlers[args.command](args)
    except (FaceCoreError, ValueError) as exc:
        _end_bar()
        print(f"error: {display_name(str(exc))}", file=sys.stderr)  # always one line
        return 2
    except KeyboardInterrupt:
        _end_bar()
        print("error: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        _end_bar()
        print("error: out of memory: try fewer or smaller photos, or --workers 1", file=sys.stderr)
        return 2
    except OSError as exc:  # disk full, permission denied on an output, ...: one line, not a traceback
        _end_bar()
        where = f": {exc.filename}" if exc.filename else ""
        print(display_name(f"error: {exc.strerror or exc}{where}"), file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        _print_human(args.command, out)
    return 0
