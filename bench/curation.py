"""Near-duplicate photos and wrong-folder suspects on the whole shared CelebA set.

Usage: .venv/bin/python bench/curation.py [--dataset DIR] [--cache PATH] [--copies 40] [--moves 30] [--draws 3]

Prints: the time to hash every photo (1 and 2 threads) beside the time to decode every photo at the encoder's
size in the same run; the near-duplicate groups of the collection as it is (how many photos flagged, groups
across folders); then ``--copies`` altered copies (4 % crop, 60 % size, JPEG quality 55, brightness +-15 %) of
random photos with a face, encoded without touching the cache, added to the whole set: copies found with their
original, groups across folders, photos flagged; and the suspects' recall when ``--moves`` random faces are
filed under a random wrong folder (``--draws`` draws): moved faces outside the first N suspects.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from facecore import EncoderSettings, EncodingStore, decode_image, encode_images, open_dataset  # noqa: E402
from facecore.curation import find_suspects, near_duplicate_groups, photo_hashes  # noqa: E402
from facecore.settings import default_cache_path, default_dataset_path  # noqa: E402
from tests.curation.support import ALTERATIONS, altered  # noqa: E402


def _timed(fn, *args, **kwargs):
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t


def _across(groups: list[list[str]]) -> list[list[str]]:
    return [g for g in groups if len({Path(n).parent.name for n in g}) > 1]


def bench_hashes(refs) -> None:
    def decode_all():
        for r in refs:
            decode_image(r.read_bytes())

    _, full = _timed(decode_all)
    for workers in (1, 2):
        _, t = _timed(photo_hashes, refs, workers=workers)
        print(f"hash {len(refs)} photos, {workers} thread(s): {t:.2f} s ({1000 * t / len(refs):.1f} ms/photo); "
              f"decoding them at the encoder's size: {full:.2f} s ({full / t:.1f}x the hash pass)")


def with_copies(refs, fs, count: int, rng: np.random.Generator):
    """The whole set plus ``count`` altered copies (encoded without the cache): ``(refs, faceset, pairs)``."""
    from facecore import scan_folder

    names = [f.name for f in fs.faces if f.in_photo == 0]
    chosen = rng.choice(names, count, replace=False)
    path = {r.name: r.path for r in refs}
    tmp = Path(tempfile.mkdtemp(prefix="curation-copies-"))
    pairs = {}
    for i, name in enumerate(chosen):
        kind = ALTERATIONS[i % len(ALTERATIONS)]
        copy = name.replace(".jpg", f"_{kind}.jpg")
        (tmp / Path(copy).parent).mkdir(exist_ok=True)
        (tmp / copy).write_bytes(altered(Path(path[name]), kind))
        pairs[copy] = name
    copy_refs, _ = scan_folder(tmp)
    copies = encode_images(copy_refs, EncoderSettings(), None, workers=2)
    merged = dataclasses.replace(
        fs, faces=fs.faces + copies.faces, encodings=np.concatenate([fs.encodings, copies.encodings])
    )
    return [*refs, *copy_refs], merged, pairs, len(copies.faces)


def bench_copies(refs, fs, count: int, rng: np.random.Generator) -> None:
    all_refs, merged, pairs, with_face = with_copies(refs, fs, count, rng)
    groups = near_duplicate_groups(photo_hashes(all_refs), merged)
    group_of = {n: k for k, g in enumerate(groups) for n in g}
    missed = [c for c, o in pairs.items() if c not in group_of or group_of[c] != group_of.get(o)]
    flagged = sum(map(len, groups))
    print(f"{len(pairs)} altered copies ({with_face} with a face) added to the {len(refs)} photos: "
          f"{len(pairs) - len(missed)} found with their original, missed {missed}; {len(groups)} groups, "
          f"{flagged} photos flagged ({flagged / len(all_refs):.1%}), across folders: {_across(groups)}")


def bench_suspects(fs, moves: int, draws: int, rng: np.random.Generator) -> None:
    folders = sorted({f.person for f in fs.faces})
    rows = [i for i, f in enumerate(fs.faces) if f.in_photo == 0]
    for draw in range(draws):
        faces = list(fs.faces)
        moved = set()
        for i in rng.choice(rows, moves, replace=False):
            f = faces[i]
            wrong = str(rng.choice([x for x in folders if x != f.person]))
            faces[i] = dataclasses.replace(f, person=wrong, name=f"{wrong}/{Path(f.name).name}")
            moved.add(faces[i].name)
        suspects, t = _timed(find_suspects, dataclasses.replace(fs, faces=tuple(faces)))
        ranks = sorted(k for k, s in enumerate(suspects) if s.path in moved)
        out = {n: len([r for r in ranks if r >= n]) for n in (moves, moves + 10, 2 * moves)}
        print(f"suspects, draw {draw}: {moves} faces moved of {len(rows)}; outside the first N: "
              + ", ".join(f"N={n}: {m}" for n, m in out.items())
              + f"; worst ranks {ranks[-3:]}; {t * 1000:.0f} ms")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", type=Path, default=default_dataset_path())
    p.add_argument("--cache", type=Path, default=default_cache_path())
    p.add_argument("--copies", type=int, default=40)
    p.add_argument("--moves", type=int, default=30)
    p.add_argument("--draws", type=int, default=3)
    args = p.parse_args()
    rng = np.random.default_rng(0)
    refs, skipped = open_dataset(args.dataset)
    fs = encode_images(refs, EncoderSettings(), EncodingStore(args.cache), skipped=skipped)
    print(f"{len(refs)} photos, {len(fs)} faces; load average {os.getloadavg()[0]:.1f}")
    bench_hashes(refs)
    groups, t = _timed(near_duplicate_groups, photo_hashes(refs), fs)
    flagged = sum(map(len, groups))
    print(f"the set as it is: {len(groups)} groups, {flagged} photos flagged ({flagged / len(refs):.1%}) "
          f"(grouping {t:.2f} s); across folders: {_across(groups)}")
    bench_copies(refs, fs, args.copies, rng)
    bench_suspects(fs, args.moves, args.draws, rng)
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
