"""``people DIR``: group every face of the photos into persons (no K needed), with their stable ids and the
names and fixes made in the app or with ``person``. DIR may be the key of an imported set."""

from __future__ import annotations

import argparse

from .. import settings as S
from ..storage.encodings import EncodingStore
from .common import faceset_of


def register(sub, common: argparse.ArgumentParser, model: argparse.ArgumentParser) -> dict:
    """Add ``people`` to the subparsers ``sub``; return ``{command: (run, show)}``."""
    g = sub.add_parser("people", parents=[common], help="group faces into persons (no K needed)")
    g.add_argument("dir", help="folder, zip, or the key of an imported set")
    g.add_argument("--threshold", type=float, default=S.PEOPLE_THRESHOLD,
                   help=f"how close a person's faces are on average (default {S.PEOPLE_THRESHOLD})")
    g.add_argument("--min-size", type=int, default=S.PEOPLE_MIN_SIZE,
                   help=f"faces a person needs; smaller groups are unsorted (default {S.PEOPLE_MIN_SIZE})")
    return {"people": (cmd_people, show_people)}


def cmd_people(args: argparse.Namespace) -> dict:
    from ..people.report import people_report

    args.all_faces = True  # persons are made of every face of the photos (the People page's set)
    fs = faceset_of(args.dir, args)
    # stable ids, with the names and fixes made in the app or with `person`
    return people_report(fs, args.threshold, args.min_size, store=EncodingStore(args.cache))


def show_people(out: dict) -> None:
    for p in out["persons"]:
        print(f"Person {p['id']:<5d} {p['size']:5d} faces  {p['name'] or ''}")
    low = len(out["unsorted_low_quality"])
    print(f"{len(out['persons'])} persons, {len(out['unsorted'])} faces unsorted (threshold {out['threshold']})"
          + (f", {low} of them below the quality bar ({out['quality_bar']}): moved by hand only" if low else ""))
    if out["scores"]:
        sc = out["scores"]
        print(f"folders as people: pairwise F {sc['pairwise_f']:.3f}, BCubed F {sc['bcubed_f']:.3f}; "
              f"K-means with the true K={sc['kmeans_k']}: pairwise F {sc['kmeans_pairwise_f']:.3f}")
