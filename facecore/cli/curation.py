"""``duplicates DIR``: near-duplicate photos (the same shot saved twice, altered copies, bursts)."""

from __future__ import annotations

import argparse

from ..photos.datasets import open_dataset
from .common import check_dataset_arg, load_faceset


def register(sub, common: argparse.ArgumentParser, model: argparse.ArgumentParser) -> dict:
    """Add ``duplicates`` to the subparsers ``sub``; return ``{command: (run, show)}``."""
    d = sub.add_parser("duplicates", parents=[common], help="near-duplicate photos (copies, bursts) of a folder")
    d.add_argument("dir")
    return {"duplicates": (cmd_duplicates, show_duplicates)}


def cmd_duplicates(args: argparse.Namespace) -> dict:
    """The near-duplicate groups of the folder, the photos' hashes kept in the cache file (a second run
    reads them instead of decoding every photo again)."""
    from ..curation.keep_one import duplicate_groups
    from ..storage.encodings import EncodingStore

    check_dataset_arg(args.dir)
    faceset = load_faceset(args.dir, args)
    return {"groups": duplicate_groups(faceset, EncodingStore(args.cache), open_dataset(args.dir)[0])}


def show_duplicates(out: dict) -> None:
    for group in out["groups"]:
        print("  ".join(group))
    print(f"{len(out['groups'])} groups of near-duplicate photos ({sum(map(len, out['groups']))} photos)")
