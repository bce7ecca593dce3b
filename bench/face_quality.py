"""Persons on group photos, and choosing the face-quality bar by measurement: pairwise F with and without the gate.

Group photos are built from the shared people (:mod:`bench.group_photos`): a
*development* set from the first half of the people (sorted folder names), on
which each bar is tried, and a *held-out* set from the other half, on which
the chosen bar is checked. Each comes twice: *plain* (the pastes at 40-100 %)
and *degraded* (``--degrade`` of the smaller pastes tiny, 15-30 %, or blurred),
since real group photos hold tiny and blurred faces that pasted CelebA photos
lack. Every face is encoded (every-face mode) with its quality
(:mod:`facecore.curation.face_quality`); its person is read from its box (the
pasted face it covers; faces of a source photo's background have none and are
not scored). Persons are built with :func:`facecore.group_faces` at the app's
threshold; with a gate, faces below the bar take no part and wait unsorted
(each counts as a singleton: recall pays for them, never precision).

``python -m bench.face_quality --count 300 --seed 5 --degrade 0.5`` (300 group
photos per set: the issue's own test size, ~12 faces per person).
"""

from __future__ import annotations

import argparse
import pickle
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facecore import (
    DEFAULT_BAR,
    LINK_BAR,
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

from .group_photos import iou, make_photos
from .report import load_avg

#: Differences in pairwise F below this are noise (seen between seeds of one set at 300 photos: 0.945 / 0.956).
NOISE = 0.01


@dataclass
class Faces:
    """The faces of one generated set: encodings, photo of each, person and look read from its box, quality."""

    encodings: np.ndarray  # (n, 128) float32
    photos: np.ndarray  # (n,) photo digests
    persons: list[str | None]
    looks: list[str | None]  # "plain", "tiny", "blurred"; None for a face on no paste
    quality: np.ndarray  # (n, 4) float32, QUALITY_FIELDS order


def encoded_faces(folder: Path, seed: int, count: int, persons: Sequence[str], degrade: float = 0.0) -> Faces:
    """Generate ``count`` group photos of ``persons`` into ``folder`` and encode every face with its quality."""
    comps = {c.name: c for c in make_photos(folder / "photos", seed, count, persons=persons, degrade=degrade)}
    refs, _ = scan_folder(folder / "photos")
    settings = EncoderSettings(all_faces=True)
    store = EncodingStore(folder / "cache.sqlite")
    fs = encode_images(refs, settings, store)
    cached = store.get_many({f.digest for f in fs.faces}, settings.key)
    quality = np.stack([cached[f.digest].quality[f.in_photo] for f in fs.faces])
    pastes = []
    for f in fs.faces:  # the pasted face the box covers most (IoU >= 0.3), as Composite.person_at reads it
        hits = [(iou(f.box, p.face), p) for p in comps[f.name].pastes]
        best = max(hits, key=lambda t: t[0], default=(0.0, None))
        pastes.append(best[1] if best[0] >= 0.3 else None)
    return Faces(fs.encodings, np.array([f.digest for f in fs.faces]), [p and p.person for p in pastes],
                 [p and p.look for p in pastes], quality)


def gated_f(faces: Faces, bar: QualityBar, link: QualityBar | None = LINK_BAR) -> dict:
    """Persons built from the faces that pass ``bar`` (the others unsorted), those below ``link`` joining the
    nearest person only (None: no link rule), as the app builds them; pairwise scores over all faces."""
    keep = passes_bar(faces.quality, bar)
    weak = np.flatnonzero(~passes_bar(faces.quality, link)) if link is not None else ()
    labels = group_faces(faces.encodings, faces.photos, PEOPLE_THRESHOLD, PEOPLE_MIN_SIZE,
                         gated=np.flatnonzero(~keep), weak=weak).labels
    s = score_labels(faces.persons, labels)
    known = np.array([p is not None for p in faces.persons])
    degraded = np.array([lk in ("tiny", "blurred") for lk in faces.looks])
    return {"f": s.pairwise_f, "precision": s.pairwise_precision, "recall": s.pairwise_recall,
            "gated": int((~keep & known).sum()), "gated_degraded": int((~keep & degraded).sum()),
            "faces": int(known.sum()), "degraded": int(degraded.sum()), "persons": s.groups}


def candidate_bars(dev: Faces) -> list[tuple[str, QualityBar]]:
    """One field at a time: sizes and scores on a grid, sharpness at quantiles of the development set."""
    bars = [("none", QualityBar())]
    bars += [(f"size >= {v}", QualityBar(min_size=v)) for v in (36, 42, 50, 60)]
    bars += [(f"score >= {v}", QualityBar(min_score=v)) for v in (-0.2, 0.0, 0.3, 0.6)]
    sharp = np.nanquantile(dev.quality[:, QUALITY_FIELDS.index("sharpness")], [0.02, 0.05, 0.1, 0.2])
    bars += [(f"sharpness >= {v:.0f}", QualityBar(min_sharpness=float(v))) for v in sharp]
    bars += [(f"frontal >= {v}", QualityBar(min_frontal=v)) for v in (0.6, 0.7, 0.8)]
    if DEFAULT_BAR != QualityBar() and all(b != DEFAULT_BAR for _, b in bars):
        bars.append(("the app's bar", DEFAULT_BAR))
    return bars


HEAD = ["| bar | pairwise F | precision | recall | gated (known faces) | of them degraded | persons |",
        "|---|---|---|---|---|---|---|"]


def _row(name: str, r: dict) -> str:
    return (f"| {name} | {r['f']:.3f} | {r['precision']:.3f} | {r['recall']:.3f} | {r['gated']} of {r['faces']} "
            f"| {r['gated_degraded']} of {r['degraded']} | {r['persons']} |")


def _quantiles(faces: Faces) -> list[str]:
    q = faces.quality
    return [f"- {f}: " + " / ".join(f"{v:.2f}" for v in np.nanquantile(q[:, i], [0.05, 0.25, 0.5, 0.75, 0.95]))
            for i, f in enumerate(QUALITY_FIELDS)]


def build(root: Path, args: argparse.Namespace, people: list[str]) -> dict[str, Faces]:
    """The four sets: development and held-out, plain and degraded (each kept as ``faces.pkl`` in its folder
    and read back from there when present: the same arguments give the same photos)."""
    half = len(people) // 2
    plan = {"dev": (args.seed, people[:half], 0.0), "held": (args.seed + 1, people[half:], 0.0),
            "dev_degraded": (args.seed, people[:half], args.degrade),
            "held_degraded": (args.seed + 1, people[half:], args.degrade)}
    sets = {}
    for name, (seed, persons, degrade) in plan.items():
        saved = root / name / f"faces_{args.count}_{seed}_{degrade}.pkl"
        if saved.exists():
            sets[name] = pickle.loads(saved.read_bytes())
            continue
        sets[name] = encoded_faces(root / name, seed, args.count, persons, degrade)
        saved.write_bytes(pickle.dumps(sets[name]))
    return sets


def report(sets: dict[str, Faces], args: argparse.Namespace, n_people: int) -> None:
    dev = sets["dev_degraded"]
    print(f"**Persons, no bar** ({args.count} group photos per set, seeds {args.seed} / {args.seed + 1}; threshold "
          f"{PEOPLE_THRESHOLD}; development = the first {n_people // 2} people, held-out = the other "
          f"{n_people - n_people // 2}; degraded: {args.degrade:.0%} of the smaller pastes tiny or blurred)\n")
    rows = []
    for k, v in sets.items():
        rule = f"link rule ({LINK_BAR.describe()}: joins the nearest person only)"
        rows += [_row(f"{k}, no link rule", gated_f(v, QualityBar(), None)),
                 _row(f"{k}, {rule}", gated_f(v, QualityBar()))]
    print("\n".join([HEAD[0].replace("| bar |", "| set |"), HEAD[1]] + rows))
    print("\nlink rules on the degraded development set (faces below build no person, join the nearest):\n")
    print("\n".join(HEAD + [_row(f"sharpness < {v}", gated_f(dev, QualityBar(), QualityBar(min_sharpness=v)))
                            for v in (3, 6, 13, 20, 30, 45)]))
    tried = [(name, bar, gated_f(dev, bar)) for name, bar in candidate_bars(dev)]
    print(f"\n**Bars on the degraded development set** (with the link rule, {LINK_BAR.describe()})\n")
    print("\n".join(HEAD + [_row(n, r) for n, _, r in tried]))
    print("\nquality quantiles (5/25/50/75/95 %) of the degraded development faces:")
    print("\n".join(_quantiles(dev)))
    none_f = tried[0][2]["f"]
    top = sorted(tried[1:], key=lambda t: -t[2]["f"])[:3]
    chosen = top[0] if top[0][2]["f"] >= none_f + NOISE else tried[0]
    print(f"\nchosen bar: {chosen[0]} (a bar is chosen only if it beats no bar by >= {NOISE} F on the degraded "
          f"development set); the app's bar: {DEFAULT_BAR}")
    checks = [tried[0], *top] + ([("the app's bar", DEFAULT_BAR, None)] if DEFAULT_BAR != QualityBar() else [])
    for name in ("held_degraded", "held", "dev"):
        print(f"\n**{name}**: no bar, the development set's three best bars"
              + (" and the app's bar" if DEFAULT_BAR != QualityBar() else "") + "\n")
        print("\n".join(HEAD + [_row(n, gated_f(sets[name], b)) for n, b, _ in checks]))
    print(f"\nload average {load_avg()}")


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=300, help="group photos per set")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--degrade", type=float, default=0.5, help="share of the smaller pastes made tiny or blurred")
    ap.add_argument("--keep", type=Path, default=None, help="generate and encode into this folder (kept)")
    args = ap.parse_args(argv)
    people = sorted(d.name for d in default_dataset_path().glob("person_*") if d.is_dir())
    if args.keep is not None:
        report(build(args.keep, args, people), args, len(people))
        return
    with tempfile.TemporaryDirectory(prefix="face-quality-") as tmp:
        report(build(Path(tmp), args, people), args, len(people))


if __name__ == "__main__":
    main()
