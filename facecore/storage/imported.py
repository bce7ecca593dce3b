"""Imported sets of encodings, kept in the cache file like encoded photos are.

An imported set lives under its own settings key ``import|<file digest>``, so it never stands in for
what the encoder would make of those photos, and ``cache clear`` / deleting the photos removes it.
Its names (photo paths, persons) are kept in one extra table of the same file, keyed by the sha256
of the imported file: the stable key :func:`load_imported` re-opens it by. Importing is a validation
(:func:`~facecore.photos.exchange.read_encodings`) and one write (9 s for 100,000 faces on a busy
2-core machine).
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from ..encode.encoding import EncodedImage
from ..errors import FaceCoreError
from ..faceset import Face, FaceSet, faceset_key
from ..photos.exchange import IMPORT_SETTINGS_PREFIX, EncodingsFile, read_encodings
from ..photos.imaging import Box
from .db import in_batches, transaction
from .encodings import EncodingStore

_MANIFEST_SCHEMA = """
CREATE TABLE IF NOT EXISTS imported_sets (
    key      TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    settings TEXT NOT NULL,
    faces    INTEGER NOT NULL,
    photos   INTEGER NOT NULL,
    created  REAL NOT NULL,
    manifest BLOB NOT NULL
) WITHOUT ROWID;
"""


@dataclass(frozen=True)
class ImportedSetInfo:
    """One imported set in the cache: its key (sha256 of the file), name, size and when it was imported."""

    key: str
    name: str
    faces: int
    photos: int
    created: float


# --------------------------------------------------------------------------- the cache


def _faceset(f: EncodingsFile) -> FaceSet:
    boxes = map(tuple, np.asarray(f.boxes, dtype=np.int64).reshape(-1, 4).tolist())  # Python ints, one tuple each
    if not len(f.digests) == len(f.paths) == len(f.faces) == len(f.persons) == len(f.boxes):
        raise ValueError("the columns of an encodings file differ in length")
    faces = tuple(map(Face, f.digests, f.paths, f.faces, boxes, f.persons))  # no frame per face: 10^5 in 0.1 s
    photos = dict(zip(f.digests, f.paths, strict=True))  # digest -> path, first row's order
    several = {d for d, k in zip(f.digests, f.faces, strict=True) if k > 0}
    return FaceSet(faces=faces, encodings=f.encodings, images=len(photos), skipped=(), settings_key=f.settings_key,
                   key=faceset_key(faces, f.settings_key), read=tuple((p, d) for d, p in photos.items()),
                   photos_with_several_faces=len(several))  # fmt: skip


def _manifest(f: EncodingsFile) -> bytes:
    """Each row's photo path, person and digest (each kept once, rows point at them) and face number, as ``.npz``."""
    arrays: dict[str, np.ndarray] = {"face": np.array(f.faces, dtype=np.int64)}
    for name, values in (("path", f.paths), ("person", [p or "" for p in f.persons]), ("digest", f.digests)):
        uniques, rows = np.unique(np.array(values, dtype=str), return_inverse=True)
        arrays[name], arrays[name + "_row"] = uniques, rows.astype(np.int64)
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def _unpack(blob: bytes) -> tuple[list[str], list[str], list[str], list[int]]:
    with np.load(io.BytesIO(blob), allow_pickle=False) as m:
        paths, persons, digests = ([str(v) for v in m[name][m[name + "_row"]].tolist()] for name in
                                   ("path", "person", "digest"))  # fmt: skip
        return paths, persons, digests, m["face"].tolist()


def write_imported(f: EncodingsFile, store: EncodingStore) -> FaceSet:
    """Write a validated import into the cache file (encodings and boxes, then the names); return its FaceSet.

    Importing the same file again replaces it (same key).
    """
    by_photo: dict[str, list[int]] = {}
    for i, d in enumerate(f.digests):
        by_photo.setdefault(d, []).append(i)
    results = []
    for digest, rows in by_photo.items():
        rows.sort(key=lambda i: f.faces[i])
        boxes: list[Box] = [tuple(int(v) for v in f.boxes[i]) for i in rows]  # type: ignore[misc]
        results.append(EncodedImage(digest, 0, 0, boxes, f.encodings[rows], [None] * len(rows)))  # type: ignore[list-item]
    store.put_many(results, f.settings_key)
    with store.connect() as con:
        con.executescript(_MANIFEST_SCHEMA)
        con.execute(
            "INSERT OR REPLACE INTO imported_sets VALUES (?,?,?,?,?,?,?)",
            (f.key, f.name, f.settings_key, len(f), len(by_photo), time.time(), _manifest(f)),
        )
    return _faceset(f)


def import_encodings(
    source: str | os.PathLike[str] | bytes,
    store: EncodingStore,
    allowed_roots: Iterable[str | os.PathLike[str]],
    name: str | None = None,
    *,
    base: str | os.PathLike[str] | None = None,
) -> FaceSet:
    """Validate a ``.npz``/``.parquet`` of encodings (:func:`read_encodings`) and write it into ``store``.

    Returns the imported :class:`FaceSet`: ``Face.name`` is each photo's real
    path, ``settings_key`` ``import|...``; ``imported_key(fs)`` (the file's
    sha256) re-opens it with :func:`load_imported`. Raises
    :class:`ImportRefusedError` before writing anything when the file is malformed.
    """
    return write_imported(read_encodings(source, allowed_roots, base=base, name=name), store)


def imported_key(faceset: FaceSet) -> str | None:
    """The key :func:`load_imported` re-opens an imported set by (a prefix of the file's sha256), else None."""
    prefix = IMPORT_SETTINGS_PREFIX
    return faceset.settings_key[len(prefix):] if faceset.settings_key.startswith(prefix) else None


def imported_sets(store: EncodingStore) -> list[ImportedSetInfo]:
    """The imported sets in the cache file, newest first."""
    with store.connect() as con:
        con.executescript(_MANIFEST_SCHEMA)
        rows = con.execute("SELECT key, name, faces, photos, created FROM imported_sets ORDER BY created DESC")
        return [ImportedSetInfo(*row) for row in rows.fetchall()]


def _manifest_row(store: EncodingStore, key: str) -> tuple[str, str, str, bytes]:
    with store.connect() as con:
        con.executescript(_MANIFEST_SCHEMA)
        rows = con.execute(
            "SELECT key, name, settings, manifest FROM imported_sets WHERE key >= ? AND key < ? LIMIT 2",
            (key, key + "g"),
        ).fetchall()
    if len(rows) != 1 or not key:
        what = "no imported set" if not rows else "more than one imported set"
        raise FaceCoreError(f"There is {what} with key {key[:64]!r} in {str(store.path)!r}: see `imported_sets`.")
    return rows[0]


def _gathered(store: EncodingStore, settings: str, digests: list[str], digest_row: np.ndarray,
              face: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """The encodings ``(n, 128)`` float32 and boxes ``(n, 4)`` int64 of face ``face[i]`` of photo
    ``digests[digest_row[i]]`` (``digests`` sorted and unique, as the manifest keeps them), read in the table's
    order and gathered with one index: no object per face or photo (at 10^5 faces, reading through
    :meth:`EncodingStore.get_many` and stacking its photos took 0.55 s of the 0.7 s it took to reopen a set).
    Raises KeyError when a photo's rows are missing or damaged, IndexError for a face beyond its photo's faces."""
    counts, enc, boxes = [], [], []
    with store.connect() as con:
        for chunk, marks in in_batches(digests):
            args = [settings, *chunk]
            n_faces = dict(con.execute(f"SELECT digest, n_faces FROM images WHERE settings=? AND digest IN ({marks})",
                                       args).fetchall())  # fmt: skip
            rows = con.execute(f"SELECT digest, count(*) FROM faces WHERE settings=? AND digest IN ({marks}) "
                               "GROUP BY digest ORDER BY digest", args).fetchall()  # fmt: skip
            if [d for d, _ in rows] != chunk or any(n_faces.get(d) != c for d, c in rows):
                raise KeyError("a photo's rows are missing or half-written")
            counts += [c for _, c in rows]
            cursor = con.execute(f"SELECT top, right, bottom, left, encoding FROM faces WHERE settings=? "
                                 f"AND digest IN ({marks}) ORDER BY digest, idx", args)  # fmt: skip
            *box, encoding = zip(*cursor, strict=True)  # the columns, in one pass over the rows
            enc.append(np.frombuffer(b"".join(encoding), np.float32))
            boxes.append(np.array(box, np.int64).T)  # every photo of the chunk has rows (checked above)
    count = np.asarray(counts, np.int64)
    every = np.concatenate(enc) if enc else np.zeros(0, np.float32)
    if every.size != 128 * count.sum():
        raise KeyError("an encoding of the wrong size")
    if np.any(face < 0) or np.any(face >= count[digest_row]):
        raise IndexError("a face number beyond its photo's faces")
    rows = (np.cumsum(count) - count)[digest_row] + face
    return every.reshape(-1, 128)[rows], np.concatenate(boxes)[rows] if boxes else np.zeros((0, 4), np.int64)


def load_imported(store: EncodingStore, key: str) -> FaceSet:
    """Re-open an imported set by its key: the imported file's sha256, or a unique prefix of it (:func:`imported_key`).

    Raises :class:`FaceCoreError` when no such set exists or its encodings
    were deleted from the cache since (import the file again).
    """
    full, name, settings, blob = _manifest_row(store, key)
    with np.load(io.BytesIO(blob), allow_pickle=False) as m:
        columns = {k: m[k] for k in m.files}
    digests = columns["digest"].tolist()
    try:
        enc, boxes = _gathered(store, settings, digests, columns["digest_row"], columns["face"])
    except (KeyError, IndexError) as exc:
        raise FaceCoreError(
            f"The encodings of the imported set {name!r} were deleted from the cache: import its file again."
        ) from exc

    def each(column: str) -> list[str]:  # every row's value, one string object per distinct value
        values = columns[column].tolist()
        return [values[i] for i in columns[column + "_row"].tolist()]

    f = EncodingsFile(full, name, enc, tuple(each("path")), tuple(p or None for p in each("person")),
                      tuple(each("digest")), tuple(columns["face"].tolist()), boxes)  # fmt: skip
    return _faceset(f)


def delete_imported(store: EncodingStore, key: str) -> int:
    """Delete an imported set: its names, and every cached result of its photos (all settings); return photos removed.

    Deleting by photo is the cache's one way to delete (:meth:`EncodingStore.delete`):
    it also removes those photos' own encodings if they were encoded here.
    """
    full, _, _, blob = _manifest_row(store, key)
    removed = store.delete(dict.fromkeys(_unpack(blob)[2]))
    with store.connect() as con:
        con.execute("DELETE FROM imported_sets WHERE key = ?", (full,))
    return removed


def delete_imported_with(store: EncodingStore, digests: Iterable[str]) -> int:
    """Forget every imported set that lists one of these photos (their encodings are being deleted): its
    names (photo paths, persons) go with it. Returns how many sets were forgotten."""
    wanted = set(digests)
    with store.connect() as con:
        con.executescript(_MANIFEST_SCHEMA)
        rows = con.execute("SELECT key, manifest FROM imported_sets").fetchall()
        gone = [key for key, blob in rows if wanted.intersection(_unpack(blob)[2])]
        with transaction(con):
            con.executemany("DELETE FROM imported_sets WHERE key = ?", [(key,) for key in gone])
    return len(gone)
