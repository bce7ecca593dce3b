"""A fresh ``python -m facecore encode`` of unseen photos against the article's loop, whole processes timed.

Usage: .venv/bin/python -m bench.fresh_cli [--dataset DIR] [--photos 200] [--rounds 2] [--seed 7]

Links a random sample of photos into a temporary folder, then takes turns:
the article's loop in a new Python process (its imports and model load
included, as a user running the article's script would wait), and
``python -m facecore encode`` into a fresh cache (process start, imports,
worker pool and model load included). Reports the best of ``--rounds`` each
and the load average.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from facecore import default_dataset_path

ARTICLE = """
import sys, face_recognition
from pathlib import Path
found = 0
for p in sorted(Path(sys.argv[1]).rglob("*.jpg")):
    found += len(face_recognition.face_encodings(face_recognition.load_image_file(p))) > 0
print(found)
"""


def _timed(cmd: list[str], env: dict) -> tuple[float, str]:
    t = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    return time.perf_counter() - t, out.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default=str(default_dataset_path()))
    ap.add_argument("--photos", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    photos = sorted(Path(a.dataset).rglob("*.jpg"))
    sample = random.Random(a.seed).sample(photos, a.photos)
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    article, ours = [], []
    print(f"load before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="fresh-cli-") as tmp:
        folder = Path(tmp) / "photos"
        for p in sample:
            (folder / p.parent.name).mkdir(parents=True, exist_ok=True)
            (folder / p.parent.name / p.name).symlink_to(p)
        for r in range(a.rounds):
            seconds, found = _timed([sys.executable, "-c", ARTICLE, str(folder)], env)
            article.append(seconds)
            print(f"round {r + 1}: article loop {seconds:.1f} s ({found.strip()} photos with a face)", flush=True)
            cache = Path(tmp) / f"fresh-{r}.sqlite"
            seconds, out = _timed([sys.executable, "-m", "facecore", "encode", str(folder), "--cache", str(cache),
                                   "--json"], env)  # fmt: skip
            ours.append(seconds)
            print(f"round {r + 1}: facecore encode {seconds:.1f} s", flush=True)
    print(f"best: article {min(article):.1f} s, facecore {min(ours):.1f} s: {min(article) / min(ours):.2f}x "
          f"({a.photos} photos); load after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
