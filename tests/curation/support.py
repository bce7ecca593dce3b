"""Collections for the curation tests, built in tmp dirs from the shared CelebA photos.

Unaltered photos are symlinks (never copies of CelebA in the project); altered copies are generated files; a photo
"filed under the wrong person" is a symlink placed in another person's folder.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageEnhance

#: People of the test collections: every 7th folder of the shared set (20 people; no two neighbouring CelebA ids,
#: so not person_7392 and person_7393, which are one actress filed under two ids).
N_PEOPLE = 20
#: Photos per person, to keep encoding near half a minute on a busy 2-core machine.
PER_PERSON = 12
#: The alterations the issue names: 4 % crop, 60 % size, JPEG quality 55, brightness +-15 %.
ALTERATIONS = ("crop4", "size60", "jpeg55", "bright115", "bright85")


def people(dataset_dir: Path) -> list[Path]:
    folders = sorted(p for p in dataset_dir.iterdir() if p.is_dir() and p.name.startswith("person_"))
    return folders[::7][:N_PEOPLE]


def link_people(root: Path, dataset_dir: Path) -> Path:
    """``root/<person>/<photo>`` symlinks to the first ``PER_PERSON`` photos of each test person; returns root."""
    for person in people(dataset_dir):
        (root / person.name).mkdir(parents=True)
        for photo in sorted(person.glob("*.jpg"))[:PER_PERSON]:
            (root / person.name / photo.name).symlink_to(photo)
    return root


def encode_folder(root: Path, cache: Path):
    """The FaceSet of a folder (largest face of each photo), through the test session's cache."""
    from facecore import EncoderSettings, EncodingStore, encode_images, scan_folder

    refs, skipped = scan_folder(root)
    return encode_images(refs, EncoderSettings(), EncodingStore(cache), skipped=skipped)


def altered(photo: Path, kind: str) -> bytes:
    """A JPEG of ``photo`` with one alteration (quality 95 unless the alteration is the quality)."""
    im = Image.open(photo).convert("RGB")
    w, h = im.size
    quality = 95
    if kind == "crop4":  # 4 % off each dimension, split between both sides
        dx, dy = round(w * 0.04), round(h * 0.04)
        im = im.crop((dx // 2, dy // 2, w - (dx - dx // 2), h - (dy - dy // 2)))
    elif kind == "size60":
        im = im.resize((round(w * 0.6), round(h * 0.6)), Image.Resampling.LANCZOS)
    elif kind == "jpeg55":
        quality = 55
    elif kind.startswith("bright"):
        im = ImageEnhance.Brightness(im).enhance(int(kind[6:]) / 100)
    else:
        raise ValueError(f"kind must be one of {ALTERATIONS}, got {kind!r}")
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def originals_with_a_face(faceset, count: int) -> list[str]:
    """Names of ``count`` photos with a face, each of a different person, in folder order."""
    chosen: dict[str, str] = {}
    for f in faceset.faces:
        if f.in_photo == 0 and f.person not in chosen:
            chosen[f.person] = f.name
    names = list(chosen.values())
    assert len(names) >= count, f"only {len(names)} people with a face, need {count}"
    return names[:count]
