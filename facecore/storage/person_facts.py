"""The user's corrections to the persons found, as rows of the encoding cache file.

Every correction is one row of ``person_actions`` with its facts in ``person_facts``; a fact is about
faces keyed by content (the photo's sha256 digest, the face's number in that photo, the encoder
settings key), never by row number or path:

- ``name``: this face is an anchor of the person called ``name`` (NULL: of nobody);
- ``must``: these two faces are the same person (must-link);
- ``cannot``: these two faces are different people (cannot-link).

``person_facts`` has a ``digest`` column (and ``other_digest``), so :func:`delete_corrections` removes
what concerns deleted photos. What the facts mean for a FaceSet is :mod:`facecore.people.corrections`'s job.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import InvalidParameterError
from .db import in_batches, transaction
from .encodings import EncodingStore

_SCHEMA = """
CREATE TABLE IF NOT EXISTS person_actions (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    settings TEXT NOT NULL,
    kind     TEXT NOT NULL,
    summary  TEXT NOT NULL,
    created  REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS person_facts (
    action       INTEGER NOT NULL,
    settings     TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('name', 'must', 'cannot')),
    digest       TEXT NOT NULL,
    idx          INTEGER NOT NULL,
    other_digest TEXT,
    other_idx    INTEGER,
    name         TEXT
);
CREATE INDEX IF NOT EXISTS person_facts_action ON person_facts(action);
CREATE INDEX IF NOT EXISTS person_facts_digest ON person_facts(digest);
CREATE INDEX IF NOT EXISTS person_facts_other ON person_facts(other_digest);
"""

@dataclass(frozen=True)
class Action:
    """One correction as the user made it: what (``kind``), a one-line ``summary``, when (epoch seconds)."""

    id: int
    kind: str
    summary: str
    created: float


#: One fact as written: ``(settings, kind, digest, idx, other_digest, other_idx, name)``.
FactRow = tuple[str, str, str, int, str | None, int | None, str | None]


def insert_action(con, settings_key: str, kind: str, summary: str, created: float) -> int:
    """Insert one row of ``person_actions`` (inside the caller's transaction); return its id."""
    cur = con.execute(
        "INSERT INTO person_actions (settings, kind, summary, created) VALUES (?,?,?,?)",
        (settings_key, kind, summary, created),
    )
    return int(cur.lastrowid)


def record_action(store: EncodingStore, settings_key: str, kind: str, summary: str, rows: list[FactRow]) -> Action:
    """Write one action and its facts in one transaction; return the action."""
    now = time.time()
    with store.connect() as con:
        con.executescript(_SCHEMA)
        with transaction(con):
            action = insert_action(con, settings_key, kind, summary, now)
            con.executemany(
                "INSERT INTO person_facts (action, settings, kind, digest, idx, other_digest, other_idx, name) "
                "VALUES (?,?,?,?,?,?,?,?)",
                [(action, *r) for r in rows],
            )
    return Action(action, kind, summary, now)


# --------------------------------------------------------------------------- log, undo, delete


def list_corrections(store: EncodingStore, settings_key: str) -> tuple[Action, ...]:
    """Every correction recorded with these encoder settings, newest first."""
    with store.connect() as con:
        con.executescript(_SCHEMA)
        rows = con.execute(
            "SELECT id, kind, summary, created FROM person_actions WHERE settings=? ORDER BY id DESC", (settings_key,)
        ).fetchall()
    return tuple(Action(int(i), k, s, float(c)) for i, k, s, c in rows)


def undo_correction(store: EncodingStore, settings_key: str, action: int | None = None) -> Action | None:
    """Delete the last correction (or the one with id ``action``) and its facts; return it, or None if none is left."""
    with store.connect() as con:
        con.executescript(_SCHEMA)
        with transaction(con):
            sql = "SELECT id, kind, summary, created FROM person_actions WHERE settings=?"
            args: tuple = (settings_key,)
            if action is not None:
                sql, args = sql + " AND id=?", (settings_key, int(action))
            row = con.execute(sql + " ORDER BY id DESC LIMIT 1", args).fetchone()
            if row is not None:
                con.execute("DELETE FROM person_facts WHERE action=?", (row[0],))
                if _has_table(con, "person_id_facts"):  # the corrections made on stable ids
                    con.execute("DELETE FROM person_id_facts WHERE action=?", (row[0],))
                con.execute("DELETE FROM person_actions WHERE id=?", (row[0],))
    if row is None:
        if action is not None:
            raise InvalidParameterError(f"action={action} is not a recorded correction: see list_corrections().")
        return None
    return Action(int(row[0]), row[1], row[2], float(row[3]))


def _has_table(con, name: str) -> bool:
    return con.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)).fetchone() is not None


def delete_corrections(store: EncodingStore, digests: Iterable[str]) -> int:
    """Delete every fact (all settings) about faces of these photos, and actions left empty; return facts removed.

    The stable person ids and the corrections made on ids are :func:`facecore.storage.person_ids.delete_id_rows`'s.

    Call it with the digests whose encodings are deleted from the cache.
    """
    wanted = list(dict.fromkeys(digests))
    removed = 0
    with store.connect() as con:
        con.executescript(_SCHEMA)
        with transaction(con):
            for chunk, marks in in_batches(wanted):
                removed += con.execute(
                    f"DELETE FROM person_facts WHERE digest IN ({marks}) OR other_digest IN ({marks})", chunk + chunk
                ).rowcount
            delete_empty_actions(con)
    return removed


def delete_empty_actions(con) -> None:
    """Inside a transaction: delete the actions left without a fact (here or on ids, ``person_id_facts``)."""
    ids = " AND id NOT IN (SELECT DISTINCT action FROM person_id_facts)" if _has_table(con, "person_id_facts") else ""
    con.execute(f"DELETE FROM person_actions WHERE id NOT IN (SELECT DISTINCT action FROM person_facts){ids}")


# --------------------------------------------------------------------------- reading


def read_facts(store: EncodingStore, settings_key: str) -> list[tuple]:
    with store.connect() as con:
        con.executescript(_SCHEMA)  # a cache that never had a correction has no tables yet
        return con.execute(
            "SELECT action, kind, digest, idx, other_digest, other_idx, name FROM person_facts "
            "WHERE settings=? ORDER BY action, rowid",
            (settings_key,),
        ).fetchall()
