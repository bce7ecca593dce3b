"""A set's grouping into persons kept in the cache file, so reopening the People page does not group again.

Grouping 100,000 faces takes 30-60 s on a busy 2-core machine (the neighbour graph 8-18 s, the two passes
and Infomap 10-25 s), on every server start. The grouping before the corrections made on person ids
(:attr:`facecore.people.identities.Persons.base`: each face's group, ``(n,)`` int32, -1 unsorted) depends
only on the set's faces and encodings (its content key, ``FaceSet.key``), the grouping's parameters
(threshold, minimum size, method, seed, the neighbour graph's radius) and the user's must-link /
cannot-link / name facts that feed it (:func:`facecore.people.corrections.load_corrections`). It is kept in
the table ``set_groupings`` keyed by the set's key and a text naming all of those (the facts as a digest),
so any change of photos, strictness or facts finds no kept grouping and groups again. The corrections on
ids (pins, merges, names, "different people") are laid on top each time and never kept here.

Only labels are kept (no encodings); like :mod:`.set_fits` they are forgotten with any deletion of photos
(``storage.deletion``) and grouped again when next needed. At most :data:`KEEP_PER_SET` groupings are kept
per set (the latest written): each strictness and each state of the facts writes one.
"""

from __future__ import annotations

import contextlib
import io
import sqlite3
import time

import numpy as np

from ..errors import FaceCoreError
from .db import tables, transaction
from .encodings import EncodingStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS set_groupings (
    set_key TEXT NOT NULL,
    params  TEXT NOT NULL,
    created REAL NOT NULL,
    labels  BLOB NOT NULL,
    PRIMARY KEY (set_key, params)
) WITHOUT ROWID;
"""

#: Groupings kept per set (strictness values and states of the facts); older ones are dropped when one is added.
KEEP_PER_SET = 24


def put_grouping(store: EncodingStore, set_key: str, params: str, labels: np.ndarray) -> None:
    """Keep ``labels`` ``(n,)`` (group of each face, -1 unsorted) for the set ``set_key`` grouped with ``params``.

    A cache file that cannot be written (read-only, full) only means the faces are grouped again next time.
    """
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(labels, dtype=np.int32), allow_pickle=False)
    with contextlib.suppress(FaceCoreError, sqlite3.Error), store.connect() as con:
        con.executescript(SCHEMA)
        with transaction(con):
            con.execute("INSERT OR REPLACE INTO set_groupings VALUES (?,?,?,?)",
                        (set_key, params, time.time(), buf.getvalue()))  # fmt: skip
            con.execute(
                "DELETE FROM set_groupings WHERE set_key=? AND params NOT IN (SELECT params FROM set_groupings "
                "WHERE set_key=? ORDER BY created DESC LIMIT ?)", (set_key, set_key, KEEP_PER_SET),
            )  # fmt: skip


def get_grouping(store: EncodingStore, set_key: str, params: str, n: int) -> np.ndarray | None:
    """The kept labels ``(n,)`` int32 of the set ``set_key`` grouped with ``params``; None when none is kept
    (or the file cannot be read, or what is kept is not ``n`` labels: then the faces are grouped again)."""
    try:
        with store.connect() as con:
            if "set_groupings" not in tables(con):
                return None
            row = con.execute("SELECT labels FROM set_groupings WHERE set_key=? AND params=?",
                              (set_key, params)).fetchone()  # fmt: skip
    except (FaceCoreError, sqlite3.Error):
        return None
    if row is None:
        return None
    labels = np.load(io.BytesIO(row[0]), allow_pickle=False)
    return labels if labels.shape == (n,) and labels.dtype == np.int32 else None
