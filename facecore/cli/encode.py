"""``encode DIR`` (every face of a folder or zip, through the cache) and ``import FILE`` (encodings made
elsewhere)."""

from __future__ import annotations

import argparse
from pathlib import Path

from .. import settings as S
from ..photos.folders import allowed_roots_from_env
from ..storage.encodings import EncodingStore
from .common import check_dataset_arg, load_faceset


def register(sub, common: argparse.ArgumentParser, model: argparse.ArgumentParser) -> dict:
    """Add ``encode`` and ``import`` to the subparsers ``sub``; return ``{command: (run, show)}``."""
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
    return {"encode": (cmd_encode, show_encode), "import": (cmd_import, show_import)}


def cmd_encode(args: argparse.Namespace) -> dict:
    check_dataset_arg(args.dir)
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
    from ..photos.exchange import read_encodings
    from ..storage.imported import write_imported
    roots = args.root or allowed_roots_from_env()
    found = read_encodings(args.file, roots, name=args.name)  # all checks first: a refused file writes nothing
    fs = write_imported(found, EncodingStore(args.cache))
    return {"key": found.key, "faces": len(fs), "photos": fs.images, "name": found.name,
            "allowed_roots": [str(r) for r in roots], "cache": str(args.cache)}  # fmt: skip




def show_encode(out: dict) -> None:
    print(f"{out['images']} photos, {out['faces']} faces ({out['encoded']} encoded, {out['cached']} from cache) "
          f"in {out['seconds']:.1f} s; cache: {out['cache']}")
    for s in out["skipped"]:
        print(f"  skipped {s['path']}: {s['reason']}" + (f" ({s['detail']})" if s["detail"] else ""))


def show_import(out: dict) -> None:
    print(f"Imported {out['faces']} faces of {out['photos']} photos as {out['name']!r} (key {out['key']}) "
          f"into {out['cache']}")
