"""Every face of group photos and phone-sized photos built from the shared people (issue 19, items 1 and 6).

The photos are generated into a tmp folder by :mod:`bench.group_photos`: 2-4
different people's photos side by side at different sizes, and one small face
on a 3000x2250 canvas, with the truth per paste (person, face box). The
article's loop (face_recognition's detection: full size, one upsample) runs
on the same files, and every-face mode must find at least its faces, photo by photo.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.group_photos import Composite, iou, make_photos
from facecore import (
    EncoderSettings,
    EncodingStore,
    decode_image,
    detect_faces,
    encode_faces,
    encode_images,
    scan_folder,
)
from facecore.encode.detection import _busy_regions

EVERY, LARGEST = EncoderSettings(all_faces=True), EncoderSettings()


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory, dataset_dir: Path) -> tuple[Path, list[Composite]]:
    """20 group photos and 2 phone-sized photos (seed 19) and their truth."""
    folder = tmp_path_factory.mktemp("group-photos")
    return folder, make_photos(folder, seed=19, groups=20, phones=2, dataset=dataset_dir)


@pytest.fixture(scope="module")
def loop_boxes(photos) -> dict[str, list[tuple]]:
    """The faces the article's loop finds in each photo (``face_locations``: the detection ``face_encodings`` runs)."""
    import face_recognition

    folder, comps = photos
    return {c.name: face_recognition.face_locations(face_recognition.load_image_file(folder / c.name))
            for c in comps}


def test_every_face_mode_finds_each_face_the_article_loop_finds(photos, loop_boxes) -> None:
    folder, comps = photos
    missed, fewer, old_fewer = [], [], 0
    for c in comps:
        rgb = decode_image((folder / c.name).read_bytes())
        found = detect_faces(rgb, EVERY)
        loop = loop_boxes[c.name]
        fewer += [c.name] if len(found) < len(loop) else []
        missed += [(c.name, b) for b in loop if not any(iou(b, f) >= 0.5 for f in found)]
        old_fewer += len(detect_faces(rgb, EncoderSettings())) < len(loop)
    assert not fewer and not missed, f"fewer faces than the loop in {fewer}; loop faces not found: {missed}"
    assert old_fewer > 0, "the largest-face cascade should stop early on some group photo (else the test shows nothing)"


def test_every_pasted_face_the_loop_sees_is_read_back_to_its_person(photos, loop_boxes, tmp_path: Path) -> None:
    """Encode the folder in every-face mode; each face on a pasted face's box is nearest to that person's photo
    (the one of the pastes of its photo, and within face_recognition's tolerance 0.6)."""
    folder, comps = photos
    refs, _ = scan_folder(folder)
    fs = encode_images(refs, EVERY, EncodingStore(tmp_path / "cache.sqlite"), workers=1)
    by_photo: dict[str, list[int]] = {}
    for i, face in enumerate(fs.faces):
        by_photo.setdefault(face.name, []).append(i)
    checked = 0
    for c in comps:
        rows = by_photo.get(c.name, [])
        assert len(rows) >= len(loop_boxes[c.name]), c.name
        sources = [decode_image(Path(p.source).read_bytes(), 900) for p in c.pastes]
        own = np.concatenate([encode_faces(s, detect_faces(s)[:1]) for s in sources])  # one row per paste
        for i in rows:
            person = c.person_at(fs.faces[i].box)
            if person is None:
                continue  # a face of a source photo's background, or none of the pastes
            d = np.linalg.norm(own - fs.encodings[i], axis=1)
            assert c.pastes[int(np.argmin(d))].person == person and d.min() < 0.6, (c.name, fs.faces[i].box, d)
            checked += 1
    pasted_seen = sum(any(c.person_at(b) for b in loop_boxes[c.name]) for c in comps)
    assert checked >= pasted_seen


def test_a_blank_canvas_is_not_scanned_but_the_pasted_photo_is(photos) -> None:
    folder, comps = photos
    phone = next(c for c in comps if c.kind == "phone")
    grey = np.asarray(decode_image((folder / phone.name).read_bytes()).mean(axis=2), np.uint8)
    crops = _busy_regions(grey)
    p = phone.pastes[0]
    area = sum((b - t) * (r - lf) for t, r, b, lf in crops)
    assert area < 0.5 * phone.width * phone.height
    assert any(t <= p.face[0] and r >= p.face[1] and b >= p.face[2] and lf <= p.face[3] for t, r, b, lf in crops)


def test_every_face_mode_has_its_own_cache_key_and_the_largest_face_key_is_unchanged() -> None:
    assert EncoderSettings().key == "v2|hog|max800|upauto|j1"  # caches written before stay valid
    assert EVERY.key != EncoderSettings().key
    assert EncoderSettings(all_faces=True, upsample=1).key == EncoderSettings(upsample=1).key


def test_the_last_pass_on_a_phone_photo_finds_the_loops_face_on_the_pasted_photo_alone(tmp_path, dataset_dir) -> None:
    """A phone photo whose small copy shows no face: largest-face mode's last pass (the article's own) scans only the
    pasted photo, not the blank canvas around it, and finds the faces the loop finds on the whole photo."""
    import face_recognition
    from PIL import Image

    from facecore.encode.detection import _downscale, _locate

    comps = make_photos(tmp_path, seed=23, groups=0, phones=6, dataset=dataset_dir)
    checked = 0
    for c in comps:
        rgb = decode_image((tmp_path / c.name).read_bytes())
        small, _ = _downscale(rgb, LARGEST.detect_max_side)
        if _locate(small, 0, "hog") or _locate(small, 1, "hog"):
            continue  # the small copy shows the face: no last pass
        crops = _busy_regions(np.asarray(Image.fromarray(rgb).convert("L")))
        assert sum((b - t) * (r - lf) for t, r, b, lf in crops) < 0.5 * c.width * c.height
        loop = face_recognition.face_locations(rgb)  # the article's detection on the whole photo
        found = detect_faces(rgb, LARGEST)
        assert loop and len(found) == len(loop), (c.name, loop, found)
        assert all(any(iou(b, f) >= 0.5 for f in found) for b in loop), (c.name, loop, found)
        assert detect_faces(rgb, EVERY) == found  # every-face mode: the cascade looked at the photo in full already
        checked += 1
    assert checked, "no phone photo whose small copy shows no face (the test would show nothing)"
