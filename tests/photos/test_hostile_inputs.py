"""Hostile and unusual image files: every one is decoded right or refused with its exact reason.

Broken files are generated here; images in unusual modes are built from a
real CelebA face photo, so each test checks that the face is still found and
its encoding stays close to the one of the plain RGB photo.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from facecore import (
    EncoderSettings,
    EncodingStore,
    InvalidParameterError,
    NoFaceFoundError,
    NotEnoughFacesError,
    UnreadableImageError,
    decode_image,
    encode_bytes,
    encode_images,
    encode_query,
    fit_model,
    load_models,
    scan_folder,
)
from facecore import settings as S
from facecore.photos.refs import ImageRef
from tests.photos.hostile_files import (
    MODE_CASES,
    animated,
    broken_cases,
    cut,
    exif_rotated,
    face_photo,
    gray16,
    huge_jpeg,
    no_face,
    save,
)

PROJECT = Path(__file__).resolve().parents[2]

# Pillow warns about the bombs before facecore refuses them: expected here.
pytestmark = pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")

#: Largest distance to the plain photo's encoding measured on six CelebA
#: people (first photo each), and the bound each test allows. Lossless
#: conversions give 0.000; the rest is the loss of the format itself (a plain
#: JPEG q95 re-save of the same photos already moves encodings 0.01-0.15).
CLOSE = {
    "mode_L.png": 0.01,  # vs the same photo in grey; 0.14-0.20 from the colour one
    "mode_LA.png": 0.01,
    "mode_I16.png": 0.01,
    "mode_RGBA.png": 0.01,
    "animated.webp": 0.01,  # lossless
    "mode_P.png": 0.25,  # 255-colour palette: measured 0.07-0.21
    "mode_P_transparent.png": 0.3,  # measured 0.09-0.26
    "animated.gif": 0.2,  # 256 colours: 0.06-0.13
    "mode_CMYK.jpg": 0.15,  # 0.03-0.10
    "photo.heic": 0.15,  # 0.03-0.08
    "exif_rotated.jpg": 0.15,  # JPEG noise of the re-save: 0.05-0.12; lossless PNG: 0.000
    "bad_exif.jpg": 0.15,
    "huge_7000px.jpg": 0.25,  # upscaled, JPEG q90, downscaled back: 0.05-0.21
}
GREY_REFERENCE = {"mode_L.png", "mode_LA.png", "mode_I16.png"}


@pytest.fixture(scope="module")
def face(dataset_dir: Path) -> Image.Image:
    return Image.open(face_photo(dataset_dir)).convert("RGB")


@pytest.fixture(scope="module")
def face_jpeg(dataset_dir: Path) -> bytes:
    return face_photo(dataset_dir).read_bytes()


def encoding_of(rgb: np.ndarray) -> np.ndarray:
    result = encode_bytes(save(Image.fromarray(rgb), "PNG"))
    assert result.reason is None, result.reason
    return result.encodings[0]


@pytest.fixture(scope="module")
def reference(face: Image.Image) -> dict[str, np.ndarray]:
    return {
        "rgb": encoding_of(np.asarray(face)),
        "grey": encoding_of(np.asarray(face.convert("L").convert("RGB"))),
    }


# --------------------------------------------------------------------------- broken files


def test_broken_files_are_refused_with_their_reason(face: Image.Image, face_jpeg: bytes) -> None:
    load_models()  # the flag face_recognition flips at import must not matter
    got = {}
    for name, (data, _) in broken_cases(face, face_jpeg).items():
        result = encode_bytes(data)
        got[name] = result.reason
        assert not result.boxes and len(result.encodings) == 0
    assert got == {name: reason for name, (_, reason) in broken_cases(face, face_jpeg).items()}


@pytest.mark.parametrize("progressive", [False, True], ids=["baseline", "progressive"])
def test_truncated_jpeg_is_reported_after_face_recognition_was_imported(
    face: Image.Image, progressive: bool, monkeypatch
) -> None:
    load_models()
    import face_recognition  # noqa: F401 - the module that sets LOAD_TRUNCATED_IMAGES = True

    data = save(face, "JPEG", quality=90, progressive=progressive)
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)  # as if someone switched it on again
    for fraction in (0.05, 0.2, 0.4, 0.6, 0.8, 0.95, 0.995):
        with pytest.raises(UnreadableImageError) as err:
            decode_image(cut(data, fraction))
        assert err.value.reason == "truncated", (fraction, err.value)
    with pytest.raises(UnreadableImageError, match="truncated"):
        decode_image(data[:-2])  # only the end-of-image marker missing
    assert decode_image(data).shape == (face.height, face.width, 3)


def test_decode_during_model_import_in_another_thread_still_reports_truncation() -> None:
    # In a fresh process: a thread decodes a cut-off JPEG over and over while
    # the main thread imports face_recognition (which switches the flag on).
    code = textwrap.dedent("""
        import io, threading
        from PIL import Image
        from facecore.photos.imaging import decode_image
        from facecore.encode.encoding import load_models
        from facecore.errors import UnreadableImageError
        buf = io.BytesIO(); Image.new("RGB", (640, 480), "red").save(buf, "JPEG")
        data = buf.getvalue()[:-100]
        stop, counts = threading.Event(), {"truncated": 0, "decoded": 0}
        def hammer():
            while not stop.is_set():
                try:
                    decode_image(data); counts["decoded"] += 1
                except UnreadableImageError as exc:
                    counts[exc.reason] = counts.get(exc.reason, 0) + 1
        t = threading.Thread(target=hammer); t.start()
        load_models(); stop.set(); t.join()
        for _ in range(5):
            try: decode_image(data); counts["decoded"] += 1
            except UnreadableImageError as exc: counts[exc.reason] += 1
        print(counts)
    """)
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    counts = eval(out.stdout.strip())  # noqa: S307 - our own dict literal
    assert counts["decoded"] == 0 and counts["truncated"] >= 5


def test_truncated_files_are_reported_by_the_worker_pool(tmp_path: Path, face: Image.Image) -> None:
    # Worker processes import face_recognition in their initializer; the files
    # they decode afterwards must still be reported, not grey-filled.
    data = save(face, "JPEG", quality=90)
    progressive = save(face, "JPEG", quality=90, progressive=True)
    for i, fraction in enumerate((0.3, 0.6, 0.9, 0.97)):
        (tmp_path / f"cut{i}.jpg").write_bytes(cut(data, fraction))
        (tmp_path / f"cut_progressive{i}.jpg").write_bytes(cut(progressive, fraction))
    refs, skipped = scan_folder(tmp_path)
    fs = encode_images(refs, EncoderSettings(), workers=2, skipped=skipped, chunk=2)
    assert len(fs) == 0
    assert sorted(s.reason for s in fs.skipped) == ["truncated"] * 8


def test_decompression_bomb_is_refused_before_any_pixel_is_decoded(monkeypatch) -> None:
    from tests.photos.hostile_files import bomb_png

    bombs = {mode: bomb_png(mode) for mode in ("1", "L")}
    assert all(len(b) < 100_000 for b in bombs.values())  # a few KB on disk

    def no_decoding(self):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    for data in bombs.values():
        with pytest.raises(UnreadableImageError) as err:
            decode_image(data)
        assert err.value.reason == "too many pixels"
        assert "10000x10000 = 100 MP is above the 80 MP limit" in err.value.detail


def test_huge_legitimate_photo_is_downscaled_not_refused(face: Image.Image, reference) -> None:
    data = huge_jpeg(face)  # 7000 px wide
    rgb = decode_image(data)
    assert max(rgb.shape[:2]) == S.WORK_MAX_SIDE
    result = encode_bytes(data)
    assert result.reason is None and len(result.boxes) == 1
    assert np.linalg.norm(result.encodings[0] - reference["rgb"]) < CLOSE["huge_7000px.jpg"]


def test_image_without_face(reference) -> None:
    assert encode_bytes(no_face()).reason == "no face"
    with pytest.raises(NoFaceFoundError, match="try a photo where the face is larger"):
        encode_query(no_face())


# --------------------------------------------------------------------------- modes, built from a real face


@pytest.mark.parametrize("name", sorted(MODE_CASES))
def test_every_mode_keeps_the_face(name: str, face: Image.Image, reference) -> None:
    data = MODE_CASES[name](face)
    result = encode_bytes(data)
    assert result.reason is None, f"{name}: {result.reason} {result.detail}"
    assert len(result.boxes) == 1
    ref = reference["grey" if name in GREY_REFERENCE else "rgb"]
    distance = float(np.linalg.norm(result.encodings[0] - ref))
    assert distance < CLOSE[name], f"{name}: distance {distance:.3f}"
    assert np.linalg.norm(result.encodings[0] - reference["rgb"]) < S.SAME_PERSON_THRESHOLD


def test_16_bit_png_keeps_the_picture_instead_of_clipping_to_white(face: Image.Image) -> None:
    grey = np.asarray(face.convert("L"), dtype=np.float64)
    rgb = decode_image(save(gray16(face), "PNG"))
    assert Image.open(io.BytesIO(save(gray16(face), "PNG"))).mode == "I;16"
    assert np.abs(rgb[..., 0] - grey).max() <= 1  # 16 -> 8 bit, not min(v, 255)
    assert rgb.mean() < 200


def test_exif_rotation_is_applied(face: Image.Image, reference) -> None:
    # Lossless container: the decoded pixels are exactly the upright photo.
    png = exif_rotated(face, "PNG")
    assert np.array_equal(decode_image(png), np.asarray(face))
    # A phone JPEG: stored sideways, face found upright, encoding close.
    jpeg = exif_rotated(face)
    assert Image.open(io.BytesIO(jpeg)).size == (face.height, face.width)
    rgb = decode_image(jpeg)
    assert rgb.shape == (face.height, face.width, 3)
    assert np.linalg.norm(encode_bytes(jpeg).encodings[0] - reference["rgb"]) < CLOSE["exif_rotated.jpg"]


def test_animation_uses_its_first_frame(face: Image.Image) -> None:
    for fmt in ("GIF", "WEBP"):
        assert encode_bytes(animated(face, fmt, face_first=True)).reason is None
        assert encode_bytes(animated(face, fmt, face_first=False)).reason == "no face"


def test_heic_is_decoded(face: Image.Image) -> None:
    from facecore.photos.imaging import HEIF_SUPPORTED

    assert HEIF_SUPPORTED
    data = MODE_CASES["photo.heic"](face)
    assert data[4:12] == b"ftypheic"
    assert decode_image(data).shape == (face.height, face.width, 3)


def test_formats_outside_the_photo_list_are_not_decoded(face: Image.Image) -> None:
    # Pillow could open these; facecore only runs the decoders of photo formats.
    for fmt, kw in (("TGA", {}), ("PCX", {}), ("ICO", {}), ("PPM", {}), ("EPS", {})):
        try:
            data = save(face if fmt != "ICO" else face.resize((64, 64)), fmt, **kw)
        except OSError:  # EPS needs Ghostscript to write
            data = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n"
        with pytest.raises(UnreadableImageError) as err:
            decode_image(data)
        assert err.value.reason == "not an image", fmt


# --------------------------------------------------------------------------- parameters and stopping


def test_parameters_beyond_the_data_name_the_fix(small_faceset) -> None:
    x = small_faceset.encodings
    with pytest.raises(InvalidParameterError, match=r"dims=500 must be between"):
        fit_model(x, dims=500, k=3)
    with pytest.raises(InvalidParameterError, match=rf"k={len(x) + 1} must be between 1 and n_faces={len(x)}"):
        fit_model(x, dims=5, k=len(x) + 1)
    for n in (0, 1):
        with pytest.raises(NotEnoughFacesError, match=rf"n_faces={n} should be >= 2: add photos with faces"):
            fit_model(x[:n], dims=2, k=1)


def _linked_photos(tmp_path: Path, small_people, n: int):
    """A folder of links to the first ``n`` photos of the small people, scanned, with a fresh cache."""
    folder = tmp_path / "many"
    folder.mkdir()
    photos = sorted(p for person in small_people for p in person.glob("*.jpg"))[:n]
    for p in photos:
        (folder / p.name).symlink_to(p)
    refs, skipped = scan_folder(folder)
    return refs, skipped, EncodingStore(tmp_path / "c.sqlite")


def test_stopping_keeps_the_finished_images(tmp_path: Path, small_people) -> None:
    refs, skipped, store = _linked_photos(tmp_path, small_people, 12)
    seen = []

    def on_progress(p) -> None:
        seen.append(p.done)

    fs = encode_images(refs, EncoderSettings(), store, workers=1, skipped=skipped,
                       on_progress=on_progress, should_stop=lambda: len(seen) > 3)
    assert fs.stopped
    assert seen == [0, 1, 2, 3]  # progress reported before each image
    assert 0 < len(fs) <= 3 and fs.encoded == 3
    done = {f.digest for f in fs.faces}
    # what was finished is in the cache, so the next run starts from there
    cached = store.get_many(done, EncoderSettings().key)
    assert set(cached) == done
    again = encode_images(refs, EncoderSettings(), store, workers=1, skipped=skipped)
    assert not again.stopped and again.cached == 3 and again.encoded == len(refs) - 3


def test_stopping_the_worker_pool_keeps_the_finished_images(tmp_path: Path, small_people) -> None:
    refs, skipped, store = _linked_photos(tmp_path, small_people, 16)
    progress = []
    fs = encode_images(refs, EncoderSettings(), store, workers=2, skipped=skipped, chunk=1,
                       on_progress=progress.append, should_stop=lambda: progress[-1].done >= 2)
    assert fs.stopped
    assert 2 <= fs.encoded < len(refs)
    assert len(fs) > 0
    cached = store.get_many([f.digest for f in fs.faces], EncoderSettings().key)
    assert len(cached) == len({f.digest for f in fs.faces})


def test_unreadable_reference_in_a_set_is_skipped_not_fatal(tmp_path: Path, face_jpeg: bytes) -> None:
    good = tmp_path / "good.jpg"
    good.write_bytes(face_jpeg)
    refs = [ImageRef("good.jpg", path=str(good)), ImageRef("gone.jpg", path=str(tmp_path / "gone.jpg"))]
    fs = encode_images(refs, EncoderSettings(), workers=1)
    assert len(fs) == 1
    assert [(s.path, s.reason) for s in fs.skipped] == [("gone.jpg", "unreadable")]


def test_progress_reaches_the_total_when_files_repeat(tmp_path: Path, face_jpeg: bytes) -> None:
    refs = [ImageRef(f"same{i}.png", data=save(Image.new("RGB", (32, 32), "white"), "PNG")) for i in range(50)]
    refs.append(ImageRef("face.jpg", data=face_jpeg))
    progress = []
    fs = encode_images(refs, EncoderSettings(), workers=1, on_progress=progress.append)
    assert fs.encoded == 2 and len(fs) == 1
    assert (progress[-1].done, progress[-1].total) == (51, 51)


def test_a_worker_killed_mid_run_is_a_clear_error_and_the_next_run_works(tmp_path: Path, small_people) -> None:
    import multiprocessing
    import signal

    from facecore.errors import WorkerCrashedError

    folder = tmp_path / "photos"
    folder.mkdir()
    for p in sorted(small_people[2].glob("*.jpg"))[:10]:
        (folder / p.name).symlink_to(p)
    refs, _ = scan_folder(folder)
    store = EncodingStore(tmp_path / "c.sqlite")
    killed: list[int] = []

    def kill_a_worker(p) -> None:  # what the kernel's OOM killer would do
        if p.done >= 1 and not killed:
            victim = multiprocessing.active_children()[0]
            os.kill(victim.pid, signal.SIGKILL)
            killed.append(victim.pid)

    with pytest.raises(WorkerCrashedError, match="Finished photos are cached: run again to continue"):
        encode_images(refs, EncoderSettings(), store, workers=2, chunk=1, on_progress=kill_a_worker)
    assert killed
    assert store.stats()["images"] >= 1  # what finished before the crash was kept
    fs = encode_images(refs, EncoderSettings(), store, workers=2, chunk=1)
    assert fs.cached >= 1 and fs.cached + fs.encoded == len(refs)


def _cli(*args: str, cache: Path) -> subprocess.CompletedProcess:
    # --json: no progress bar on stderr, so an error is all stderr holds
    return subprocess.run([sys.executable, "-m", "facecore", *args, "--json", "--cache", str(cache)],
                          capture_output=True, text=True, cwd=PROJECT, timeout=900)


def _one_line_error(out: subprocess.CompletedProcess) -> str:
    assert out.returncode == 2, out.stderr
    assert out.stdout == "" and "Traceback" not in out.stderr
    assert out.stderr.startswith("error: ") and out.stderr.count("\n") == 1, out.stderr
    return out.stderr


def test_cli_errors_say_what_to_do(tmp_path: Path, small_dataset: Path, session_cache: Path, small_faceset,
                                   face_jpeg: bytes) -> None:
    one = tmp_path / "one_face"
    one.mkdir()
    (one / "face.jpg").write_bytes(face_jpeg)
    (one / "blank.jpg").write_bytes(no_face())
    (one / "cut.jpg").write_bytes(cut(face_jpeg, 0.5))
    err = _one_line_error(_cli("evaluate", "--dataset", str(one), cache=session_cache))
    assert "n_faces=1 should be >= 2" in err and "1 no face" in err and "1 truncated" in err
    assert "add photos with a visible face" in err

    blank = tmp_path / "blank.jpg"
    blank.write_bytes(no_face())
    err = _one_line_error(_cli("similar", "--dataset", str(small_dataset), "--query", str(blank), "--k", "3",
                               cache=session_cache))
    assert "No face was found in the query photo: try a photo where the face is larger" in err

    text = tmp_path / "query.jpg"
    text.write_text("not a photo")
    err = _one_line_error(_cli("similar", "--dataset", str(small_dataset), "--query", str(text), "--k", "3",
                               cache=session_cache))
    assert "cannot be used (not an image" in err and "give a JPEG, PNG, WebP or HEIC photo" in err

    query = small_dataset / small_faceset.faces[0].name
    err = _one_line_error(_cli("similar", "--dataset", str(small_dataset), "--query", str(query),
                               "--dims", "500", "--k", "3", cache=session_cache))
    assert "dims=500 must be between" in err
    err = _one_line_error(_cli("similar", "--dataset", str(small_dataset), "--query", str(query),
                               "--k", "1000", cache=session_cache))
    assert f"k=1000 must be between 1 and n_faces={len(small_faceset)}: choose fewer clusters" in err
