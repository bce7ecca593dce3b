"""The persistent encoding cache: one SQLite file, keyed by content hash + encoder settings.

A row per image records what the encoder made of it (its faces, or why it
was skipped), so re-opening a folder, even renamed or moved, does no
detection at all. Each face keeps its box, its float32 encoding and a small
JPEG thumbnail for the app, and its measured quality (table face_quality). SQLite in WAL mode with a busy timeout lets
several processes read and write the same file without corrupting it; every
call opens its own short connection (:mod:`.db`), so one store object is safe
to share between threads (Streamlit sessions).
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..encode.encoding import EncodedImage
from ..errors import CacheError
from ..photos.imaging import Box
from .db import connect, delete_by_digest, in_batches, transaction, why_not_created

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
CREATE TABLE IF NOT EXISTS face_quality (
    digest   TEXT NOT NULL,
    settings TEXT NOT NULL,
    idx      INTEGER NOT NULL,
    quality  BLOB NOT NULL,
    PRIMARY KEY (digest, settings, idx)
) WITHOUT ROWID;
"""
# face_quality (facecore.curation.face_quality) is a table of its own, not a column of faces: a cache
# written before it gains the empty table on open and stays readable (its faces' quality is unknown, NaN),
# and older code that inserts 9 values into faces keeps working on a cache written by this one.


def _quality_rows(quality: dict[tuple[str, int], bytes], digest: str, n_faces: int) -> np.ndarray:
    """The ``(n_faces, 4)`` float32 quality rows of one image; NaN rows for faces cached without one."""
    rows = np.full((n_faces, 4), np.nan, np.float32)
    for i in range(n_faces):
        blob = quality.get((digest, i))
        if blob is not None and len(blob) == 16:
            rows[i] = np.frombuffer(blob, np.float32)
    return rows


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
    #: (n_faces, 4) float32 rows of :mod:`facecore.curation.face_quality` (NaN: not measured when cached)
    quality: np.ndarray | None = None


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
                f"Cannot create the encoding cache {str(self.path)!r} ({why_not_created(self.path, exc)}): "
                "choose another file with --cache or FACECORE_CACHE."
            ) from exc
        with self.connect() as con:
            con.execute("PRAGMA journal_mode=WAL")
            con.executescript(_SCHEMA)

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A short-lived connection to the cache file (:func:`facecore.storage.db.connect`)."""
        with connect(self.path) as con:
            yield con

    def get_many(self, digests: Iterable[str], settings_key: str, reuse: str | None = None) -> dict[str, CachedImage]:
        """Return the cached results for those digests (missing ones are absent). With ``reuse`` (a cache key,
        ``EncoderSettings.reuses``), photos cached only under it are first copied under ``settings_key``
        (:meth:`copy_results`): largest-face mode reads every-face rows instead of encoding again."""
        wanted = list(dict.fromkeys(digests))
        if reuse is not None:
            self.copy_results(wanted, reuse, settings_key)
        out: dict[str, CachedImage] = {}
        with self.connect() as con:
            for chunk, marks in in_batches(wanted):
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
                quality = {(d, i): q for d, i, q in con.execute(
                    f"SELECT digest, idx, quality FROM face_quality WHERE settings=? AND digest IN ({marks})",
                    [settings_key, *chunk],
                )}
                for digest, width, height, n_faces, reason, detail in rows:
                    fr = faces.get(digest, [])
                    if len(fr) != n_faces or any(len(r[6]) != 128 * 4 for r in fr):
                        continue  # half-written or damaged row: a miss, encoded again
                    enc = np.frombuffer(b"".join(r[6] for r in fr), dtype=np.float32).reshape(n_faces, 128)
                    boxes = tuple((r[2], r[3], r[4], r[5]) for r in fr)
                    out[digest] = CachedImage(digest, width, height, boxes, enc, reason, detail,
                                              _quality_rows(quality, digest, n_faces))
        return out

    def put_many(self, results: Iterable[EncodedImage], settings_key: str) -> None:
        """Store encoder results (faces and skip reasons) in one transaction."""
        now = time.time()
        results = list(results)
        if not results:
            return
        with self.connect() as con, transaction(con):
            for r in results:
                con.execute("DELETE FROM faces WHERE digest=? AND settings=?", (r.digest, settings_key))
                con.execute("DELETE FROM face_quality WHERE digest=? AND settings=?", (r.digest, settings_key))
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
                if len(r.quality) == len(r.boxes):  # imported encodings carry no quality
                    con.executemany(
                        "INSERT INTO face_quality VALUES (?,?,?,?)",
                        [(r.digest, settings_key, i, np.asarray(q, np.float32).tobytes())
                         for i, q in enumerate(r.quality)],
                    )

    def copy_results(self, digests: Iterable[str], from_key: str, to_key: str) -> int:
        """Copy the cached results of those photos from settings ``from_key`` to ``to_key`` where ``to_key`` has
        none: the image rows, their faces (boxes and encodings; the thumbnails stay with ``from_key``'s rows, where
        :meth:`thumbnails` finds them) and the faces' quality, nothing encoded. Largest-face mode reads every-face
        rows this way (their face 0 is the largest face). Returns the photos copied."""
        wanted = list(dict.fromkeys(digests))
        copied = 0
        query = ("SELECT digest FROM images WHERE settings=? AND digest IN ({m}) AND digest NOT IN "
                 "(SELECT digest FROM images WHERE settings=? AND digest IN ({m}))")
        with self.connect() as con:  # a read first: no write lock when there is nothing to copy (the usual case)
            wanted = [d for chunk, marks in in_batches(wanted)
                      for (d,) in con.execute(query.format(m=marks), [from_key, *chunk, to_key, *chunk])]
        if not wanted:
            return 0
        with self.connect() as con, transaction(con):
            for chunk, marks in in_batches(wanted):
                todo = [d for (d,) in con.execute(query.format(m=marks), [from_key, *chunk, to_key, *chunk])]
                if not todo:
                    continue
                sel = ",".join("?" * len(todo))
                for table, cols in (("images", "width, height, n_faces, reason, detail, created"),
                                    ("faces", "idx, top, right, bottom, left, encoding"),
                                    ("face_quality", "idx, quality")):  # fmt: skip
                    con.execute(f"DELETE FROM {table} WHERE settings=? AND digest IN ({sel})", [to_key, *todo])
                    con.execute(f"INSERT INTO {table} (digest, settings, {cols}) SELECT digest, ?, {cols} "
                                f"FROM {table} WHERE settings=? AND digest IN ({sel})", [to_key, from_key, *todo])
                copied += len(todo)
        return copied

    def face_quality(self, keys: Iterable[tuple[str, int]], settings_key: str) -> np.ndarray:
        """The ``(len(keys), 4)`` float32 quality rows of ``(digest, face index)`` faces, in order (NaN: none
        stored, e.g. imported encodings or a cache written before quality was measured). Reads only the
        face_quality table."""
        wanted = list(keys)
        out = np.full((len(wanted), 4), np.nan, np.float32)
        found: dict[tuple[str, int], bytes] = {}
        with self.connect() as con:
            for chunk, marks in in_batches(list(dict.fromkeys(d for d, _ in wanted))):
                found.update(((d, i), q) for d, i, q in con.execute(
                    f"SELECT digest, idx, quality FROM face_quality WHERE settings=? AND digest IN ({marks})",
                    [settings_key, *chunk]))
        for row, key in enumerate(wanted):
            blob = found.get(key)
            if blob is not None and len(blob) == 16:
                out[row] = np.frombuffer(blob, np.float32)
        return out

    def thumbnails(self, keys: Iterable[tuple[str, int]], settings_key: str) -> dict[tuple[str, int], bytes]:
        """Return JPEG thumbnails for ``(digest, face index)`` pairs that have one. A face stored without one (rows
        copied from other settings, :meth:`copy_results`) takes the thumbnail of the same photo's face with the
        same box under other settings: the same crop."""
        wanted = list(dict.fromkeys(keys))
        out: dict[tuple[str, int], bytes] = {}
        want = set(wanted)
        bare: dict[tuple[str, int, int, int, int], tuple[str, int]] = {}  # (digest, box) -> key, stored without one
        with self.connect() as con:
            for chunk, marks in in_batches(list(dict.fromkeys(d for d, _ in wanted))):
                for digest, idx, top, right, bottom, left, thumb in con.execute(
                    f"SELECT digest, idx, top, right, bottom, left, thumb FROM faces WHERE settings=? "
                    f"AND digest IN ({marks})", [settings_key, *chunk],
                ):  # fmt: skip
                    if (digest, idx) not in want:
                        continue
                    if thumb is not None:
                        out[(digest, idx)] = thumb
                    else:
                        bare[(digest, top, right, bottom, left)] = (digest, idx)
            for chunk, marks in in_batches(list(dict.fromkeys(d for d, *_ in bare))):
                for digest, top, right, bottom, left, thumb in con.execute(
                    f"SELECT digest, top, right, bottom, left, thumb FROM faces WHERE settings!=? "
                    f"AND digest IN ({marks}) AND thumb IS NOT NULL", [settings_key, *chunk],
                ):  # fmt: skip
                    if (key := bare.get((digest, top, right, bottom, left))) is not None:
                        out.setdefault(key, thumb)
        return out

    def keep_thumbnails(self, thumbs: dict[tuple[str, int], bytes], settings_key: str) -> int:
        """Keep face crops cut after the faces were stored (imported faces' crops, cut from their photos when first
        shown) with those faces' rows, where a row has none yet; return how many were kept. A cache that cannot be
        written (read-only, busy) keeps none: the crops were cut all the same."""
        rows = [(jpeg, digest, settings_key, idx) for (digest, idx), jpeg in thumbs.items()]
        if not rows:
            return 0
        try:
            with self.connect() as con, transaction(con):
                return sum(con.execute("UPDATE faces SET thumb=? WHERE digest=? AND settings=? AND idx=? "
                                       "AND thumb IS NULL", row).rowcount for row in rows)  # fmt: skip
        except (CacheError, sqlite3.Error):
            return 0

    def delete(self, digests: Iterable[str]) -> int:
        """Delete every cached result (all settings) of those images, their faces' quality included; return images
        removed."""
        wanted = list(dict.fromkeys(digests))
        with self.connect() as con:
            with transaction(con):
                delete_by_digest(con, "faces", wanted)
                delete_by_digest(con, "face_quality", wanted)
                removed = delete_by_digest(con, "images", wanted)
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return removed

    def stats(self) -> dict[str, int]:
        """Return ``{"images": ..., "faces": ..., "bytes": ...}`` for the whole cache: distinct photos (by content),
        faces (by photo and face number: a face kept under two settings, e.g. every face and the largest-face rows
        copied from it, counts once), and the file's size."""
        with self.connect() as con:
            images = con.execute("SELECT COUNT(DISTINCT digest) FROM images").fetchone()[0]
            faces = con.execute("SELECT COUNT(*) FROM (SELECT DISTINCT digest, idx FROM faces)").fetchone()[0]
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
