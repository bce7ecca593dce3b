"""The encoding cache under stress: concurrent writers, damaged files, privacy of what it keeps."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from facecore import EncoderSettings, EncodingStore, clear_cache, encode_images, scan_folder
from facecore.encode.encoding import EncodedImage
from facecore.errors import CacheError

PROJECT = Path(__file__).resolve().parents[2]


def cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "facecore", *args], cwd=PROJECT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def fake(digest: str, n_faces: int = 1) -> EncodedImage:
    rng = np.random.default_rng(int(digest[:8], 16))
    return EncodedImage(digest, 100, 80, [(1, 50, 60, 2)] * n_faces,
                        rng.normal(size=(n_faces, 128)).astype(np.float32), [b"thumb"] * n_faces)


def test_two_processes_writing_one_cache_both_succeed(tmp_path: Path, small_people) -> None:
    folders = []
    for person in small_people[:2]:
        folder = tmp_path / person.name
        folder.mkdir()
        for p in sorted(person.glob("*.jpg")):
            (folder / p.name).symlink_to(p)
        folders.append(folder)
    cache = tmp_path / "shared.sqlite"
    procs = [cli("encode", str(f), "--json", "--cache", str(cache), "--workers", "1") for f in folders]
    outs = [p.communicate(timeout=900) for p in procs]
    for p, (_, stderr) in zip(procs, outs, strict=True):
        assert p.returncode == 0, stderr
        assert "Traceback" not in stderr
    results = [json.loads(stdout) for stdout, _ in outs]
    store = EncodingStore(cache)
    assert store.integrity_ok()
    assert store.stats()["images"] == sum(r["images"] for r in results)
    # both folders now load fully from the cache
    for folder, first in zip(folders, results, strict=True):
        refs, skipped = scan_folder(folder)
        fs = encode_images(refs, EncoderSettings(), store, workers=1, skipped=skipped)
        assert fs.encoded == 0 and fs.cached == len(refs) == first["images"]
        assert len(fs) == first["faces"]


def test_many_threads_of_writers_and_readers_keep_the_file_whole(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    store = EncodingStore(tmp_path / "c.sqlite")

    def job(i: int) -> int:
        batch = [fake(f"{i:04x}{j:060x}") for j in range(20)]
        store.put_many(batch, "k")
        return len(store.get_many([r.digest for r in batch], "k"))

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(job, range(40))) == [20] * 40
    assert store.integrity_ok() and store.stats()["images"] == 800


def test_cache_file_is_private(tmp_path: Path) -> None:
    store = EncodingStore(tmp_path / "new" / "dir" / "c.sqlite")
    store.put_many([fake("ab" * 32)], "k")
    assert stat.S_IMODE(os.stat(tmp_path / "new" / "dir").st_mode) == 0o700
    for p in (tmp_path / "new" / "dir").iterdir():  # the database and its -wal/-shm files
        assert stat.S_IMODE(p.stat().st_mode) & 0o077 == 0, p


def test_deleted_encodings_are_gone_from_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    store = EncodingStore(path)
    keep, gone = fake("11" * 32), fake("22" * 32)
    store.put_many([keep, gone], "k")
    assert store.delete([gone.digest]) == 1
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert gone.encodings.tobytes() not in raw and gone.digest.encode() not in raw
    assert keep.encodings.tobytes() in raw
    clear_cache(store)
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert keep.encodings.tobytes() not in raw


def test_a_file_that_is_not_a_cache_is_a_clear_error(tmp_path: Path) -> None:
    notes = tmp_path / "notes.sqlite"
    notes.write_text("my notes, not a database\n" * 100)
    with pytest.raises(CacheError, match="is not a readable facecore cache"):
        EncodingStore(notes)
    assert notes.read_text().startswith("my notes")  # never deleted or overwritten
    folder = tmp_path / "photos"
    folder.mkdir()
    out = subprocess.run([sys.executable, "-m", "facecore", "encode", str(folder), "--cache", str(notes)],
                         capture_output=True, text=True, cwd=PROJECT, timeout=300)
    assert out.returncode == 2 and "Traceback" not in out.stderr


def test_cache_in_a_place_that_cannot_be_written_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for path in (blocker / "c.sqlite", blocker / "deeper" / "c.sqlite"):  # a file where a folder should be
        with pytest.raises(CacheError, match="choose another file with --cache") as err:
            EncodingStore(path)
        assert f"{str(blocker)!r} is a file, not a folder" in str(err.value)  # the file in the way, by name
    out = subprocess.run([sys.executable, "-m", "facecore", "cache", "info", "--cache", str(blocker / "c.sqlite")],
                         capture_output=True, text=True, cwd=PROJECT, timeout=300)
    assert out.returncode == 2
    assert out.stderr.startswith("error: Cannot create the encoding cache") and out.stderr.count("\n") == 1
    assert "is a file, not a folder" in out.stderr
    assert blocker.read_text() == "x"


# A store that fills up mid-run: one batch committed, then the file-size limit
# (ulimit -f) makes the next write fail with EFBIG. Python ignores SIGXFSZ, so
# the write fails instead of the process being killed.
_FULL_DISK = """
import json, resource, sys
import numpy as np
from facecore.encode.encoding import EncodedImage
from facecore.errors import CacheError
from facecore.storage.encodings import EncodingStore

def fake(i):
    return EncodedImage(f"{i:064x}", 100, 80, [(1, 50, 60, 2)], np.full((1, 128), i, np.float32), [bytes(20_000)])

store = EncodingStore(sys.argv[1])
store.put_many([fake(1)], "k")
resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, resource.RLIM_INFINITY))
try:
    store.put_many([fake(i) for i in range(2, 40)], "k")
    print(json.dumps({"error": None}))
except CacheError as exc:
    print(json.dumps({"error": str(exc)}))
"""


def test_a_full_disk_is_reported_as_such_and_keeps_what_was_committed(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    out = subprocess.run([sys.executable, "-c", _FULL_DISK, str(path)], capture_output=True, text=True,
                         cwd=PROJECT, timeout=300)
    assert out.returncode == 0, out.stderr
    error = json.loads(out.stdout)["error"]
    assert error is not None
    # SQLite's own cause, not the "cannot rollback - no transaction is active" of a second ROLLBACK
    assert error.startswith(f"disk full or file too large: cannot write {str(path)!r} (SQLite: disk I/O error")
    assert "no transaction" not in error
    assert "files limited to 64.0 KiB for this process (ulimit -f)" in error
    store = EncodingStore(path)
    assert store.integrity_ok()
    assert list(store.get_many([f"{i:064x}" for i in range(1, 40)], "k")) == [f"{1:064x}"]


def test_damaged_rows_are_cache_misses(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    store = EncodingStore(path)
    good, bad = fake("33" * 32), fake("44" * 32)
    store.put_many([good, bad], "k")
    with sqlite3.connect(path) as con:
        con.execute("UPDATE faces SET encoding = x'00' WHERE digest = ?", (bad.digest,))
    got = store.get_many([good.digest, bad.digest], "k")
    assert list(got) == [good.digest]
    assert np.array_equal(got[good.digest].encodings, good.encodings)


def test_the_stamp_changes_with_every_write_and_only_then(tmp_path: Path) -> None:
    store = EncodingStore(tmp_path / "c.sqlite")
    store.put_many([fake("ab" * 32)], "k")
    before = store.stamp()
    assert before and before == store.stamp()  # reading changes nothing: the app keeps its counts
    assert store.stats()["images"] == 1 and store.stamp() == before
    store.put_many([fake("cd" * 32)], "k")
    assert store.stamp() != before and store.stats()["images"] == 2
