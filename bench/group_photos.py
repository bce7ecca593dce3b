"""Group photos and phone-sized photos built from the shared people: faces found by the article's loop vs the encoder.

A *group photo* pastes 2-4 different people's photos side by side on one
canvas, one at full size and the others at 40-70 %; with ``degrade`` (0-1),
that share of the others is *degraded* as real group photos' faces often are:
half of them *tiny* (15-30 %), half *blurred* (40-70 %, then a Gaussian blur
of 1.5-3 px). A *phone photo* pastes
one photo (50-100 %) somewhere on a 3000x2250 canvas, so its face is small.
Each paste records its person and where its face landed (the face the
encoder finds on the source photo alone, scaled and moved), so every face
found on the canvas can be read back to a person from its box. Photos are
written as JPEGs into a temporary folder, never into the project.

``python -m bench.group_photos --count 300 --phone 40 --seed 7`` times, in one
run and as whole processes: the article's loop (``face_encodings`` of
``load_image_file`` for each photo, one process), ``python -m facecore encode
DIR --all-faces`` into a fresh cache, and the same command with the code of an
older commit (``--old REF``, default the commit before the every-face
detection) unpacked by ``git archive``. It prints faces found per kind of photo,
photos where the encoder found fewer faces than the loop, wall and CPU seconds
(each process with its children, e.g. the encoder's worker processes), ratios
and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from facecore import EncoderSettings, EncodingStore, content_digest, decode_image, detect_faces
from facecore.settings import default_dataset_path

REPO = Path(__file__).resolve().parent.parent
PHONE_SIZE = (3000, 2250)
#: Degraded pastes (``degrade``): a tiny one's scale, a blurred one's Gaussian blur radius in px.
TINY = (0.15, 0.3)
BLUR = (1.5, 3.0)
#: A face box: (top, right, bottom, left) px.
Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Paste:
    """One source photo on a canvas: its person, where it sits (px) and its face's box there."""

    person: str
    source: str
    left: int
    top: int
    width: int
    height: int
    face: Box  # (top, right, bottom, left) px in the canvas
    look: str = "plain"  # "plain", or degraded: "tiny" (15-30 %) or "blurred"


@dataclass
class Composite:
    """A generated photo: file name, canvas size and its pastes."""

    name: str
    width: int
    height: int
    kind: str  # "group" or "phone"
    pastes: list[Paste] = field(default_factory=list)

    def person_at(self, box: Box) -> str | None:
        """The person whose pasted face overlaps ``box`` most (IoU >= 0.3), else None (e.g. a background face)."""
        best, who = 0.3, None
        for p in self.pastes:
            v = iou(box, p.face)
            if v >= best:
                best, who = v, p.person
        return who

    def paste_at(self, box: Box) -> Paste | None:
        """The paste that holds the centre of ``box``, else None (the face lies on the bare canvas)."""
        cy, cx = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        for p in self.pastes:
            if p.left <= cx < p.left + p.width and p.top <= cy < p.top + p.height:
                return p
        return None


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two (top, right, bottom, left) boxes, 0..1."""
    h = min(a[2], b[2]) - max(a[0], b[0])
    w = min(a[1], b[1]) - max(a[3], b[3])
    if h <= 0 or w <= 0:
        return 0.0
    inter = h * w
    area = (a[2] - a[0]) * (a[1] - a[3]) + (b[2] - b[0]) * (b[1] - b[3])
    return inter / (area - inter)


class Sources:
    """The shared people's photos that hold exactly one face, decoded on demand (RGB and face box)."""

    def __init__(self, dataset: Path, max_side: int = 900, persons: Sequence[str] | None = None) -> None:
        self.people = {d.name: sorted(d.glob("*.jpg")) for d in sorted(dataset.glob("person_*"))
                       if d.is_dir() and (persons is None or d.name in persons)}
        self.max_side = max_side
        self._seen: dict[Path, tuple[np.ndarray, Box] | None] = {}

    def get(self, path: Path) -> tuple[np.ndarray, Box] | None:
        """The photo (longest side at most ``max_side``) and its one face, or None if it holds 0 or 2+ faces."""
        if path not in self._seen:
            rgb = decode_image(path.read_bytes(), self.max_side)
            boxes = detect_faces(rgb, EncoderSettings(detect_max_side=self.max_side))
            self._seen[path] = (rgb, boxes[0]) if len(boxes) == 1 else None
        return self._seen[path]

    def pick(self, rng: random.Random, persons: Sequence[str]) -> tuple[str, Path, np.ndarray, Box]:
        """A random one-face photo of one of ``persons`` (tries others when a photo has 0 or 2+ faces)."""
        for _ in range(50):
            person = rng.choice(list(persons))
            path = rng.choice(self.people[person])
            got = self.get(path)
            if got is not None:
                return person, path, got[0], got[1]
        raise RuntimeError("no one-face photo found among 50 tries")


def _background(rng: random.Random, width: int, height: int) -> Image.Image:
    """A soft two-colour gradient with grain: a canvas with no face-like structure."""
    a = np.array([rng.randint(60, 200) for _ in range(3)], np.float32)
    b = np.array([rng.randint(60, 200) for _ in range(3)], np.float32)
    t = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :, None]
    img = np.broadcast_to(a * (1 - t) + b * t, (height, width, 3)).copy()
    img += np.random.default_rng(rng.randint(0, 2**31)).normal(0, 6, img.shape).astype(np.float32)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


def _paste(canvas: Image.Image, rgb: np.ndarray, face: Box, scale: float, left: int, top: int,
           person: str, source: str, blur: float = 0.0) -> Paste:
    """Paste ``rgb`` at ``scale`` (then blurred by a Gaussian of ``blur`` px, if any) with its top left at
    (``left``, ``top``); return the paste with its face's box on the canvas."""
    h, w = rgb.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    piece = Image.fromarray(rgb).resize(size, Image.Resampling.LANCZOS)
    if blur > 0:
        piece = piece.filter(ImageFilter.GaussianBlur(blur))
    canvas.paste(piece, (left, top))
    t, r, b, lf = face
    box = (top + round(t * scale), left + round(r * scale), top + round(b * scale), left + round(lf * scale))
    look = "blurred" if blur > 0 else "tiny" if scale < TINY[1] else "plain"
    return Paste(person, source, left, top, size[0], size[1], box, look)


def _looks(rng: random.Random, n: int, degrade: float) -> tuple[list[float], list[float]]:
    """Scale and blur (px) of each of ``n`` pastes: the first at full size, the others at 40-70 %, of which a
    ``degrade`` share is tiny (15-30 %) or blurred (1.5-3 px), one or the other at random. With ``degrade`` 0
    no extra random number is drawn (the photos of a seed stay as they were)."""
    scales, blurs = [1.0] + [rng.uniform(0.4, 0.7) for _ in range(n - 1)], [0.0] * n
    if degrade > 0:
        for i in range(1, n):
            if rng.random() < degrade:
                if rng.random() < 0.5:
                    scales[i] = rng.uniform(*TINY)
                else:
                    blurs[i] = rng.uniform(*BLUR)
    return scales, blurs


def group_photo(rng: random.Random, sources: Sources, name: str, degrade: float = 0.0) -> tuple[Composite, Image.Image]:
    """2-4 different people side by side: the first pasted at full size, the others at 40-70 % (a ``degrade``
    share of them tiny or blurred, :func:`_looks`), order shuffled."""
    n = rng.randint(2, 4)
    persons = rng.sample(sorted(sources.people), n)
    picks = [sources.pick(rng, [p]) for p in persons]
    scales, blurs = _looks(rng, n, degrade)
    order = list(range(n))
    rng.shuffle(order)
    sizes = [(round(picks[i][2].shape[1] * scales[i]), round(picks[i][2].shape[0] * scales[i])) for i in order]
    gap = rng.randint(10, 40)
    width = sum(w for w, _ in sizes) + gap * (n + 1)
    height = max(h for _, h in sizes) + 2 * gap
    canvas = _background(rng, width, height)
    comp = Composite(name, width, height, "group")
    left = gap
    for i, (w, h) in zip(order, sizes, strict=True):
        person, path, rgb, face = picks[i]
        top = gap + rng.randint(0, height - 2 * gap - h)
        comp.pastes.append(_paste(canvas, rgb, face, scales[i], left, top, person, str(path), blurs[i]))
        left += w + gap
    return comp, canvas


def phone_photo(rng: random.Random, sources: Sources, name: str) -> tuple[Composite, Image.Image]:
    """One person's photo at 50-100 % somewhere on a 3000x2250 canvas: one small face in a large photo."""
    person, path, rgb, face = sources.pick(rng, sorted(sources.people))
    width, height = PHONE_SIZE
    scale = rng.uniform(0.5, 1.0)
    h, w = (round(s * scale) for s in rgb.shape[:2])
    canvas = _background(rng, width, height)
    comp = Composite(name, width, height, "phone")
    comp.pastes.append(_paste(canvas, rgb, face, scale, rng.randint(0, width - w), rng.randint(0, height - h),
                              person, str(path)))
    return comp, canvas


def make_photos(folder: Path, seed: int, groups: int, phones: int = 0,
                dataset: Path | None = None, persons: Sequence[str] | None = None,
                degrade: float = 0.0) -> list[Composite]:
    """Write ``groups`` group photos and ``phones`` phone photos as JPEGs into ``folder``; return their truth.

    ``persons`` limits the people pasted (folder names; default: all of the dataset); ``degrade`` is the share
    of a group photo's smaller pastes made tiny or blurred (:func:`group_photo`).
    """
    rng = random.Random(seed)
    sources = Sources(dataset or default_dataset_path(), persons=persons)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(groups + phones):
        name = f"{'group' if i < groups else 'phone'}_{seed}_{i:04d}.jpg"
        comp, canvas = group_photo(rng, sources, name, degrade) if i < groups else phone_photo(rng, sources, name)
        canvas.save(folder / comp.name, quality=90)
        out.append(comp)
    return out


#: The article's loop, timed as a whole process: the face count of each photo, as JSON, into argv[1].
LOOP = """
import json, sys, face_recognition
out = {}
for p in sys.argv[2:]:
    out[p.rsplit('/', 1)[-1]] = len(face_recognition.face_encodings(face_recognition.load_image_file(p)))
json.dump(out, open(sys.argv[1], 'w'))
"""


def _timed(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """Run ``cmd`` as a whole process (cwd ``cwd``); its wall seconds and CPU seconds (user + system, its own
    and its children's). Raises if it fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _cached_counts(cache: Path, folder: Path, names: Sequence[str], key: str) -> dict[str, int]:
    """Faces per photo as one encoder run stored them in ``cache`` (0 for a photo with no face)."""
    digests = {n: content_digest((folder / n).read_bytes()) for n in names}
    hits = EncodingStore(cache).get_many(digests.values(), key)
    return {n: len(hits[d].boxes) if d in hits else 0 for n, d in digests.items()}


def _old_checkout(ref: str, into: Path) -> Path:
    """The ``facecore`` package of commit ``ref`` unpacked into ``into`` (``git archive``, no worktree)."""
    into.mkdir()
    archive = subprocess.run(["git", "archive", ref, "facecore"], cwd=REPO, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def run(count: int, phones: int, seed: int, old: str, workers: int | None) -> dict:
    """Generate the photos, time the three whole processes one after the other, count faces per photo."""
    py = sys.executable
    with tempfile.TemporaryDirectory(prefix="group-photos-") as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        comps = make_photos(root / "photos", seed, count, phones)
        made = time.perf_counter() - t
        names = [c.name for c in comps]
        paths = [str(root / "photos" / n) for n in names]
        load_before = os.getloadavg()
        w = [] if workers is None else ["--workers", str(workers)]
        enc = ["-m", "facecore", "encode", str(root / "photos"), "--all-faces", "--json", *w]
        timed = {
            "loop": _timed([py, "-c", LOOP, str(root / "loop.json"), *paths], root),
            "new": _timed([py, *enc, "--cache", str(root / "new.sqlite")], REPO),
            "old": _timed([py, *enc, "--cache", str(root / "old.sqlite")], _old_checkout(old, root / "old")),
        }
        times = {k: wall for k, (wall, _) in timed.items()}
        cpu = {k: c for k, (_, c) in timed.items()}
        load_after = os.getloadavg()
        found = {
            "loop": json.loads((root / "loop.json").read_text()),
            "new": _cached_counts(root / "new.sqlite", root / "photos", names, EncoderSettings(all_faces=True).key),
            "old": _cached_counts(root / "old.sqlite", root / "photos", names, EncoderSettings().key),
        }
    return {"photos": [{"name": c.name, "kind": c.kind, "pasted": len(c.pastes),
                        **{k: found[k][c.name] for k in found}} for c in comps],
            "seconds": times, "cpu_seconds": cpu, "generate_seconds": made,
            "load_before": load_before, "load_after": load_after,
            "old": old, "seed": seed}


def _table(result: dict) -> str:
    rows = ["| photos | n | pasted faces | loop | encoder (new) | old encoder "
            "| photos new < loop | photos old < loop |",
            "|---|---|---|---|---|---|---|---|"]
    for kind in ("group", "phone", "all"):
        ps = [p for p in result["photos"] if kind in ("all", p["kind"])]
        if not ps:
            continue
        tot = {k: sum(p[k] for p in ps) for k in ("pasted", "loop", "new", "old")}
        fewer = {k: sum(p[k] < p["loop"] for p in ps) for k in ("new", "old")}
        rows.append(f"| {kind} | {len(ps)} | {tot['pasted']} | {tot['loop']} | {tot['new']} | {tot['old']} "
                    f"| {fewer['new']} | {fewer['old']} |")
    s, c = result["seconds"], result["cpu_seconds"]
    rows += ["", "| process | wall s | loop / this (wall) | CPU s | loop / this (CPU) |", "|---|---|---|---|---|"]
    rows += [f"| {k} | {v:.1f} | {s['loop'] / v:.2f}x | {c[k]:.1f} | {c['loop'] / c[k]:.2f}x |" for k, v in s.items()]
    lb, la = result["load_before"], result["load_after"]
    rows += ["", f"load average before {lb[0]:.2f} {lb[1]:.2f} {lb[2]:.2f}, after {la[0]:.2f} {la[1]:.2f} {la[2]:.2f}; "
             f"seed {result['seed']}, old = {result['old']}, photos generated in {result['generate_seconds']:.0f} s"]
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=300, help="group photos")
    ap.add_argument("--phone", type=int, default=40, help="phone-sized photos")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--old", default="f40c7ad", help="commit whose facecore is the old encoder (the cascade that "
                    "stops at the first pass finding a face)")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--json", type=Path, default=None, help="also write the per-photo counts here")
    args = ap.parse_args(argv)
    result = run(args.count, args.phone, args.seed, args.old, args.workers)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    print(_table(result))


if __name__ == "__main__":
    main()
