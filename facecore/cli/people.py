"""``people DIR``: group the faces into persons (no K needed), with the names and fixes made in the app."""

from __future__ import annotations

import argparse

from .. import settings as S
from ..storage.encodings import EncodingStore
from .common import check_dataset_arg, load_faceset, need_faces


def register(sub, common: argparse.ArgumentParser, model: argparse.ArgumentParser) -> dict:
    """Add ``people`` to the subparsers ``sub``; return ``{command: (run, show)}``."""
    g = sub.add_parser("people", parents=[common], help="group faces into persons (no K needed)")
    g.add_argument("dir")
    g.add_argument("--threshold", type=float, default=S.PEOPLE_THRESHOLD,
                   help=f"how close a person's faces are on average (default {S.PEOPLE_THRESHOLD})")
    g.add_argument("--min-size", type=int, default=S.PEOPLE_MIN_SIZE,
                   help=f"faces a person needs; smaller groups are unsorted (default {S.PEOPLE_MIN_SIZE})")
    return {"people": (cmd_people, show_people)}


def cmd_people(args: argparse.Namespace) -> dict:
    from ..people.corrections import load_corrections
    from ..people.report import people_report
    check_dataset_arg(args.dir)
    fs = load_faceset(args.dir, args)
    need_faces(fs, args.dir)
    constraints = load_corrections(EncodingStore(args.cache), fs)  # names and fixes made in the app
    return people_report(fs, args.threshold, args.min_size, constraints=constraints)




def show_people(out: dict) -> None:
    for p in out["persons"]:
        print(f"person {p['id']:4d}  {p['size']:5d} faces  {p['name'] or ''}")
    print(f"{len(out['persons'])} persons, {len(out['unsorted'])} faces unsorted (threshold {out['threshold']})")
    if out["scores"]:
        sc = out["scores"]
        print(f"folders as people: pairwise F {sc['pairwise_f']:.3f}, BCubed F {sc['bcubed_f']:.3f}; "
              f"K-means with the true K={sc['kmeans_k']}: pairwise F {sc['kmeans_pairwise_f']:.3f}")
