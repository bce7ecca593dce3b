"""Photos the user hid from their set ("keep one of each" near-duplicate group), as rows of the cache file.

A hidden photo stays where it is on disk and in the encoding cache; it is only left out of the set the app
works on (:meth:`facecore.faceset.FaceSet.without`), so counts, searches, clusters and persons use what is
kept. A row is keyed by the photo's content digest (sha256 of its bytes), so a photo stays hidden when its
folder is renamed or opened again, in every set that holds it. Each hiding is one action (``batch``), so
the last one can be undone in one step; :func:`unhide_photos` shows any photos again. Deleting a set
deletes its rows here too (:mod:`facecore.storage.deletion`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from .db import delete_by_digest, in_batches, transaction
from .encodings import EncodingStore

_SCHEMA = """
CREATE TABLE IF NOT EXISTS hidden_photos (
    digest  TEXT PRIMARY KEY,
    batch   INTEGER NOT NULL,
    created REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS hidden_photos_batch ON hidden_photos (batch);
"""


def hide_photos(store: EncodingStore, digests: Iterable[str]) -> int:
    """Hide the photos with these content digests from every set; return how many were not hidden before.

    They are hidden together as one batch: :func:`unhide_last` shows them again in one step.
    """
    wanted = list(dict.fromkeys(digests))
    if not wanted:
        return 0
    with store.connect() as con:
        con.executescript(_SCHEMA)
        with transaction(con):
            batch = con.execute("SELECT COALESCE(MAX(batch), 0) + 1 FROM hidden_photos").fetchone()[0]
            before = con.total_changes
            con.executemany(
                "INSERT OR IGNORE INTO hidden_photos VALUES (?,?,?)", [(d, batch, time.time()) for d in wanted]
            )
            return con.total_changes - before


def unhide_photos(store: EncodingStore, digests: Iterable[str]) -> int:
    """Show these photos again (undo their hiding); return how many were hidden."""
    with store.connect() as con:
        con.executescript(_SCHEMA)
        with transaction(con):
            return delete_by_digest(con, "hidden_photos", list(dict.fromkeys(digests)))


def hidden_digests(store: EncodingStore, digests: Iterable[str] | None = None) -> frozenset[str]:
    """The content digests of the hidden photos: all of them, or those among ``digests`` (a set's photos)."""
    with store.connect() as con:
        con.executescript(_SCHEMA)
        if digests is None:
            return frozenset(d for (d,) in con.execute("SELECT digest FROM hidden_photos"))
        found: set[str] = set()
        for chunk, marks in in_batches(list(dict.fromkeys(digests))):
            found |= {d for (d,) in con.execute(f"SELECT digest FROM hidden_photos WHERE digest IN ({marks})", chunk)}
    return frozenset(found)


def unhide_last(store: EncodingStore, digests: Iterable[str]) -> frozenset[str]:
    """Undo the latest hiding that concerns these photos (a set's digests): show again every photo of that batch
    among ``digests``; return their digests (empty when none of them is hidden)."""
    wanted = list(dict.fromkeys(digests))
    with store.connect() as con:
        con.executescript(_SCHEMA)
        last = 0
        for chunk, marks in in_batches(wanted):
            row = con.execute(f"SELECT MAX(batch) FROM hidden_photos WHERE digest IN ({marks})", chunk).fetchone()
            last = max(last, row[0] or 0)
        if not last:
            return frozenset()
        batch = {d for (d,) in con.execute("SELECT digest FROM hidden_photos WHERE batch=?", (last,))}
    shown = batch.intersection(wanted)
    unhide_photos(store, shown)
    return frozenset(shown)
