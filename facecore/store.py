"""The persistent encoding cache: one SQLite file, keyed by content hash + encoder settings.

A row per image records what the encoder made of it (its faces, or why it
was skipped), so re-opening a folder, even renamed or moved, does no
detection at all. Each face keeps its box, its float32 encoding and a small
JPEG thumbnail for the app. SQLite in WAL mode with a busy timeout lets
several processes read and write the same file without corrupting it; every
call opens its own short connection, so one store object is safe to share
between threads (Streamlit sessions).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .encode.encoding import EncodedImage
from .errors import CacheError
from .photos.imaging import Box

_SCHEMA = """
CREATE TABLE IF NOT EXISTS images (
    digest   TEXT NOT NULL,
    settings TEXT NOT NULL,
    width    INTEGER NOT NULL,
    height   INTEGER NOT NULL,
    n_faces  INTEGER NOT NULL,
    reason   TEXT,
    detail   TEXT NOT NULL DEFAULT '',
    created  REAL NOT NULL,
    PRIMARY KEY (digest, settings)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS faces (
    digest   TEXT NOT NULL,
    settings TEXT NOT NULL,
    idx      INTEGER NOT NULL,
    top      INTEGER NOT NULL,
    right    INTEGER NOT NULL,
    bottom   INTEGER NOT NULL,
    left     INTEGER NOT NULL,
    encoding BLOB NOT NULL,
    thumb    BLOB,
    PRIMARY KEY (digest, settings, idx)
) WITHOUT ROWID;
"""

_BATCH = 500  # SQLite's default limit on host parameters is 999 (older builds)

# SQLite's result codes for a write the disk refused: SQLITE_FULL (ENOSPC) and
# the extended I/O errors of writing, syncing or growing a file (EFBIG past a
# file-size limit, EDQUOT, ...). Read errors are left out: they are not a full disk.
_SQLITE_FULL = 13
_WRITE_ERRORS = {778, 1034, 1290, 1546, 4874}  # IOERR_WRITE, _FSYNC, _DIR_FSYNC, _TRUNCATE, _SHMSIZE


@contextmanager
def _transaction(con: sqlite3.Connection) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``; on any error, roll back what SQLite has not already rolled back.

    After a full disk or an I/O error SQLite may have ended the transaction
    itself: an explicit ``ROLLBACK`` then fails with "no transaction is
    active", and that second error must not hide the first, which names the cause.
    """
    con.execute("BEGIN IMMEDIATE")
    try:
        yield
        con.execute("COMMIT")
    except BaseException:
        if con.in_transaction:
            try:
                con.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # closing the connection rolls back too; the first error is the one to report
        raise


def _size(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} TiB"  # pragma: no cover


@dataclass(frozen=True)
class CachedImage:
    """One cached image: faces largest first, or the reason it was skipped."""

    digest: str
    width: int
    height: int
    boxes: tuple[Box, ...]
    encodings: np.ndarray  # (n_faces, 128) float32
    reason: str | None
    detail: str


class EncodingStore:
    """An encoding cache in the SQLite file at ``path`` (created on first use)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()
        try:
            # Encodings and face thumbnails are biometric data: a new cache
            # folder and file are private to the user (SQLite gives the -wal
            # and -shm files the permissions of the database file).
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
        except OSError as exc:
            raise CacheError(
                f"Cannot create the encoding cache {str(self.path)!r} ({self._why_not_created(exc)}): "
                "choose another file with --cache or FACECORE_CACHE."
            ) from exc
        with self.connect() as con:
            con.execute("PRAGMA journal_mode=WAL")
            con.executescript(_SCHEMA)

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A short-lived connection to the cache file (autocommit; ``BEGIN`` yourself for a transaction).

        SQLite errors inside the block become :class:`CacheError` with a sentence naming the file.
        """
        try:
            con = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
        except sqlite3.Error as exc:
            raise self._error(exc) from exc
        try:
            con.execute("PRAGMA busy_timeout=60000")
            con.execute("PRAGMA synchronous=NORMAL")
            # Deleted rows are overwritten, so "delete my encodings" really
            # removes them from the file, not only from the index.
            con.execute("PRAGMA secure_delete=ON")
            yield con
        except sqlite3.DatabaseError as exc:
            raise self._error(exc) from exc
        finally:
            con.close()

    def _why_not_created(self, exc: OSError) -> str:
        """The reason a new cache file could not be made, naming a file that stands where a folder must be."""
        for parent in self.path.parents:
            if parent.exists() or parent.is_symlink():
                if not parent.is_dir():
                    return f"{str(parent)!r} is a file, not a folder"
                break
        return exc.strerror or str(exc)

    def _disk_refused(self, exc: sqlite3.Error) -> bool:
        code = getattr(exc, "sqlite_errorcode", None)  # Python >= 3.11
        if code is None:
            return "database or disk is full" in str(exc) or "disk I/O error" in str(exc)
        return code == _SQLITE_FULL or code in _WRITE_ERRORS

    def _disk_facts(self) -> str:
        """What may explain a refused write: the free space on the cache's disk and this process's file-size limit."""
        facts = []
        try:
            facts.append(f"{_size(shutil.disk_usage(self.path.parent).free)} free on its disk")
        except OSError:
            pass
        try:
            import resource

            soft, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
            if soft != resource.RLIM_INFINITY:
                facts.append(f"files limited to {_size(soft)} for this process (ulimit -f)")
        except (ImportError, OSError, ValueError):  # pragma: no cover - not Unix
            pass
        return "; ".join(facts)

    def _error(self, exc: sqlite3.Error) -> CacheError:
        msg = str(exc)
        if self._disk_refused(exc):
            facts = "; ".join(f for f in (f"SQLite: {msg}", self._disk_facts()) if f)
            return CacheError(
                f"disk full or file too large: cannot write {str(self.path)!r} ({facts}). Photos encoded "
                "before this are kept in the cache; free some space, or point --cache or FACECORE_CACHE "
                "to a file on another disk."
            )
        if "not a database" in msg or "malformed" in msg:
            return CacheError(
                f"{str(self.path)!r} is not a readable facecore cache ({exc}): point --cache or "
                "FACECORE_CACHE to another file, or delete this one if it is a damaged cache."
            )
        return CacheError(f"The encoding cache {str(self.path)!r} cannot be used ({exc}).")

    def get_many(self, digests: Iterable[str], settings_key: str) -> dict[str, CachedImage]:
        """Return the cached results for those digests (missing ones are absent)."""
        wanted = list(dict.fromkeys(digests))
        out: dict[str, CachedImage] = {}
        with self.connect() as con:
            for i in range(0, len(wanted), _BATCH):
                chunk = wanted[i : i + _BATCH]
                marks = ",".join("?" * len(chunk))
                rows = con.execute(
                    f"SELECT digest, width, height, n_faces, reason, detail FROM images "
                    f"WHERE settings=? AND digest IN ({marks})",
                    [settings_key, *chunk],
                ).fetchall()
                faces: dict[str, list[tuple]] = {}
                for row in con.execute(
                    f"SELECT digest, idx, top, right, bottom, left, encoding FROM faces "
                    f"WHERE settings=? AND digest IN ({marks}) ORDER BY digest, idx",
                    [settings_key, *chunk],
                ):
                    faces.setdefault(row[0], []).append(row)
                for digest, width, height, n_faces, reason, detail in rows:
                    fr = faces.get(digest, [])
                    if len(fr) != n_faces or any(len(r[6]) != 128 * 4 for r in fr):
                        continue  # half-written or damaged row: a miss, encoded again
                    enc = np.frombuffer(b"".join(r[6] for r in fr), dtype=np.float32).reshape(n_faces, 128)
                    boxes = tuple((r[2], r[3], r[4], r[5]) for r in fr)
                    out[digest] = CachedImage(digest, width, height, boxes, enc, reason, detail)
        return out

    def put_many(self, results: Iterable[EncodedImage], settings_key: str) -> None:
        """Store encoder results (faces and skip reasons) in one transaction."""
        now = time.time()
        results = list(results)
        if not results:
            return
        with self.connect() as con, _transaction(con):
            for r in results:
                con.execute("DELETE FROM faces WHERE digest=? AND settings=?", (r.digest, settings_key))
                con.execute(
                    "INSERT OR REPLACE INTO images VALUES (?,?,?,?,?,?,?,?)",
                    (r.digest, settings_key, r.width, r.height, len(r.boxes), r.reason, r.detail, now),
                )
                con.executemany(
                    "INSERT INTO faces VALUES (?,?,?,?,?,?,?,?,?)",
                    [
                        (r.digest, settings_key, i, *box, np.asarray(enc, np.float32).tobytes(), thumb)
                        for i, (box, enc, thumb) in enumerate(zip(r.boxes, r.encodings, r.thumbs, strict=True))
                    ],
                )

    def thumbnails(self, keys: Iterable[tuple[str, int]], settings_key: str) -> dict[tuple[str, int], bytes]:
        """Return JPEG thumbnails for ``(digest, face index)`` pairs that have one."""
        wanted = list(dict.fromkeys(keys))
        out: dict[tuple[str, int], bytes] = {}
        digests = list(dict.fromkeys(d for d, _ in wanted))
        want = set(wanted)
        with self.connect() as con:
            for i in range(0, len(digests), _BATCH):
                chunk = digests[i : i + _BATCH]
                marks = ",".join("?" * len(chunk))
                for digest, idx, thumb in con.execute(
                    f"SELECT digest, idx, thumb FROM faces WHERE settings=? AND digest IN ({marks})",
                    [settings_key, *chunk],
                ):
                    if (digest, idx) in want and thumb is not None:
                        out[(digest, idx)] = thumb
        return out

    def delete(self, digests: Iterable[str]) -> int:
        """Delete every cached result (all settings) of those images; return images removed."""
        wanted = list(dict.fromkeys(digests))
        removed = 0
        with self.connect() as con:
            with _transaction(con):
                for i in range(0, len(wanted), _BATCH):
                    chunk = wanted[i : i + _BATCH]
                    marks = ",".join("?" * len(chunk))
                    con.execute(f"DELETE FROM faces WHERE digest IN ({marks})", chunk)
                    removed += con.execute(f"DELETE FROM images WHERE digest IN ({marks})", chunk).rowcount
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return removed

    def clear(self) -> None:
        """Delete everything in the cache and shrink the file."""
        with self.connect() as con:
            con.execute("DELETE FROM faces")
            con.execute("DELETE FROM images")
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            con.execute("VACUUM")

    def stats(self) -> dict[str, int]:
        """Return ``{"images": ..., "faces": ..., "bytes": ...}`` for the whole cache."""
        with self.connect() as con:
            images = con.execute("SELECT COUNT(*) FROM images").fetchone()[0]
            faces = con.execute("SELECT COUNT(*) FROM faces").fetchone()[0]
        return {"images": images, "faces": faces, "bytes": sum(size for _, size, _ in self.stamp())}

    def stamp(self) -> tuple[tuple[str, int, int], ...]:
        """``(file, size, mtime_ns)`` of the cache file and its SQLite side files: it changes whenever a write
        lands, so :meth:`stats` (counting 10^5 rows takes tens of ms) can be kept until then."""
        files = sorted(p for p in self.path.parent.glob(self.path.name + "*") if p.is_file())
        return tuple((p.name, (st := p.stat()).st_size, st.st_mtime_ns) for p in files)

    def integrity_ok(self) -> bool:
        """Return True when SQLite's integrity check passes."""
        with self.connect() as con:
            return con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
