"""Measure what stable person ids cost on top of the grouping, at 100,000 faces (facecore.people.identities).

  nice -n 10 .venv/bin/python bench/person_ids.py --dataset ../shared/datasets/celeba-wild --cache COPY.sqlite \
      [--faces 100000] [--json]

Synthetic faces (bench/people.py's: real encodings plus within-person noise, one photo each) in a FaceSet.
Times, with the neighbour graph given as the People page gives it: the grouping alone (group_faceset), the
first persons_for (every face's id written to a new facts file), a second one (ids read, nothing written),
one face moved out (move_to) and the persons_for after it; and the load averages around the run (the
machine is shared: read the times as ratios within one run). Only public facecore names are used.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script: its sibling people.py
from people import load, synthetic  # noqa: E402

from facecore import EncodingStore, Face, FaceSet, group_faceset, move_to, neighbour_graph, persons_for  # noqa: E402


def faceset(x: np.ndarray) -> FaceSet:
    faces = tuple(Face(digest=f"{i:064x}", name=f"synthetic/{i}.jpg", in_photo=0, box=(0, 1, 1, 0), person=None)
                  for i in range(len(x)))  # fmt: skip
    return FaceSet(faces=faces, encodings=x, images=len(x), skipped=(), settings_key="bench-person-ids",
                   key=f"bench-{len(x)}")  # fmt: skip


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, round(time.perf_counter() - t, 2)


def run(args: argparse.Namespace) -> dict:
    x, persons, _ = load(args.dataset, args.cache)
    fs = faceset(synthetic(x, persons, args.faces, 1.0))
    store = EncodingStore(Path(tempfile.mkdtemp()) / "facts.sqlite")
    before = os.getloadavg()
    graph, t_graph = timed(lambda: neighbour_graph(fs.encodings, 0.7))
    _, t_group = timed(lambda: group_faceset(fs, graph=graph))
    first, t_first = timed(lambda: persons_for(store, fs, graph=graph))
    _, t_second = timed(lambda: persons_for(store, fs, graph=graph))
    face = int(first.grouping.members(0)[0])
    _, t_move = timed(lambda: move_to(store, fs, first, [face], None))
    after, t_after = timed(lambda: persons_for(store, fs, graph=graph))
    return {
        "faces": len(fs), "graph_s": t_graph, "group_faceset_s": t_group, "persons_for_first_s": t_first,
        "persons_for_again_s": t_second, "move_out_s": t_move, "persons_for_after_move_s": t_after,
        "overhead_again_ratio": round(t_second / t_group, 2), "persons": after.n_persons,
        "unsorted_before_after": [len(first.grouping.unsorted), len(after.grouping.unsorted)],
        "facts_file_mb": round(store.path.stat().st_size / 2**20, 1),
        "load_average_before": [round(v, 2) for v in before],
        "load_average_after": [round(v, 2) for v in os.getloadavg()],
    }  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset", required=True)
    p.add_argument("--cache", required=True)
    p.add_argument("--faces", type=int, default=100_000)
    p.add_argument("--json", action="store_true", help="one line of JSON (default: indented)")
    args = p.parse_args(argv)
    print(json.dumps(run(args), indent=None if args.json else 2))


if __name__ == "__main__":
    main()
