"""Keep one of each near-duplicate group on the whole shared set: hashing once, then reading the hashes back.

Usage: .venv/bin/python bench/keep_one.py [--dataset DIR] [--cache PATH]

Works on a private copy of the cache (the photos' encodings must be in it already: ``python -m facecore encode
DIR`` first). Prints, in one run: the time of ``duplicate_groups`` the first time (every photo decoded and
hashed, hashes written to the cache) and the second time (hashes read back, as on a page reload), with their
ratio; then what keeping the largest photo of each group does to the set (photos hidden, faces before and after)
and the time of ``FaceSet.without``.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from facecore import (  # noqa: E402
    EncoderSettings,
    EncodingStore,
    duplicate_groups,
    encode_images,
    hidden_digests,
    hide_photos,
    open_dataset,
    photos_to_hide,
)
from facecore.settings import default_cache_path, default_dataset_path  # noqa: E402


def _timed(fn, *args, **kwargs):
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default=str(default_dataset_path()))
    parser.add_argument("--cache", default=str(default_cache_path()))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "cache.sqlite"
        with sqlite3.connect(args.cache) as a, sqlite3.connect(copy) as b:
            a.backup(b)
        store = EncodingStore(copy)
        refs, skipped = open_dataset(args.dataset)
        fs, t_open = _timed(encode_images, refs, EncoderSettings(), store, skipped=skipped, workers=1)
        print(f"{len(fs.read):,} photos, {len(fs):,} faces from the cache in {t_open:.1f} s ({fs.encoded} encoded)")
        groups, first = _timed(duplicate_groups, fs, store, refs)
        again, second = _timed(duplicate_groups, fs, store, refs)
        assert again == groups
        print(
            f"duplicate_groups: first {first:.2f} s (hashing), second {second:.2f} s (from the cache): "
            f"{first / second:.0f}x"
        )
        hide = photos_to_hide(fs, groups)
        hide_photos(store, hide)
        kept, t_without = _timed(fs.without, hidden_digests(store, fs.digests))
        print(
            f"{len(groups)} groups, {sum(map(len, groups))} photos; keeping the largest of each hides {len(hide)} "
            f"photos: {len(fs):,} -> {len(kept):,} faces (FaceSet.without {t_without * 1000:.0f} ms)"
        )
        print(f"load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
