"""The user's corrections to the persons found, kept in the encoding cache file.

Names, merges, splits, moves, "not this person" and "different people" are
stored as facts about faces, each face keyed by its content: the photo's
sha256 digest, the face's number in that photo (0 = largest) and the encoder
settings key. Never by row number or path, so the facts survive a restart, a
renamed or moved folder and a regrouping at another threshold. Facts are:

- ``name``: this face is an anchor of the person called ``name`` (NULL: of nobody);
- ``must``: these two faces are the same person (must-link);
- ``cannot``: these two faces are different people (cannot-link).

A correction on a *person* is recorded on its anchor faces, the
``ANCHORS`` faces nearest the person's mean encoding (its most typical
faces), so it keeps its meaning when a regrouping splits or merges groups.
A name follows its person: after any regrouping, the person holding most of
the name's anchors carries it (:func:`facecore.people.name_persons`). Two
persons given the same name are one person (their anchors are must-linked);
persons with different names stay apart.

Every correction is one row of ``person_actions`` with its facts in
``person_facts``; :func:`undo_correction` deletes the last (or a chosen) action.
:func:`load_corrections` turns the facts into must-link / cannot-link rows
of a FaceSet; when facts contradict each other, the later one wins.
``person_facts`` has a ``digest`` column (and ``other_digest``), so
:func:`delete_corrections` removes what concerns deleted photos.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .errors import InvalidParameterError
from .people import Constraints, Grouping, anchor_rows, face_fields, photo_ids
from .store import EncodingStore

#: Faces a correction about a whole person is recorded on.
ANCHORS = 5
MAX_NAME_LENGTH = 100

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

_BATCH = 500  # SQLite host parameters per statement (999 on older builds)

Fact = tuple[str, int, int | None, str | None]  # (kind, row, other row, name)


@dataclass(frozen=True)
class Action:
    """One correction as the user made it: what (``kind``), a one-line ``summary``, when (epoch seconds)."""

    id: int
    kind: str
    summary: str
    created: float


# --------------------------------------------------------------------------- writing


def _check_rows(faceset, rows: Iterable[int], what: str = "rows") -> np.ndarray:
    r = np.asarray(list(rows), dtype=np.int64)
    if r.size == 0:
        raise InvalidParameterError(f"{what} is empty: select at least one face.")
    if r.min() < 0 or r.max() >= len(faceset):
        raise InvalidParameterError(f"{what} names face rows outside 0..{len(faceset) - 1}: pick faces of this set.")
    return np.unique(r)


def _check_grouping(faceset, grouping: Grouping) -> None:
    if len(grouping.labels) != len(faceset):
        raise InvalidParameterError(
            f"grouping has {len(grouping.labels)} faces but the face set has {len(faceset)}: regroup this set first."
        )


def _check_name(name: str) -> str:
    clean = " ".join(str(name).split())
    if not clean or len(clean) > MAX_NAME_LENGTH:
        raise InvalidParameterError(f"name={name!r} must have 1 to {MAX_NAME_LENGTH} characters.")
    return clean


def _anchors(faceset, grouping: Grouping, person: int, leave_out: np.ndarray | None = None) -> np.ndarray:
    """The anchors of ``person``, chosen among its faces not in ``leave_out`` (the faces being moved)."""
    rows = grouping.members(person)
    if leave_out is not None:
        rows = np.setdiff1d(rows, leave_out)
    return anchor_rows(faceset.encodings, rows, ANCHORS)


def _record(store: EncodingStore, faceset, kind: str, summary: str, facts: list[Fact]) -> Action:
    """Write one action and its facts in one transaction; return the action."""
    digests, in_photo, _ = face_fields(faceset)
    settings = faceset.settings_key
    rows = [
        (settings, k, digests[a], in_photo[a], *((None, None) if b is None else (digests[b], in_photo[b])), name)
        for k, a, b, name in facts
    ]
    now = time.time()
    with store.connect() as con:
        con.executescript(_SCHEMA)
        con.execute("BEGIN IMMEDIATE")
        try:
            cur = con.execute(
                "INSERT INTO person_actions (settings, kind, summary, created) VALUES (?,?,?,?)",
                (settings, kind, summary, now),
            )
            action = int(cur.lastrowid)
            con.executemany(
                "INSERT INTO person_facts (action, settings, kind, digest, idx, other_digest, other_idx, name) "
                "VALUES (?,?,?,?,?,?,?,?)",
                [(action, *r) for r in rows],
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return Action(action, kind, summary, now)


def name_faces(store: EncodingStore, faceset, rows: Iterable[int], name: str) -> Action:
    """These faces are ``name`` (they become anchors of that name)."""
    rows, name = _check_rows(faceset, rows), _check_name(name)
    facts: list[Fact] = [("name", int(r), None, name) for r in rows]
    return _record(store, faceset, "name", f"named {len(rows)} face(s) {name!r}", facts)


def name_person(store: EncodingStore, faceset, grouping: Grouping, person: int, name: str) -> Action:
    """Name a person: its ``ANCHORS`` most typical faces become anchors of ``name``.

    A name already given to another person makes both one person.
    """
    _check_grouping(faceset, grouping)
    name = _check_name(name)
    anchors = _anchors(faceset, grouping, person)
    summary = f"named a person of {len(grouping.members(person))} faces {name!r}"
    return _record(store, faceset, "name", summary, [("name", int(r), None, name) for r in anchors])


def merge_persons(store: EncodingStore, faceset, grouping: Grouping, persons: Sequence[int]) -> Action:
    """These persons are one: all their anchors are must-linked to the first person's most typical face."""
    _check_grouping(faceset, grouping)
    persons = list(dict.fromkeys(int(p) for p in persons))
    if len(persons) < 2:
        raise InvalidParameterError(f"persons={persons} must name at least two different persons to merge.")
    anchors = [_anchors(faceset, grouping, p) for p in persons]
    hub = int(anchors[0][0])
    facts: list[Fact] = [("must", hub, int(r), None) for a in anchors for r in a if r != hub]
    return _record(store, faceset, "merge", f"merged {len(persons)} persons", facts)


def different_people(store: EncodingStore, faceset, grouping: Grouping, a: int, b: int) -> Action:
    """Persons ``a`` and ``b`` are different people: each anchor of one is cannot-linked to each of the other's."""
    _check_grouping(faceset, grouping)
    if a == b:
        raise InvalidParameterError(f"a={a} and b={b} must be two different persons.")
    ra, rb = _anchors(faceset, grouping, a), _anchors(faceset, grouping, b)
    facts: list[Fact] = [("cannot", int(x), int(y), None) for x in ra for y in rb]
    return _record(store, faceset, "different", "marked two persons as different people", facts)


def split_person(store: EncodingStore, faceset, parts: Sequence[Sequence[int]]) -> Action:
    """The faces of ``parts`` (e.g. from :func:`facecore.people.propose_split`) are that many different people.

    Recorded as cannot-links between the anchors of every two parts.
    """
    rows = [_check_rows(faceset, p, "a part") for p in parts]
    if len(rows) < 2:
        raise InvalidParameterError(f"parts has {len(rows)} part(s): a split needs at least two.")
    if len(np.unique(np.concatenate(rows))) != sum(len(r) for r in rows):
        raise InvalidParameterError("parts overlap: each face may be in one part only.")
    anchors = [anchor_rows(faceset.encodings, r, ANCHORS) for r in rows]
    facts: list[Fact] = [
        ("cannot", int(x), int(y), None)
        for i in range(len(anchors))
        for j in range(i + 1, len(anchors))
        for x in anchors[i]
        for y in anchors[j]
    ]
    return _record(store, faceset, "split", f"split {sum(len(r) for r in rows)} faces into {len(rows)} persons", facts)


def move_faces(store: EncodingStore, faceset, grouping: Grouping, rows: Iterable[int], to_person: int | None) -> Action:
    """These faces are not their current person (and lose any name); with ``to_person``, they are that person.

    Recorded per face as: no name, cannot-links to the anchors of its current
    person, and a must-link to ``to_person``'s most typical face.
    """
    _check_grouping(faceset, grouping)
    rows = _check_rows(faceset, rows)
    target = None
    if to_person is not None:
        hubs = _anchors(faceset, grouping, to_person, rows)
        if not len(hubs):
            raise InvalidParameterError(f"to_person={to_person} has no face besides the ones moved: pick another.")
        target = int(hubs[0])
    facts: list[Fact] = []
    for r in rows.tolist():
        facts.append(("name", r, None, None))
        current = int(grouping.labels[r])
        if current >= 0 and current != to_person:
            facts += [("cannot", r, int(a), None) for a in _anchors(faceset, grouping, current, rows)]
        if target is not None:
            facts.append(("must", target, r, None))
    kind, where = ("move", "to another person") if to_person is not None else ("not_person", "out of their person")
    return _record(store, faceset, kind, f"moved {len(rows)} face(s) {where}", facts)


def not_this_person(store: EncodingStore, faceset, grouping: Grouping, rows: Iterable[int]) -> Action:
    """These faces are not the person they are in ("not this person")."""
    return move_faces(store, faceset, grouping, rows, None)


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
        con.execute("BEGIN IMMEDIATE")
        try:
            sql = "SELECT id, kind, summary, created FROM person_actions WHERE settings=?"
            args: tuple = (settings_key,)
            if action is not None:
                sql, args = sql + " AND id=?", (settings_key, int(action))
            row = con.execute(sql + " ORDER BY id DESC LIMIT 1", args).fetchone()
            if row is not None:
                con.execute("DELETE FROM person_facts WHERE action=?", (row[0],))
                con.execute("DELETE FROM person_actions WHERE id=?", (row[0],))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    if row is None:
        if action is not None:
            raise InvalidParameterError(f"action={action} is not a recorded correction: see list_corrections().")
        return None
    return Action(int(row[0]), row[1], row[2], float(row[3]))


def delete_corrections(store: EncodingStore, digests: Iterable[str]) -> int:
    """Delete every fact (all settings) about faces of these photos, and actions left empty; return facts removed.

    Call it with the digests whose encodings are deleted from the cache.
    """
    wanted = list(dict.fromkeys(digests))
    removed = 0
    with store.connect() as con:
        con.executescript(_SCHEMA)
        con.execute("BEGIN IMMEDIATE")
        try:
            for i in range(0, len(wanted), _BATCH):
                chunk = wanted[i : i + _BATCH]
                marks = ",".join("?" * len(chunk))
                removed += con.execute(
                    f"DELETE FROM person_facts WHERE digest IN ({marks}) OR other_digest IN ({marks})", chunk + chunk
                ).rowcount
            con.execute("DELETE FROM person_actions WHERE id NOT IN (SELECT DISTINCT action FROM person_facts)")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return removed


def clear_corrections(store: EncodingStore) -> None:
    """Delete every correction in the cache file (e.g. with the whole cache)."""
    with store.connect() as con:
        con.executescript(_SCHEMA)
        con.execute("DELETE FROM person_facts")
        con.execute("DELETE FROM person_actions")


# --------------------------------------------------------------------------- reading


def _read_facts(store: EncodingStore, settings_key: str) -> list[tuple]:
    with store.connect() as con:
        con.executescript(_SCHEMA)  # a cache that never had a correction has no tables yet
        return con.execute(
            "SELECT action, kind, digest, idx, other_digest, other_idx, name FROM person_facts "
            "WHERE settings=? ORDER BY action, rowid",
            (settings_key,),
        ).fetchall()


def load_corrections(store: EncodingStore, faceset) -> Constraints:
    """The corrections that concern this FaceSet, as must-link / cannot-link face rows and named anchors.

    Facts about faces outside the set are left out. Each face keeps its latest
    name. Same-name anchors are must-linked; one anchor of each name is
    cannot-linked to one of every other name. Contradictions (a must-link
    across a cannot-link or across faces of one photo) are settled latest
    first: the later correction wins and the earlier one is counted in
    ``ignored``.
    """
    digests, in_photo, _ = face_fields(faceset)
    row_of = {(d, i): r for r, (d, i) in enumerate(zip(digests, in_photo, strict=True))}
    links: list[tuple[int, str, int, int]] = []  # (action, kind, a, b)
    name_of: dict[int, tuple[int, str | None]] = {}
    for action, kind, d, i, od, oi, name in _read_facts(store, faceset.settings_key):
        a = row_of.get((d, i))
        if a is None:
            continue
        if kind == "name":
            name_of[a] = (action, name)
            continue
        b = row_of.get((od, oi))
        if b is not None and b != a:
            links.append((action, kind, a, b))
    names: dict[str, list[int]] = {}
    latest: dict[str, int] = {}
    for row, (action, name) in sorted(name_of.items()):
        if name is not None:
            names.setdefault(name, []).append(row)
            latest[name] = max(latest.get(name, 0), action)
    for name, rows in names.items():
        links += [(latest[name], "must", rows[0], r) for r in rows[1:]]
    heads = sorted((rows[0], name) for name, rows in names.items())
    for i, (ra, na) in enumerate(heads):
        links += [(max(latest[na], latest[nb]), "cannot", ra, rb) for rb, nb in heads[i + 1 :]]
    must, cannot, ignored = _settle(links, photo_ids(faceset))
    return Constraints(must, cannot, {n: np.asarray(r, np.int64) for n, r in names.items()}, ignored)


def _settle(links: list[tuple[int, str, int, int]], photos: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Keep the links that agree with every later one; return ``(must (k, 2), cannot (c, 2), ignored)``."""
    parent: dict[int, int] = {}
    apart: dict[int, set[int]] = {}  # component root -> roots it may not join
    shots: dict[int, set[int]] = {}  # component root -> photos of its faces

    def find(v: int) -> int:
        parent.setdefault(v, v)
        shots.setdefault(v, {int(photos[v])})
        while parent[v] != v:
            parent[v] = parent[parent[v]]
            v = parent[v]
        return v

    must, cannot, ignored = [], [], 0
    for _, kind, a, b in sorted(links, key=lambda t: -t[0]):  # latest first: it wins
        ra, rb = find(a), find(b)
        if kind == "must":
            if ra != rb and (rb in apart.get(ra, ()) or shots[ra] & shots[rb]):
                ignored += 1
                continue
            if ra != rb:
                parent[rb] = ra
                shots[ra] |= shots.pop(rb)
                for other in apart.pop(rb, set()):
                    apart[other].discard(rb)
                    apart[other].add(ra)
                    apart.setdefault(ra, set()).add(other)
            must.append((a, b))
        else:
            if ra == rb:
                ignored += 1
                continue
            apart.setdefault(ra, set()).add(rb)
            apart.setdefault(rb, set()).add(ra)
            cannot.append((a, b))
    return np.asarray(must, np.int64).reshape(-1, 2), np.asarray(cannot, np.int64).reshape(-1, 2), ignored
