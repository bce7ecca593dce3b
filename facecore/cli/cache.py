"""``cache [info|clear|delete DIR]``: show the encoding cache, clear it, or delete a dataset from it, by the
one delete rule the app uses (:mod:`facecore.storage.deletion`)."""

from __future__ import annotations

import argparse

from ..errors import FaceCoreError
from ..photos.datasets import open_dataset
from ..photos.refs import content_digest
from ..storage.deletion import clear_cache, delete_set
from ..storage.encodings import EncodingStore


def register(sub, common: argparse.ArgumentParser, model: argparse.ArgumentParser) -> dict:
    """Add ``cache`` to the subparsers ``sub``; return ``{command: (run, show)}``."""
    c = sub.add_parser("cache", parents=[common], help="show, clear, or delete a dataset's encodings")
    c.add_argument("action", choices=["info", "clear", "delete"], nargs="?", default="info")
    c.add_argument("dir", nargs="?")
    return {"cache": (cmd_cache, show_cache)}


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




def show_cache(out: dict) -> None:
    for key, value in out.items():
        print(f"{key:28s} {value}")
