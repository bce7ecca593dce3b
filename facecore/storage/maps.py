"""Similarity maps kept in the cache file, so a reload or a second session does not recompute them.

One row of ``maps`` per map, keyed by :func:`facecore.layout.similarity_map.layout_key` (the faces, the
method, dims, seed and version), its points as float32 bytes; ``map_photos`` names the photos each map was
made from, so deleting a photo deletes every map drawn from it (:func:`delete_maps`, part of the one
delete rule in :mod:`.deletion`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import numpy as np

from .db import in_batches, transaction
from .encodings import EncodingStore

_SCHEMA = """
CREATE TABLE IF NOT EXISTS maps (
    key      TEXT PRIMARY KEY,
    method   TEXT NOT NULL,
    n        INTEGER NOT NULL,
    dims     INTEGER NOT NULL,
    points   BLOB NOT NULL,
    created  REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS map_photos (
    digest   TEXT NOT NULL,
    key      TEXT NOT NULL,
    PRIMARY KEY (digest, key)
) WITHOUT ROWID;
"""


def store_map(store: EncodingStore, key: str, layout: np.ndarray, method: str, digests: Iterable[str]) -> None:
    """Keep ``layout`` ``(n, 2|3)`` under ``key``; ``digests``: the photos it was made from (for deletion)."""
    pts = np.ascontiguousarray(layout, dtype=np.float32)
    photos = list(dict.fromkeys(digests))
    with store.connect() as con:
        con.executescript(_SCHEMA)
        with transaction(con):
            con.execute(
                "INSERT OR REPLACE INTO maps (key, method, n, dims, points, created) VALUES (?, ?, ?, ?, ?, ?)",
                (key, method, pts.shape[0], pts.shape[1], pts.tobytes(), time.time()),
            )
            con.executemany("INSERT OR IGNORE INTO map_photos (digest, key) VALUES (?, ?)", [(d, key) for d in photos])


def load_map(store: EncodingStore, key: str) -> tuple[np.ndarray, str] | None:
    """The map kept under ``key`` as ``((n, dims) float32, method)``, or None if there is none."""
    with store.connect() as con:
        con.executescript(_SCHEMA)
        row = con.execute("SELECT method, n, dims, points FROM maps WHERE key = ?", (key,)).fetchone()
    if row is None:
        return None
    method, n, dims, blob = row
    if len(blob) != n * dims * 4:
        return None  # a damaged row is recomputed, not shown
    return np.frombuffer(blob, dtype=np.float32).reshape(n, dims).copy(), method


def delete_maps(store: EncodingStore, digests: Iterable[str]) -> int:
    """Delete every map drawn from any of these photos; returns how many maps were deleted."""
    wanted = list(dict.fromkeys(digests))
    with store.connect() as con:
        con.executescript(_SCHEMA)
        keys: set[str] = set()
        for part, marks in in_batches(wanted):
            keys.update(k for (k,) in con.execute(f"SELECT key FROM map_photos WHERE digest IN ({marks})", part))
        if not keys:
            return 0
        with transaction(con):
            con.executemany("DELETE FROM maps WHERE key = ?", [(k,) for k in keys])
            con.executemany("DELETE FROM map_photos WHERE key = ?", [(k,) for k in keys])
    return len(keys)
