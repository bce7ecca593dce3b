"""``map DIR``: every face's place on the similarity map (near means similar), as x, y (and z)."""

from __future__ import annotations

import argparse

from ..storage.encodings import EncodingStore
from .common import check_dataset_arg, load_faceset, need_faces

#: The map methods, as facecore.layout.face_map names them (written here so --help needs no import of it).
METHODS = ("tsne", "pca")


def register(sub, common: argparse.ArgumentParser, model: argparse.ArgumentParser) -> dict:
    """Add ``map`` to the subparsers ``sub``; return ``{command: (run, show)}``."""
    mp = sub.add_parser("map", parents=[common], help="a map of the faces where near means similar (x, y[, z])")
    mp.add_argument("dir")
    mp.add_argument("--method", choices=METHODS, default=METHODS[0],
                    help="tsne (default: faces that look alike lie together) or pca (the article's axes)")
    mp.add_argument("--3d", dest="three_d", action="store_true", help="x, y and z instead of x and y")
    return {"map": (cmd_map, show_map)}


def cmd_map(args: argparse.Namespace) -> dict:
    from ..layout.face_map import map_points
    check_dataset_arg(args.dir)
    fs = load_faceset(args.dir, args)
    need_faces(fs, args.dir)
    return map_points(fs, args.method, dims=3 if args.three_d else 2, store=EncodingStore(args.cache))


def show_map(out: dict) -> None:
    for p in out["points"]:
        print(" ".join(f"{p[a]:9.3f}" for a in ("x", "y", "z") if a in p) + f"  {p['path']}#{p['face']}")
    print(f"{len(out['points'])} faces laid out by {out['method']}")
