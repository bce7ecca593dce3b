"""``similar`` (the faces most like a query photo) and ``evaluate`` (same-person precision on
DIR/<person>/*.jpg, with the persons found without K beside K-means)."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from .. import settings as S
from ..errors import FaceCoreError, UnreadableImageError
from ..faceset import FaceSet
from ..photos.refs import ImageRef, content_digest
from ..storage.encodings import EncodingStore
from .common import check_dataset_arg, encoder_settings, fit, load_faceset, need_faces, tuning_out


def register(sub, common: argparse.ArgumentParser, model: argparse.ArgumentParser) -> dict:
    """Add ``similar`` and ``evaluate`` to the subparsers ``sub``; return ``{command: (run, show)}``."""
    s = sub.add_parser("similar", parents=[common, model], help="faces most like a query photo")
    s.add_argument("--dataset", required=True)
    s.add_argument("--query", required=True)
    s.add_argument("--top", type=int, default=S.DEFAULT_TOP)
    s.add_argument(
        "--face",
        type=_face_number,
        default=0,
        help="which face of the query photo to search with: 0 the largest (default), 1 the next, ...",
    )
    s.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="'same person' below this distance (default: measured on the set, as the Similar page)",
    )
    v = sub.add_parser("evaluate", parents=[common, model], help="same-person precision on DIR/<person>/*.jpg")
    v.add_argument("--dataset", required=True)
    v.add_argument("--top", type=int, default=S.DEFAULT_EVAL_TOP)
    return {"similar": (cmd_similar, show_similar), "evaluate": (cmd_evaluate, show_evaluate)}


def _face_number(text: str) -> int:
    n = int(text)
    if n < 0:
        raise argparse.ArgumentTypeError(f"{text} is not a face number: 0 is the largest face, 1 the next, ...")
    return n


def _hits(fs: FaceSet, indices: np.ndarray, dists: np.ndarray) -> list[dict]:
    """Each hit's photo, face number in it (0 = largest), ``[top, right, bottom, left]`` box and distance."""
    return [{"path": fs.faces[i].name, "face": fs.faces[i].in_photo, "box": [int(v) for v in fs.faces[i].box],
             "distance": round(float(d), 4)} for i, d in zip(indices, dists, strict=True)]  # fmt: skip


def _faces_word(n: int) -> str:
    return "1 face" if n == 1 else f"{n} faces"


def _query_face(args: argparse.Namespace, fs: FaceSet, data: bytes) -> tuple[int | None, np.ndarray | None, list]:
    """``(row, None, box)`` when face ``args.face`` of the query photo is in the set, else ``(None, encoding,
    box)`` from encoding the photo; a face number the photo does not have is a one-line error."""
    from ..encode.encoding import encode_query
    digest = content_digest(data)
    row = next((i for i, f in enumerate(fs.faces) if f.digest == digest and f.in_photo == args.face), None)
    if row is not None:
        return row, None, [int(v) for v in fs.faces[row].box]
    try:
        encoded = encode_query(data, encoder_settings(args))
    except UnreadableImageError as exc:
        raise FaceCoreError(
            f"Query {args.query!r} cannot be used ({exc}): give a JPEG, PNG, WebP or HEIC photo."
        ) from exc
    found = len(encoded.boxes)
    if args.face >= found:
        which = "face 0" if found == 1 else f"faces 0 to {found - 1}, largest first"
        raise FaceCoreError(f"Query {args.query!r} has {_faces_word(found)} ({which}): --face {args.face} is not "
                            "one of them.")  # fmt: skip
    return None, encoded.encodings[args.face], [int(v) for v in encoded.boxes[args.face]]


#: Above this many faces the verdict's calibration is sampled and the persons are the folders (as the page does).
_GROUP_UP_TO = 20_000


def verdict_out(fs: FaceSet, rows: np.ndarray, distances: np.ndarray, args: argparse.Namespace) -> dict:
    """The Similar page's "same person?" verdict for one query's exact hits: ``{"threshold", "matches",
    "headline", "person"}``. ``person`` is who the matches are when they are one person (a name, else the
    People grouping's person id; the folder for sets above ``_GROUP_UP_TO`` faces), None otherwise."""
    from ..errors import NotEnoughFacesError
    from ..verdict.calibration import calibrate, verdict_threshold
    from ..verdict.sentences import hit_persons, match_verdict
    large = len(fs) > _GROUP_UP_TO
    sample = {"max_queries": 2000, "max_pairs": 1_000_000} if large else {}
    try:
        calibration = calibrate(fs.encodings, fs.persons, **sample)
    except NotEnoughFacesError:
        calibration = None
    threshold = args.threshold if args.threshold is not None else verdict_threshold(calibration, len(fs))
    names: tuple = ()
    labels = None
    if not large:
        from ..people.corrections import load_corrections
        from ..people.grouping import group_faceset
        from ..people.names import name_persons
        constraints = load_corrections(EncodingStore(args.cache), fs)
        grouping = group_faceset(fs, constraints=constraints)
        labels, names = grouping.labels, name_persons(grouping, constraints.names)
    persons = hit_persons(fs, rows, labels)
    answer = match_verdict(distances, threshold, persons, calibration)
    who = {persons[i] for i in answer.matched} if persons is not None else {None}
    person = who.pop() if len(who) == 1 else None
    if isinstance(person, int) and names and names[person]:
        person = names[person]
    return {"threshold": answer.threshold, "matches": len(answer.matched), "headline": answer.headline,
            "person": person}  # fmt: skip


def cmd_similar(args: argparse.Namespace) -> dict:
    from ..search.similarity import find_similar
    check_dataset_arg(args.dataset)
    query = Path(args.query)
    if not query.is_file():
        raise FaceCoreError(f"Query {args.query!r} is not a file: give the path of a photo.")
    fs = load_faceset(args.dataset, args)
    need_faces(fs, args.dataset)
    model, tuning = fit(fs, args)
    try:
        data = ImageRef(args.query, path=str(query)).read_bytes()
    except UnreadableImageError as exc:
        raise FaceCoreError(f"Query {args.query!r} cannot be read ({exc}): give the path of a photo.") from exc
    row, enc, box = _query_face(args, fs, data)
    if row is not None:
        res = find_similar(model, row=row, nprobe=args.nprobe, top=args.top)
    else:
        res = find_similar(model, encoding=enc, nprobe=args.nprobe, top=args.top)
    far = res.farthest[: args.top]
    return {
        "query": args.query,
        "query_in_dataset": row is not None,
        "face": args.face,
        "box": box,
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
        "tuning": tuning_out(tuning),
        "comparisons": res.mates.comparisons,
        "exact_comparisons": res.exact.comparisons,
        "recall_of_exact": round(res.recall, 4),
        "exact": _hits(fs, res.exact.indices, res.exact.distances),
        "exact_pca": _hits(fs, res.exact_pca.indices, res.exact_pca.distances),
        "verdict": verdict_out(fs, res.exact.indices, res.exact.distances, args),
    }


def cmd_evaluate(args: argparse.Namespace) -> dict:
    from ..search.evaluation import evaluate
    check_dataset_arg(args.dataset)
    fs = load_faceset(args.dataset, args)
    need_faces(fs, args.dataset)
    model, tuning = fit(fs, args)
    ev = evaluate(model, fs.persons, top=args.top, nprobe=args.nprobe)
    out = {"images": fs.images, "faces": len(fs), "photos_with_face": fs.photos_with_face}
    out.update({k: (round(v, 4) if isinstance(v, float) else v) for k, v in ev.as_dict().items() if k != "faces"})
    out["dims"], out["k"] = args.dims, args.k
    out["tuning"] = tuning_out(tuning)
    out["people"] = people_scores(fs, model)
    from ..curation.suspects import find_suspects
    out["suspects"] = [s.as_dict() for s in find_suspects(fs, min_score=1.0)]  # nearer another folder's faces
    return out


def people_scores(fs: FaceSet, model) -> dict:
    """Persons found without K vs K-means at the chosen K (and at the true number of people), folders as
    people, and pairwise F at a sweep of thresholds: where to set the People page's slider."""
    from ..people.faces import photo_ids
    from ..people.report import people_report
    from ..people.scores import score_labels, threshold_sweep
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


def show_similar(out: dict) -> None:
    v = out["verdict"]
    print(f"{v['headline']} (face {out['face']} of the query, box {out['box']}).")
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


def show_evaluate(out: dict) -> None:
    for key, value in out.items():
        if key not in ("confused_pairs", "people", "suspects"):
            print(f"{key:28s} {value}")
    pp = out["people"]
    if "pairwise_f" in pp:
        print(f"People (no K, threshold {pp['threshold']}): {pp['persons_found']} persons, pairwise F "
              f"{pp['pairwise_f']:.3f}, BCubed F {pp['bcubed_f']:.3f}; K-means K={pp['kmeans_chosen_k']}: "
              f"{pp['kmeans_chosen_pairwise_f']:.3f} / {pp['kmeans_chosen_bcubed_f']:.3f}; "
              f"K-means true K={pp['kmeans_k']}: {pp['kmeans_pairwise_f']:.3f} / {pp['kmeans_bcubed_f']:.3f}")
    if out.get("confused_pairs"):
        print("Most confused folders (each other's nearest faces; often one person filed twice):")
        for c in out["confused_pairs"]:
            print(f"  {c['share']:6.1%}  {c['a']} ~ {c['b']}  ({c['results']} results)")
    for s in out["suspects"][:10]:
        print(f"  suspect {s['score']:.2f}  {s['path']} (folder {s['folder']}, likely {s['likely']})")
