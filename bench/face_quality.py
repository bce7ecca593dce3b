"""Choosing the face-quality bar by measurement: persons' pairwise F on group photos with and without the gate.

Group photos are built from the shared people (:mod:`bench.group_photos`): a
*development* set from the first half of the people, on which each bar is
tried, and a *held-out* set from the other half, on which the chosen bar is
checked. Every face is encoded (every-face mode) with its quality
(:mod:`facecore.curation.face_quality`); its person is read from its box (the pasted
face it covers; faces of a source photo's background have none and are not
scored). Persons are built with :func:`facecore.group_faces` at the
app's threshold; with a gate, faces below the bar do not take part and wait
unsorted (each counts as a singleton: recall pays for them, never precision).

``python -m bench.face_quality --count 150 --seed 5``
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facecore import (
    QUALITY_FIELDS,
    EncoderSettings,
    EncodingStore,
    QualityBar,
    encode_images,
    group_faces,
    passes_bar,
    scan_folder,
    score_labels,
)
from facecore.settings import PEOPLE_MIN_SIZE, PEOPLE_THRESHOLD, default_dataset_path

from .group_photos import make_photos
from .report import load_avg

#: Differences in pairwise F below this are noise at a few hundred faces (seen between the two sets).
NOISE = 0.01


@dataclass
class Faces:
    """The faces of one generated set: encodings, photo of each, person read from its box, quality rows."""

    encodings: np.ndarray  # (n, 128) float32
    photos: np.ndarray  # (n,) photo digests
    persons: list[str | None]
    quality: np.ndarray  # (n, 4) float32, QUALITY_FIELDS order


def encoded_faces(folder: Path, seed: int, count: int, persons: Sequence[str]) -> Faces:
    """Generate ``count`` group photos of ``persons`` into ``folder`` and encode every face with its quality."""
    comps = {c.name: c for c in make_photos(folder / "photos", seed, count, persons=persons)}
    refs, _ = scan_folder(folder / "photos")
    settings = EncoderSettings(all_faces=True)
    store = EncodingStore(folder / "cache.sqlite")
    fs = encode_images(refs, settings, store)
    cached = store.get_many({f.digest for f in fs.faces}, settings.key)
    quality = np.stack([cached[f.digest].quality[f.in_photo] for f in fs.faces])
    who = [comps[f.name].person_at(f.box) for f in fs.faces]
    return Faces(fs.encodings, np.array([f.digest for f in fs.faces]), who, quality)


def gated_f(faces: Faces, bar: QualityBar) -> dict:
    """Persons built from the faces that pass ``bar`` (the others unsorted); pairwise scores over all faces."""
    keep = passes_bar(faces.quality, bar)
    labels = np.full(len(faces.persons), -1, np.int64)
    if keep.sum() >= 2:
        g = group_faces(faces.encodings[keep], faces.photos[keep], PEOPLE_THRESHOLD, PEOPLE_MIN_SIZE)
        labels[keep] = g.labels
    s = score_labels(faces.persons, labels)
    known = np.array([p is not None for p in faces.persons])
    return {"f": s.pairwise_f, "precision": s.pairwise_precision, "recall": s.pairwise_recall,
            "gated": int((~keep & known).sum()), "faces": int(known.sum()), "persons": s.groups}


def candidate_bars(dev: Faces) -> list[tuple[str, QualityBar]]:
    """One field at a time: sizes and scores on a grid, sharpness at quantiles of the development set."""
    bars = [("none", QualityBar())]
    bars += [(f"size >= {v}", QualityBar(min_size=v)) for v in (45, 55, 65, 80, 100)]
    bars += [(f"score >= {v}", QualityBar(min_score=v)) for v in (-0.5, 0.0, 0.3, 0.6)]
    sharp = np.nanquantile(dev.quality[:, QUALITY_FIELDS.index("sharpness")], [0.05, 0.1, 0.2, 0.3])
    bars += [(f"sharpness >= {v:.0f}", QualityBar(min_sharpness=float(v))) for v in sharp]
    bars += [(f"frontal >= {v}", QualityBar(min_frontal=v)) for v in (0.5, 0.6, 0.7, 0.8)]
    return bars


def _row(name: str, r: dict) -> str:
    return (f"| {name} | {r['f']:.3f} | {r['precision']:.3f} | {r['recall']:.3f} | {r['gated']} of {r['faces']} "
            f"| {r['persons']} |")


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=150, help="group photos per set")
    ap.add_argument("--seed", type=int, default=5)
    args = ap.parse_args(argv)
    people = sorted(d.name for d in default_dataset_path().glob("person_*") if d.is_dir())
    half = len(people) // 2
    with tempfile.TemporaryDirectory(prefix="face-quality-") as tmp:
        dev = encoded_faces(Path(tmp) / "dev", args.seed, args.count, people[:half])
        held = encoded_faces(Path(tmp) / "held", args.seed + 1, args.count, people[half:])
    head = ["| bar | pairwise F | precision | recall | gated (known faces) | persons |", "|---|---|---|---|---|---|"]
    tried = [(name, bar, gated_f(dev, bar)) for name, bar in candidate_bars(dev)]
    print(f"**Development set** ({args.count} group photos, {half} people; threshold {PEOPLE_THRESHOLD})\n")
    print("\n".join(head + [_row(n, r) for n, _, r in tried]))
    q = dev.quality
    print("\nquality quantiles (5/25/50/75/95 %) of the development faces:")
    for i, f in enumerate(QUALITY_FIELDS):
        print(f"- {f}: " + " / ".join(f"{v:.2f}" for v in np.nanquantile(q[:, i], [0.05, 0.25, 0.5, 0.75, 0.95])))
    none_f = tried[0][2]["f"]
    top = sorted(tried[1:], key=lambda t: -t[2]["f"])[:3]
    chosen = top[0] if top[0][2]["f"] >= none_f + NOISE else tried[0]
    print(f"\n**Held-out set** ({args.count} group photos, the other {len(people) - half} people): "
          f"no bar, and the three best bars of the development set\n")
    print("\n".join(head + [_row(n, gated_f(held, b)) for n, b, _ in [tried[0], *top]]))
    print(f"\nchosen bar: {chosen[0]} (a bar is chosen only if it beats no bar by >= {NOISE} F on the "
          f"development set)")
    print(f"\nload average {load_avg()}")


if __name__ == "__main__":
    main()
