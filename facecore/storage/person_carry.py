"""The user's persons carried from largest-face mode to every-face mode.

Photos encoded before every face was kept reopen with their largest face only, and the user may name and
correct persons there (rows under the largest-face settings key). Encoding every face of those photos gives
rows under another key, and the People page then reads its persons there: without this module the names,
merges and moves made before would be gone. Every-face detection keeps the largest-face cascade's faces first,
in the same order and with the same boxes (:mod:`facecore.encode.detection`), so a face numbered ``idx``
before is the same face after, and each person row means the same thing under the new key.

What is carried, for the photos of one set: the ids their faces held (``person_face_ids``), the corrections
about them (``person_facts``, ``person_id_facts``; merges and names about the ids their faces held) and the
actions those belong to (``person_actions``, so the log and undo stay whole). Only when the new key holds no
person row about those photos yet: after that the two histories go their own ways. Ids are moved past the
new key's counter, so a carried id never meets an id given under the new key before (when the new key has
none, which is the usual case, ids stay as they were).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from .db import in_batches, transaction
from .encodings import EncodingStore
from .person_facts import insert_action
from .person_ids import _ready


def _about(con: sqlite3.Connection, key: str, digests: list[str]) -> tuple[list[tuple], set[int]]:
    """The ``(digest, idx, person)`` id rows of these photos under ``key``, and the actions with a fact about
    them (a face of theirs, or an id one of their faces held)."""
    faces, actions = [], set()
    for chunk, marks in in_batches(digests):
        args = [key, *chunk]
        faces += con.execute(f"SELECT digest, idx, person FROM person_face_ids WHERE settings=? "
                             f"AND digest IN ({marks})", args).fetchall()  # fmt: skip
        actions |= {a for (a,) in con.execute(
            f"SELECT action FROM person_facts WHERE settings=? AND (digest IN ({marks}) OR other_digest IN ({marks}))",
            [key, *chunk, *chunk])}  # fmt: skip
        actions |= {a for (a,) in con.execute(
            f"SELECT action FROM person_id_facts WHERE settings=? AND digest IN ({marks})", args)}  # fmt: skip
    held = sorted({p for _, _, p in faces})
    for chunk, marks in in_batches(held):
        actions |= {a for (a,) in con.execute(
            f"SELECT action FROM person_id_facts WHERE settings=? AND (person IN ({marks}) OR other IN ({marks}))",
            [key, *chunk, *chunk])}  # fmt: skip
    return faces, actions


def _counter(con: sqlite3.Connection, key: str) -> int | None:
    row = con.execute("SELECT next FROM person_id_counter WHERE settings=?", (key,)).fetchone()
    return None if row is None else int(row[0])


def carry_persons(store: EncodingStore, digests: Iterable[str], from_key: str, to_key: str) -> int:
    """Copy the person rows about these photos (content digests) from settings ``from_key`` to ``to_key`` when
    ``to_key`` holds none about them; return the actions copied (0 when there was nothing to carry, or when
    ``to_key`` had rows about them already). One transaction."""
    wanted = list(dict.fromkeys(digests))
    if from_key == to_key or not wanted:
        return 0
    with store.connect() as con:
        _ready(con)
        if not con.execute("SELECT 1 FROM person_face_ids WHERE settings=? LIMIT 1", (from_key,)).fetchone():
            return 0  # the usual case: no person was ever made under the old key (a read, no write lock)
        with transaction(con):
            faces, actions = _about(con, from_key, wanted)
            theirs, their_actions = _about(con, to_key, wanted)
            if theirs or their_actions or not (faces or actions):
                return 0
            start = _counter(con, to_key) or 1
            offset = start - 1
            top = max([_counter(con, from_key) or 1, *(p + 1 for _, _, p in faces)])
            con.execute("INSERT INTO person_id_counter (settings, next) VALUES (?, ?) ON CONFLICT(settings) "
                        "DO UPDATE SET next=excluded.next", (to_key, top + offset))  # fmt: skip
            con.executemany("INSERT OR IGNORE INTO person_face_ids (settings, digest, idx, person) VALUES (?,?,?,?)",
                            [(to_key, d, i, p + offset) for d, i, p in faces])  # fmt: skip
            for old in sorted(actions):
                kind, summary, created = con.execute(
                    "SELECT kind, summary, created FROM person_actions WHERE id=?", (old,)).fetchone()  # fmt: skip
                new = insert_action(con, to_key, kind, summary, created)
                con.execute("INSERT INTO person_facts (action, settings, kind, digest, idx, other_digest, other_idx, "
                            "name) SELECT ?, ?, kind, digest, idx, other_digest, other_idx, name FROM person_facts "
                            "WHERE action=? ORDER BY rowid", (new, to_key, old))  # fmt: skip
                con.execute("INSERT INTO person_id_facts (action, settings, kind, digest, idx, person, other, name) "
                            "SELECT ?, ?, kind, digest, idx, person + ?, other + ?, name FROM person_id_facts "
                            "WHERE action=? ORDER BY rowid", (new, to_key, offset, offset, old))  # fmt: skip
    return len(actions)
