"""Importing encodings made elsewhere (facecore.photos.exchange, facecore.storage.imported): the export round
trip, parquet, re-opening, pictures, and malformed files refused with one line and nothing written."""

from __future__ import annotations

import hashlib
import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from facecore import EncodingStore
from facecore.cli import main
from facecore.errors import ImportRefusedError
from facecore.photos.exchange import encodings_npz, read_encodings
from facecore.photos.thumbnails import face_thumbnails
from facecore.storage.imported import delete_imported, import_encodings, imported_key, imported_sets, load_imported


def _arrays(npz: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(npz)) as z:
        return {k: z[k] for k in z.files}


def _npz(**arrays: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


@pytest.fixture(scope="module")
def exported(small_faceset) -> bytes:
    return encodings_npz(small_faceset)


@pytest.fixture(scope="module")
def roots(small_dataset: Path, dataset_dir: Path) -> list[Path]:
    # the small dataset holds links into the shared folder: both are allowed, relative paths start at the first
    return [small_dataset, dataset_dir]


def test_the_export_imports_back_exactly(small_faceset, exported, roots, small_dataset, tmp_path) -> None:
    store = EncodingStore(tmp_path / "c.sqlite")
    fs = import_encodings(exported, store, roots, name="six people")
    assert np.array_equal(fs.encodings, small_faceset.encodings) and fs.encodings.dtype == np.float32
    for mine, theirs in zip(fs.faces, small_faceset.faces, strict=True):
        assert (mine.digest, mine.in_photo, mine.box, mine.person) == (
            theirs.digest, theirs.in_photo, theirs.box, theirs.person)
        assert Path(mine.name) == (small_dataset / theirs.name).resolve()  # the real path of the same photo
    assert fs.images == small_faceset.photos_with_face
    # listed, and re-opened later by its key: the sha256 of the file
    [info] = imported_sets(store)
    assert (info.key, info.name, info.faces) == (hashlib.sha256(exported).hexdigest(), "six people", len(fs))
    assert info.key.startswith(imported_key(fs))
    again = load_imported(store, info.key)
    assert again.key == fs.key and np.array_equal(again.encodings, fs.encodings) and again.faces == fs.faces
    # importing the same file twice keeps one set; the encoder's own cache rows are untouched
    import_encodings(exported, store, roots)
    assert len(imported_sets(store)) == 1
    assert fs.settings_key.startswith("import|") and fs.settings_key != small_faceset.settings_key
    assert store.get_many(fs.digests, small_faceset.settings_key) == {}


def test_reachable_photos_give_face_pictures_on_demand(exported, roots, tmp_path) -> None:
    store = EncodingStore(tmp_path / "c.sqlite")
    fs = import_encodings(exported, store, roots)
    rows = [0, 1, len(fs) - 1]
    assert store.thumbnails(fs.thumb_keys(rows), fs.settings_key) == {}  # none stored at import
    assert face_thumbnails(fs, rows, store, [tmp_path]) == {}  # photos outside the allowed folders: none
    pics = face_thumbnails(fs, rows, store, roots)
    assert set(pics) == set(fs.thumb_keys(rows))
    assert all(p[:3] == b"\xff\xd8\xff" for p in pics.values())  # JPEG
    # kept with their faces once cut: read back without decoding any photo (none may be read here)
    assert store.thumbnails(fs.thumb_keys(rows), fs.settings_key) == pics
    assert face_thumbnails(fs, rows, store, [tmp_path]) == pics
    assert store.thumbnails(fs.thumb_keys([2]), fs.settings_key) == {}  # only the faces shown


def test_minimal_file_paths_only_digests_from_the_photos(small_faceset, exported, roots, tmp_path) -> None:
    a = _arrays(exported)
    gone = tmp_path / "gone" / "x.jpg"  # allowed, but not there: imported without a picture
    f = read_encodings(_npz(encodings=np.vstack([a["encodings"], a["encodings"][:1]]),
                            path=np.append(a["path"], str(gone))), [*roots, tmp_path])  # fmt: skip
    assert list(f.digests[:-1]) == [x.digest for x in small_faceset.faces]  # sha256 of each photo read
    assert len(f.digests[-1]) == 64 and f.boxes[-1].tolist() == [0, 0, 0, 0]
    assert f.persons[:-1] == tuple(small_faceset.persons)  # the folder names the person, as for encoded folders
    store = EncodingStore(tmp_path / "c.sqlite")
    from facecore.storage.imported import write_imported

    fs = write_imported(f, store)
    pics = face_thumbnails(fs, [0, len(fs) - 1], store, [*roots, tmp_path])
    assert list(pics) == fs.thumb_keys([0])  # the photo that is gone gives no picture, and no error


def test_parquet_imports_like_npz(exported, roots, tmp_path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    a = _arrays(exported)
    table = pa.table({
        "encoding": pa.FixedSizeListArray.from_arrays(pa.array(a["encodings"].ravel()), 128),
        "path": a["path"], "person": a["person"], "digest": a["digest"], "face": a["face"],
        "box": pa.FixedSizeListArray.from_arrays(pa.array(a["box"].ravel()), 4),
    })  # fmt: skip
    path = tmp_path / "faces.parquet"
    pq.write_table(table, path)
    from_npz = read_encodings(exported, roots)
    from_parquet = read_encodings(path, roots)
    assert np.array_equal(from_parquet.encodings, from_npz.encodings)
    assert (from_parquet.paths, from_parquet.digests, from_parquet.faces) == (
        from_npz.paths, from_npz.digests, from_npz.faces)
    assert np.array_equal(from_parquet.boxes, from_npz.boxes)
    ragged = pa.table({"encoding": pa.array([[0.0] * 128, [0.0] * 127]), "path": ["a.jpg", "b.jpg"]})
    pq.write_table(ragged, tmp_path / "ragged.parquet")
    with pytest.raises(ImportRefusedError, match="lists of different lengths"):
        read_encodings(tmp_path / "ragged.parquet", roots)


def test_parquet_without_pyarrow_is_one_clear_line(roots, tmp_path, monkeypatch) -> None:
    path = tmp_path / "x.parquet"
    path.write_bytes(b"PAR1" + b"\0" * 16 + b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(ImportRefusedError, match="needs the package pyarrow"):
        read_encodings(path, roots)


def test_cli_import_and_reopen(exported, roots, tmp_path, capsys) -> None:
    path = tmp_path / "mine.npz"
    path.write_bytes(exported)
    cache = tmp_path / "cli.sqlite"
    argv = ["import", str(path), "--root", str(roots[0]), "--root", str(roots[1]), "--cache", str(cache)]
    assert main([*argv, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["name"] == "mine" and out["faces"] == len(_arrays(exported)["path"])
    assert len(load_imported(EncodingStore(cache), out["key"])) == out["faces"]
    assert main(argv + ["--name", "again"]) == 0
    assert "Imported" in capsys.readouterr().out
    assert delete_imported(EncodingStore(cache), out["key"]) == out["photos"]
    assert imported_sets(EncodingStore(cache)) == [] and EncodingStore(cache).stats()["faces"] == 0


def _malformed(a: dict[str, np.ndarray], tmp: Path) -> dict[str, bytes]:
    n = len(a["path"])
    nan = a["encodings"].copy()
    nan[3, 7] = np.nan
    dup = {k: np.concatenate([v, v[:1]]) for k, v in a.items()}
    outside = a["path"].copy()
    outside[2] = "/etc/passwd"
    escape = a["path"].copy()
    escape[1] = "../../../../../../../etc/shadow"
    box = a["box"].copy()
    box[0] = [10, 5, 5, 10]
    return {
        "wrong shape": _npz(**{**a, "encodings": a["encodings"][:, :64]}),
        "NaN": _npz(**{**a, "encodings": nan}),
        "infinite in float32": _npz(**{**a, "encodings": a["encodings"].astype(np.float64) * 1e300}),
        "integers": _npz(**{**a, "encodings": (a["encodings"] * 100).astype(np.int32)}),
        "path outside the allowed folders": _npz(**{**a, "path": outside}),
        "path escaping with ..": _npz(**{**a, "path": escape}),
        "duplicate rows": _npz(**dup),
        "no path array": _npz(encodings=a["encodings"]),
        "fewer paths than encodings": _npz(**{**a, "path": a["path"][: n - 1]}),
        "pickled objects": _npz(**{**a, "person": np.array(list(a["person"]), dtype=object)}),
        "bad box": _npz(**{**a, "box": box}),
        "bad digest": _npz(**{**a, "digest": np.array(["nope"] * n)}),
        "truncated npz": _npz(**a)[:-200],
        "not npz or parquet": b"name,encoding\nx.jpg,0.1\n",
        "empty file": b"",
    }


CASES = ["wrong shape", "NaN", "infinite in float32", "integers", "path outside the allowed folders",
         "path escaping with ..", "duplicate rows", "no path array", "fewer paths than encodings", "pickled objects",
         "bad box", "bad digest", "truncated npz", "not npz or parquet", "empty file"]  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_a_malformed_file_is_refused_in_one_line_and_writes_nothing(case, exported, roots, tmp_path, capsys) -> None:
    path = tmp_path / "bad.npz"
    path.write_bytes(_malformed(_arrays(exported), tmp_path)[case])
    cache = tmp_path / "cache" / "c.sqlite"
    rc = main(["import", str(path), "--root", str(roots[0]), "--root", str(roots[1]), "--cache", str(cache)])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("error: Cannot import bad.npz: ") and err.count("\n") == 1, err
    assert not cache.exists()  # nothing written, not even an empty cache
    store = EncodingStore(tmp_path / "api.sqlite")  # the app's way in refuses it alike, before writing
    with pytest.raises(ImportRefusedError):
        import_encodings(path.read_bytes(), store, roots)
    assert store.stats()["faces"] == 0 and imported_sets(store) == []


def test_unreadable_file_and_no_allowed_folder(exported, tmp_path, capsys) -> None:
    assert main(["import", str(tmp_path / "missing.npz"), "--root", str(tmp_path), "--cache",
                 str(tmp_path / "c.sqlite")]) == 2  # fmt: skip
    assert "cannot be read" in capsys.readouterr().err
    with pytest.raises(ImportRefusedError, match="no allowed folder"):
        read_encodings(exported, [])


def test_the_scale_generator_writes_an_importable_file(small_faceset, small_dataset, dataset_dir, tmp_path) -> None:
    from bench.scale import scale_faceset

    fs = scale_faceset(small_faceset, small_dataset, 500, seed=3)
    store = EncodingStore(tmp_path / "c.sqlite")
    imported = import_encodings(encodings_npz(fs), store, [dataset_dir])  # absolute paths, real photos
    assert len(imported) == 500 and imported.images == len(small_faceset)
    # each face is a real one plus a little noise, in the real face's photo and box
    real = {(f.digest): i for i, f in enumerate(small_faceset.faces)}
    src = np.array([real[f.digest] for f in imported.faces])
    d = np.linalg.norm(imported.encodings - small_faceset.encodings[src], axis=1)
    from bench.synthetic import within_person_std

    spread = float(np.linalg.norm(within_person_std(small_faceset.encodings, small_faceset.persons)))
    assert np.median(d) == pytest.approx(spread, rel=0.2) and spread < 0.6  # closer than "same person" (0.6)
    assert [f.box for f in imported.faces] == [small_faceset.faces[i].box for i in src]
    assert face_thumbnails(imported, [0], store, [dataset_dir])
