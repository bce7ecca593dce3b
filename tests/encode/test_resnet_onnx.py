"""dlib's face ResNet in onnxruntime: the .dat reader, the cached conversion, and equality with dlib on real faces."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from facecore.encode.detection import detect_faces, face_chips, load_models
from facecore.encode.dlib_file import DlibFormatError, read_dlib_resnet, source_digest, source_model_path
from facecore.encode.onnx_session import OnnxFaceEncoder, converted_model_path, load_encoder, load_session
from facecore.errors import OnnxEncoderUnavailableError

TOLERANCE = 1e-4  # per component, vs face_recognition.face_encodings
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")  # as facecore does; importorskip below imports onnxruntime


def _load_rgb(path: Path) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import face_recognition

    return face_recognition.load_image_file(path)


def _reference(rgb: np.ndarray, boxes: list) -> np.ndarray:
    """face_recognition's own encodings for the given boxes (the article's call), float64 (n, 128)."""
    api = load_models()
    return np.array(api.face_encodings(rgb, known_face_locations=boxes, model="small"))


def _photos(dataset_dir: Path, people: int, per_person: int) -> list[Path]:
    folders = sorted(p for p in dataset_dir.glob("person_*") if p.is_dir())[:people]
    return [photo for folder in folders for photo in sorted(folder.glob("*.jpg"))[:per_person]]


@pytest.fixture(scope="module")
def encoder(tmp_path_factory: pytest.TempPathFactory) -> OnnxFaceEncoder:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    return load_encoder(tmp_path_factory.mktemp("onnx-cache"))


def test_reader_parses_the_whole_installed_model() -> None:
    net = read_dlib_resnet(source_model_path())  # raises if a byte is left over or a layer is unexpected
    kinds = [layer.kind for layer in net.layers]
    assert kinds.count("con") == 29 and kinds.count("affine") == 29 and kinds.count("add_prev") == 14
    assert net.input_side == 150
    assert np.allclose(net.input_mean, (122.782, 117.001, 104.298))
    first, fc = net.layers[0], net.layers[-1]
    assert first.weights["w"].shape == (32, 3, 7, 7) and first.attrs == {"stride": 2, "pad": 0, "relu": 0}
    assert fc.kind == "fc" and fc.weights["w"].shape == (256, 128)


def test_truncated_model_file_is_a_format_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.dat"
    bad.write_bytes(source_model_path().read_bytes()[:100_000])
    with pytest.raises(DlibFormatError):
        read_dlib_resnet(bad)


def test_conversion_is_cached_and_atomic(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    load_session(tmp_path)
    path = converted_model_path(tmp_path)
    assert path.is_file() and path.parent == tmp_path
    mtime = path.stat().st_mtime_ns
    load_session(tmp_path)  # the second load reuses the file
    assert path.stat().st_mtime_ns == mtime
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left behind


def test_two_processes_converting_at_once_both_get_a_whole_file(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    code = "import sys; from facecore.encode.onnx_session import load_session; load_session(sys.argv[1])"
    root = Path(__file__).resolve().parents[2]
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], cwd=root) for _ in range(2)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    assert [p.name for p in tmp_path.iterdir()] == [converted_model_path(tmp_path).name]


def test_changed_source_file_gets_a_new_converted_file(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    original = source_model_path()
    data = bytearray(original.read_bytes())
    data[len(data) // 2] ^= 0x01  # one low bit inside a convolution's float32 weights
    changed = tmp_path / "changed.dat"
    changed.write_bytes(bytes(data))
    cache = tmp_path / "cache"
    assert source_digest(changed) != source_digest(original)
    load_session(cache, original)
    load_session(cache, changed)
    paths = {converted_model_path(cache, original), converted_model_path(cache, changed)}
    assert len(paths) == 2 and all(p.is_file() for p in paths)


def test_missing_onnxruntime_raises_the_specific_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # `import onnxruntime` now raises ImportError
    with pytest.raises(OnnxEncoderUnavailableError, match="onnxruntime is not installed"):
        load_encoder(tmp_path)
    assert not any(tmp_path.iterdir())


def test_missing_onnx_raises_the_specific_error_when_a_conversion_is_needed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("onnxruntime")
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(OnnxEncoderUnavailableError, match="onnx package is not installed"):
        load_encoder(tmp_path)


def test_unconvertible_source_raises_the_specific_error(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    bad = tmp_path / "bad.dat"
    bad.write_bytes(b"\x01\x01\x05hello")
    with pytest.raises(OnnxEncoderUnavailableError, match="Converting dlib's face model to ONNX failed"):
        load_encoder(tmp_path / "cache", bad)


def test_encode_chips_checks_its_input(encoder: OnnxFaceEncoder) -> None:
    assert encoder.encode_chips(np.zeros((0, 150, 150, 3), np.uint8)).shape == (0, 128)
    with pytest.raises(ValueError, match="uint8"):
        encoder.encode_chips(np.zeros((1, 150, 150, 3), np.float32))
    with pytest.raises(ValueError, match="150"):
        encoder.encode_chips(np.zeros((1, 3, 150, 150), np.uint8))
    assert encoder.encode_faces(np.zeros((20, 20, 3), np.uint8), []).shape == (0, 128)


def test_same_descriptors_as_dlib_on_a_few_faces(encoder: OnnxFaceEncoder, small_people: list[Path]) -> None:
    api = load_models()
    for photo in [sorted(folder.glob("*.jpg"))[0] for folder in small_people]:
        rgb = _load_rgb(photo)
        boxes = detect_faces(rgb)
        if not boxes:
            continue
        chips = face_chips(rgb, boxes)
        assert chips.shape == (len(boxes), 150, 150, 3) and chips.dtype == np.uint8
        ref = _reference(rgb, boxes)
        # Our chips are dlib's own: its network on them gives face_recognition's numbers exactly.
        from_chips = np.array([api.face_encoder.compute_face_descriptor(c) for c in chips])
        assert np.array_equal(from_chips, ref)
        out = encoder.encode_chips(chips)
        assert out.dtype == np.float32 and out.shape == (len(boxes), 128)
        assert np.abs(out - ref).max() < TOLERANCE
        # Batches of any size give the same numbers.
        assert np.abs(OnnxFaceEncoder(encoder.session, 1).encode_faces(rgb, boxes) - out).max() < 1e-5


@pytest.mark.slow
def test_equal_to_face_recognition_on_220_faces(
    encoder: OnnxFaceEncoder, dataset_dir: Path, record_property: pytest.RecordProperty
) -> None:
    photos = _photos(dataset_dir, people=110, per_person=2)
    ours, refs = [], []
    for photo in photos:
        rgb = _load_rgb(photo)
        boxes = detect_faces(rgb)
        if boxes:
            ours.append(encoder.encode_faces(rgb, boxes))
            refs.append(_reference(rgb, boxes))
    ours_all, refs_all = np.concatenate(ours), np.concatenate(refs)
    max_diff = float(np.abs(ours_all - refs_all).max())
    record_property("max_abs_diff", max_diff)
    print(f"\n{len(ours_all)} faces from {len(photos)} photos: max abs difference {max_diff:.3g}")
    assert len(ours_all) >= 200
    assert max_diff < TOLERANCE, f"max abs difference {max_diff}"


def test_module_imports_without_onnx_or_sklearn() -> None:
    code = (
        "import sys; sys.modules['onnx'] = None; sys.modules['onnxruntime'] = None\n"
        "import facecore.encode.dlib_file, facecore.encode.onnx_graph, facecore.encode.onnx_session\n"
        "print('sklearn' in sys.modules, 'streamlit' in sys.modules)"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert out.stdout.strip() == "False False"


def test_copy_of_the_model_converts_like_the_original(tmp_path: Path) -> None:
    """Same bytes at another path: same digest, same converted file name."""
    copy = tmp_path / "copy.dat"
    shutil.copyfile(source_model_path(), copy)
    assert converted_model_path(tmp_path, copy) == converted_model_path(tmp_path)
