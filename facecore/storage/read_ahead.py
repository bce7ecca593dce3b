"""Which set was opened last through this cache file, and reading it ahead when the app starts again.

A page left open across a restart names its set in its address, and reading 10^5 imported faces back
takes about a second that the first page after the restart would wait for. ``python app.py`` calls
:func:`read_last_opened` once the server answers, while the browser is still starting; a page asking for
that set then takes it with :func:`set_read_ahead` (waiting for the reading when it is under way) instead of
reading it again. One row records the kind of set and what reopens it (``"imported"``: an imported set's
key). Deleting any photos or clearing the cache forgets it (``storage.deletion``).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from concurrent.futures import Future

from ..errors import CacheError
from ..faceset import FaceSet
from .db import transaction
from .encodings import EncodingStore
from .imported import load_imported

#: The table of the set opened last (one row), emptied by any deletion (``storage.deletion``).
TABLE = "last_opened"
SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    slot   INTEGER PRIMARY KEY CHECK (slot = 0),
    kind   TEXT NOT NULL,
    ref    TEXT NOT NULL,
    since  REAL NOT NULL
);
"""

#: The kinds of set read back from the cache file alone.
KINDS = ("imported",)
#: How long a set read ahead is kept for a page to take it; then only the sessions holding it keep it.
HOLD_S = 600.0
#: How long a page waits for a reading ahead under way before it reads the set itself.
WAIT_S = 60.0

_ahead: dict[tuple[str, str], Future[FaceSet]] = {}  # (cache file, ref) -> the set read ahead
_lock = threading.Lock()


def remember_opened(store: EncodingStore, kind: str, ref: str) -> None:
    """Record that the set ``ref`` of ``kind`` (one of :data:`KINDS`) was just opened. Nothing is written when it
    is the set opened last already (every page reopens its set: a write would change the file, and what is kept
    until the file changes, e.g. the cache's counts, would be counted again). A cache that cannot be written now
    (busy, full) records nothing: the set opens all the same, only a restart does not read it ahead."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind of set {kind!r}: one of {KINDS}")
    try:
        if last_opened(store) == (kind, ref):
            return
        with store.connect() as con, transaction(con):
            con.execute("INSERT OR REPLACE INTO last_opened VALUES (0, ?, ?, ?)", (kind, ref, time.time()))
    except (CacheError, sqlite3.Error):
        return


def last_opened(store: EncodingStore) -> tuple[str, str] | None:
    """``(kind, ref)`` of the set opened last, or None (nothing opened since the cache was made or emptied)."""
    with store.connect() as con:
        con.executescript(SCHEMA)
        row = con.execute("SELECT kind, ref FROM last_opened WHERE slot = 0").fetchone()
    return None if row is None or row[0] not in KINDS else (row[0], row[1])


def read_last_opened(store: EncodingStore) -> FaceSet | None:
    """Read the set opened last into memory and keep it :data:`HOLD_S` seconds for :func:`set_read_ahead`.

    Returns it, or None when nothing was opened. Raises
    :class:`~facecore.errors.FaceCoreError` when it is no longer in the cache.
    """
    last = last_opened(store)
    if last is None:
        return None
    where = (str(store.path), last[1])
    future: Future[FaceSet] = Future()
    with _lock:
        _ahead[where] = future
    try:
        faceset = load_imported(store, last[1])
    except BaseException as exc:
        future.set_exception(exc)
        _drop(where, future)
        raise
    future.set_result(faceset)
    timer = threading.Timer(HOLD_S, _drop, args=(where, future))
    timer.daemon = True
    timer.start()
    return faceset


def _drop(where: tuple[str, str], future: Future[FaceSet]) -> None:
    with _lock:
        if _ahead.get(where) is future:
            del _ahead[where]


def set_read_ahead(store: EncodingStore, key: str) -> FaceSet | None:
    """The imported set ``key`` (its full key) of ``store`` when :func:`read_last_opened` read it or is reading it
    (waiting for that, :data:`WAIT_S` seconds at most), else None: the caller reads it itself."""
    path = str(store.path)
    with _lock:
        future = next((f for (p, ref), f in _ahead.items() if p == path and key.startswith(ref)), None)
    if future is None:
        return None
    try:
        return future.result(timeout=WAIT_S)
    except Exception:  # noqa: BLE001 - the caller reads it itself and reports what goes wrong
        return None
