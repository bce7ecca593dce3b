"""The user's corrections to the persons found: name, merge, split, move, "not this person", "different
people", and what they mean for a FaceSet (:func:`load_corrections`).

A correction on a *person* is recorded on its anchor faces, the ``ANCHORS`` faces nearest the person's
mean encoding (its most typical faces), so it keeps its meaning when a regrouping splits or merges
groups. A name follows its person: after any regrouping, the person holding most of the name's anchors
carries it (:func:`facecore.people.names.name_persons`). Two persons given the same name are one person
(their anchors are must-linked); persons with different names stay apart. The facts are stored by
:mod:`facecore.storage.person_facts`; when facts contradict each other, the later one wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from ..errors import InvalidParameterError
from ..storage.encodings import EncodingStore
from ..storage.person_facts import Action, read_facts, record_action
from .constraints import Constraints
from .faces import face_fields, photo_ids
from .grouping import Grouping
from .names import anchor_rows

#: Faces a correction about a whole person is recorded on.
ANCHORS = 5
MAX_NAME_LENGTH = 100

Fact = tuple[str, int, int | None, str | None]  # (kind, row, other row, name)


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
    return record_action(store, settings, kind, summary, rows)


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
    for action, kind, d, i, od, oi, name in read_facts(store, faceset.settings_key):
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
