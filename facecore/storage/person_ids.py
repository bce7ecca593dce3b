"""Stable person ids and the corrections made on them, as rows of the cache file.

A person keeps an integer id through corrections, regroupings at another strictness, new photos and
reloads (:mod:`facecore.people.identities` decides which group holds which id). Three tables, all keyed by
encoder settings, faces keyed by content (photo sha256 digest, face number in the photo), never by path:

- ``person_face_ids``: every id a face has been in (one row per face and id): the votes that let a group
  of a later grouping inherit its id;
- ``person_id_counter``: the next new id per settings key; an id is never given twice, even after undo;
- ``person_id_facts``: the user's corrections on ids, each row belonging to an action of
  ``person_actions`` (:mod:`.person_facts`, so the log and undo are shared):

  - ``pin``: face (digest, idx) is ``person`` (NULL: unsorted, in nobody); ``other``: the id it came from;
  - ``alias``: person ``other`` is person ``person`` (a merge);
  - ``name``: person ``person`` is called ``name``, recorded on each of its anchor faces (digest, idx);
  - ``apart``: persons ``person`` and ``other`` are different people, recorded on each face (digest, idx)
    of ``person`` at the time.

Deleting photos (:func:`delete_id_rows`) deletes their rows, then the id facts about ids no face holds any more.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Sequence

from .db import delete_by_digest, transaction
from .encodings import EncodingStore
from .person_facts import _SCHEMA as FACTS_SCHEMA
from .person_facts import Action, delete_empty_actions, insert_action

SCHEMA = """
CREATE TABLE IF NOT EXISTS person_face_ids (
    settings TEXT NOT NULL,
    digest   TEXT NOT NULL,
    idx      INTEGER NOT NULL,
    person   INTEGER NOT NULL,
    PRIMARY KEY (settings, digest, idx, person)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS person_face_ids_digest ON person_face_ids(digest);
CREATE TABLE IF NOT EXISTS person_id_counter (
    settings TEXT PRIMARY KEY,
    next     INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS person_id_facts (
    action   INTEGER NOT NULL,
    settings TEXT NOT NULL,
    kind     TEXT NOT NULL CHECK (kind IN ('pin', 'alias', 'name', 'apart')),
    digest   TEXT,
    idx      INTEGER,
    person   INTEGER,
    other    INTEGER,
    name     TEXT
);
CREATE INDEX IF NOT EXISTS person_id_facts_action ON person_id_facts(action);
CREATE INDEX IF NOT EXISTS person_id_facts_digest ON person_id_facts(digest);
"""

#: One id fact as written: ``(kind, digest, idx, person, other, name)``.
IdFact = tuple[str, str | None, int | None, int | None, int | None, str | None]


def _ready(con: sqlite3.Connection) -> None:
    con.executescript(FACTS_SCHEMA + SCHEMA)  # a cache that never grouped persons has no tables yet


# --------------------------------------------------------------------------- face -> ids


def read_face_ids(store: EncodingStore, settings_key: str) -> list[tuple[str, int, int]]:
    """Every ``(digest, idx, person id)`` known for these encoder settings (a face may hold several ids)."""
    with store.connect() as con:
        _ready(con)
        return con.execute(
            "SELECT digest, idx, person FROM person_face_ids WHERE settings=?", (settings_key,)
        ).fetchall()


def _take_ids(con: sqlite3.Connection, settings_key: str, count: int) -> list[int]:
    """``count`` ids never given before for these settings (inside a transaction)."""
    row = con.execute("SELECT next FROM person_id_counter WHERE settings=?", (settings_key,)).fetchone()
    start = int(row[0]) if row else 1
    con.execute(
        "INSERT INTO person_id_counter (settings, next) VALUES (?, ?) "
        "ON CONFLICT(settings) DO UPDATE SET next=excluded.next",
        (settings_key, start + count),
    )
    return list(range(start, start + count))


def new_ids(store: EncodingStore, settings_key: str, count: int) -> list[int]:
    """``count`` new person ids (from the counter: an id is never given twice)."""
    with store.connect() as con:
        _ready(con)
        with transaction(con):
            return _take_ids(con, settings_key, count)


def save_face_ids(
    store: EncodingStore, settings_key: str, known: Sequence[tuple[str, int, int]], new: Sequence[Sequence[tuple]]
) -> list[int]:
    """Add ``known`` ``(digest, idx, id)`` rows, and give each group of faces in ``new`` (lists of
    ``(digest, idx)``) a new id from the counter; return those new ids, in order. One transaction."""
    with store.connect() as con:
        _ready(con)
        with transaction(con):
            ids = _take_ids(con, settings_key, len(new)) if new else []
            rows = [(settings_key, d, int(i), int(p)) for d, i, p in known]
            rows += [(settings_key, d, int(i), pid) for pid, faces in zip(ids, new, strict=True) for d, i in faces]
            con.executemany("INSERT OR IGNORE INTO person_face_ids (settings, digest, idx, person) VALUES (?,?,?,?)",
                            rows)  # fmt: skip
    return ids


# --------------------------------------------------------------------------- corrections on ids


def record_id_action(store: EncodingStore, settings_key: str, kind: str, summary: str, facts: list[IdFact]) -> Action:
    """Write one action (in ``person_actions``) and its id facts in one transaction; return the action."""
    now = time.time()
    with store.connect() as con:
        _ready(con)
        with transaction(con):
            action = insert_action(con, settings_key, kind, summary, now)
            con.executemany(
                "INSERT INTO person_id_facts (action, settings, kind, digest, idx, person, other, name) "
                "VALUES (?,?,?,?,?,?,?,?)",
                [(action, settings_key, *f) for f in facts],
            )
    return Action(action, kind, summary, now)


def read_id_facts(store: EncodingStore, settings_key: str) -> list[tuple]:
    """``(action, kind, digest, idx, person, other, name)`` of every id fact, oldest first."""
    with store.connect() as con:
        _ready(con)
        return con.execute(
            "SELECT action, kind, digest, idx, person, other, name FROM person_id_facts "
            "WHERE settings=? ORDER BY action, rowid",
            (settings_key,),
        ).fetchall()


def delete_id_rows(store: EncodingStore, digests: Iterable[str]) -> int:
    """Delete the face ids and id facts of these photos (all settings), then the id facts (names, merges,
    "different people") about ids no face holds any more, and actions left empty; return the rows removed."""
    with store.connect() as con:
        _ready(con)
        with transaction(con):
            removed = _delete_id_rows(con, list(dict.fromkeys(digests)))
            delete_empty_actions(con)
    return removed


def _delete_id_rows(con: sqlite3.Connection, wanted: list[str]) -> int:
    removed = delete_by_digest(con, "person_face_ids", wanted) + delete_by_digest(con, "person_id_facts", wanted)
    held = "SELECT person FROM person_face_ids f WHERE f.settings = person_id_facts.settings"
    removed += con.execute(
        f"DELETE FROM person_id_facts WHERE kind != 'pin' AND (person NOT IN ({held}) "
        f"OR (other IS NOT NULL AND other NOT IN ({held})))"
    ).rowcount
    return removed
