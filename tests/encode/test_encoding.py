"""Encoding on real photos: same person nearer than others, rotation-invariant, models lazy; the onnxruntime
engine equal to face_recognition, and dlib when onnxruntime is missing."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facecore import EncoderSettings, NoFaceFoundError, encode_bytes, encode_query
from facecore import settings as S
from facecore.encode import encoding as E
from facecore.encode.detection import detect_faces
from facecore.encode.encoding import encode_faces, encoder_engine
from facecore.encode.workers import encode_batch
from facecore.photos.imaging import decode_image


def _photo_with_face(folder: Path) -> bytes:
    for p in sorted(folder.glob("*.jpg")):
        data = p.read_bytes()
        if encode_bytes(data).reason is None:
            return data
    raise AssertionError(f"no photo with a face in {folder}")


def test_same_person_is_nearer_than_other_people(small_faceset) -> None:
    fs = small_faceset
    persons = np.array(fs.persons)
    x = fs.encodings
    d = np.linalg.norm(x[:, None, :] - x[None, :, :], axis=2)
    same = persons[:, None] == persons[None, :]
    off_diag = ~np.eye(len(x), dtype=bool)
    same_d = d[same & off_diag]
    other_d = d[~same]
    # The model's own rule: same person below 0.6, others above it, most of the time.
    assert np.median(same_d) < 0.55 < np.median(other_d)
    assert (same_d < 0.6).mean() > 0.8
    assert (other_d >= 0.6).mean() > 0.9


def test_encodings_are_float32_128d_and_unit_scale(small_faceset) -> None:
    x = small_faceset.encodings
    assert x.dtype == np.float32 and x.shape[1] == 128
    norms = np.linalg.norm(x, axis=1)
    assert 0.5 < norms.min() and norms.max() < 2.0


def test_rotated_copy_gets_the_same_encoding(small_people) -> None:
    data = _photo_with_face(small_people[0])
    original = encode_bytes(data)
    rgb = decode_image(data)
    buf = io.BytesIO()
    Image.fromarray(rgb).rotate(90, expand=True).save(buf, "PNG")
    rotated_pixels = buf.getvalue()
    # A photo stored sideways with EXIF orientation 6 (rotate 270 to view) must match.
    exif = Image.Exif()
    exif[0x0112] = 6
    im = Image.fromarray(rgb).rotate(90, expand=True)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=95, exif=exif.tobytes())
    rotated = encode_bytes(buf.getvalue())
    assert rotated.reason is None, rotated.reason
    assert np.linalg.norm(rotated.encodings[0] - original.encodings[0]) < 0.1
    # Without the orientation tag, the sideways face is (usually) not found at all:
    # proof that the orientation is what made the match possible.
    sideways = encode_bytes(rotated_pixels)
    assert sideways.reason == "no face" or np.linalg.norm(sideways.encodings[0] - original.encodings[0]) > 0.1


def test_detection_on_downscaled_copy_maps_boxes_to_full_resolution(small_people) -> None:
    data = _photo_with_face(small_people[1])
    rgb = decode_image(data)
    big = np.asarray(Image.fromarray(rgb).resize((rgb.shape[1] * 3, rgb.shape[0] * 3), Image.Resampling.LANCZOS))
    full = detect_faces(big, EncoderSettings(detect_max_side=4000))  # detector sees every pixel
    fast = detect_faces(big, EncoderSettings(detect_max_side=max(rgb.shape[:2])))  # sees a 1/3 copy
    assert full and fast
    (t, r, b, lf), (ft, fr, fb, fl) = full[0], fast[0]
    # same face: the mapped box overlaps the full-size one (HOG boxes snap to a coarse grid)
    inter = max(0, min(r, fr) - max(lf, fl)) * max(0, min(b, fb) - max(t, ft))
    union = (r - lf) * (b - t) + (fr - fl) * (fb - ft) - inter
    assert inter / union > 0.5
    # Landmarks start from the box, so the encoding moves a little with it (measured ~0.3),
    # but stays well inside face_recognition's same-person tolerance of 0.6.
    assert np.linalg.norm(encode_faces(big, full[:1]) - encode_faces(big, fast[:1])) < 0.45


def test_largest_face_comes_first(small_faceset) -> None:
    for face in small_faceset.faces:
        assert face.in_photo == 0  # default: one face per photo, the largest


def test_query_without_face_raises_a_clear_error() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (320, 240), (90, 140, 200)).save(buf, "PNG")
    with pytest.raises(NoFaceFoundError, match="No face was found"):
        encode_query(buf.getvalue())


def test_unknown_detector_is_rejected() -> None:
    with pytest.raises(ValueError, match="detector must be one of"):
        EncoderSettings(detector="fast")


def test_importing_facecore_does_not_load_models_or_flip_pillow_flags() -> None:
    code = (
        "import sys, facecore, PIL.ImageFile as F;"
        "print('face_recognition' in sys.modules, F.LOAD_TRUNCATED_IMAGES)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]


# --------------------------------------------------------------------------- the onnxruntime engine


def _shared_photos(dataset_dir: Path, people: int, per_person: int) -> list[Path]:
    folders = sorted(p for p in dataset_dir.glob("person_*") if p.is_dir())[:people]
    return [photo for folder in folders for photo in sorted(folder.glob("*.jpg"))[:per_person]]


def _face_recognition_reference(path: Path, data: bytes, boxes: list) -> np.ndarray:
    """face_recognition.face_encodings on the whole photo, given our boxes (float64 (n, 128)).

    Photos above settings.WORK_MAX_SIDE are encoded from their downscaled copy by
    both the old and the new path (decode_image's cap), so the reference uses that copy.
    """
    import face_recognition

    rgb = face_recognition.load_image_file(path)
    if max(rgb.shape[:2]) > S.WORK_MAX_SIDE:
        rgb = decode_image(data)
    return np.array(face_recognition.face_encodings(rgb, known_face_locations=boxes))


@pytest.mark.slow
def test_production_path_equals_face_recognition_on_200_shared_faces(
    dataset_dir: Path, record_property: pytest.RecordProperty
) -> None:
    assert encoder_engine() == "onnxruntime"
    photos = _shared_photos(dataset_dir, people=110, per_person=2)
    items = [(p.name, None, p.read_bytes()) for p in photos]
    results = [r for i in range(0, len(items), 4) for _, r in encode_batch(items[i : i + 4], EncoderSettings())]
    diffs, faces = [], 0
    for path, (_, _, data), result in zip(photos, items, results, strict=True):
        if result.reason is None:
            ref = _face_recognition_reference(path, data, result.boxes)
            diffs.append(float(np.abs(result.encodings - ref).max()))
            faces += len(result.boxes)
    record_property("max_abs_diff", max(diffs))
    print(f"\n{faces} faces of {len(photos)} photos through encode_batch: max abs difference {max(diffs):.3g}")
    assert faces >= 200
    assert max(diffs) < 1e-4


def test_without_onnxruntime_dlib_encodes_and_one_line_says_why(
    small_people, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    photos = [sorted(folder.glob("*.jpg"))[0].read_bytes() for folder in small_people[:2]]
    with_onnx = [encode_bytes(p) for p in photos]
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # `import onnxruntime` now raises ImportError
    monkeypatch.setattr(E, "_onnx", None)
    monkeypatch.setattr(E, "_onnx_chosen", False)  # as in a fresh process
    with caplog.at_level(logging.INFO, logger="facecore.encode.encoding"):
        with_dlib = [encode_bytes(p) for p in photos]
        assert encoder_engine() == "dlib"
    lines = [r for r in caplog.records if r.name == "facecore.encode.encoding"]
    assert len(lines) == 1 and lines[0].levelno == logging.WARNING
    assert "dlib" in lines[0].getMessage() and "onnxruntime is not installed" in lines[0].getMessage()
    assert "\n" not in lines[0].getMessage()
    for a, b in zip(with_onnx, with_dlib, strict=True):
        assert a.boxes == b.boxes
        assert np.abs(a.encodings - b.encodings).max() < 1e-4


def test_converted_model_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(E.MODEL_DIR_ENV, str(tmp_path / "models"))
    assert E.model_dir() == tmp_path / "models"
    monkeypatch.delenv(E.MODEL_DIR_ENV)
    monkeypatch.setenv("FACECORE_CACHE", str(tmp_path / "cache" / "c.sqlite"))
    assert E.model_dir() is None  # no such folder: convert in memory, write nothing
    (tmp_path / "cache").mkdir()
    assert E.model_dir() == tmp_path / "cache"  # beside the encoding cache
