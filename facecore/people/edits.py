"""The user's corrections on persons with stable ids (:class:`.identities.Persons`): each changes only what it
names, and :func:`facecore.storage.person_facts.undo_correction` takes the last one back exactly.

- :func:`name_id`: the name goes to the id (recorded on its most typical faces too, so deleting those
  photos deletes it);
- :func:`merge_ids`: the other ids show as the first one;
- :func:`move_to`: the faces are pinned to an id, to a new id, or to nobody (unsorted): they stay there
  whatever later groupings do, and no other face moves;
- :func:`split_parts`: every part but the first gets a new id;
- :func:`mark_different`: the pair is not suggested again.

Two faces of one photo never share a person: a move or merge that would do that is refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from ..errors import InvalidParameterError
from ..storage.encodings import EncodingStore
from ..storage.person_facts import Action
from ..storage.person_ids import new_ids, record_id_action
from .corrections import ANCHORS, _check_name, _check_rows
from .faces import face_fields, photo_ids
from .identities import Persons
from .names import anchor_rows

NEW = "new"


def _ids_of(persons: Persons, ids: Iterable[int]) -> list[int]:
    out = list(dict.fromkeys(int(i) for i in ids))
    for pid in out:
        persons.index(pid)  # raises for an id that is not a person now
    return out


def _shared_photo(faceset, a: np.ndarray, b: np.ndarray) -> str | None:
    """The display name of a photo with a face in rows ``a`` and one in rows ``b`` (or within ``a`` when
    ``b`` is ``a``), None when there is none."""
    photos = photo_ids(faceset)
    if a is b:
        uniq, counts = np.unique(photos[a], return_counts=True)
        dup = uniq[counts > 1]
    else:
        dup = np.intersect1d(photos[a], photos[b])
    if not len(dup):
        return None
    return faceset.faces[int(a[np.flatnonzero(photos[a] == dup[0])[0]])].name


def _write(store: EncodingStore, faceset, kind: str, summary: str, facts: list) -> Action:
    return record_id_action(store, faceset.settings_key, kind, summary, facts)


def name_id(store: EncodingStore, faceset, persons: Persons, person_id: int, name: str) -> Action:
    """Person ``person_id`` is called ``name`` (1-100 characters)."""
    name = _check_name(name)
    index = persons.index(person_id)
    digests, in_photo, _ = face_fields(faceset)
    anchors = anchor_rows(faceset.encodings, persons.grouping.members(index), ANCHORS)
    facts = [("name", digests[r], in_photo[r], int(person_id), None, name) for r in anchors.tolist()]
    return _write(store, faceset, "name", f"named Person {person_id} {name!r}", facts)


def merge_ids(store: EncodingStore, faceset, persons: Persons, ids: Sequence[int]) -> Action:
    """These persons are one: every id after the first shows as the first."""
    ids = _ids_of(persons, ids)
    if len(ids) < 2:
        raise InvalidParameterError(f"ids={ids} must name at least two different persons to merge.")
    lab = persons.grouping.labels
    rows = [np.flatnonzero(lab == persons.index(p)) for p in ids]
    for i in range(1, len(ids)):
        if (photo := _shared_photo(faceset, np.concatenate(rows[:i]), rows[i])) is not None:
            raise InvalidParameterError(
                f"Person {ids[i]} and Person {ids[0]} both have a face in {photo!r}: two faces of one photo are "
                "two people, so they cannot be merged (move the wrong faces out first)."
            )
    facts = [("alias", None, None, ids[0], b, None) for b in ids[1:]]
    others = ", ".join(f"Person {b}" for b in ids[1:])
    return _write(store, faceset, "merge", f"merged {others} into Person {ids[0]}", facts)


def _target(store: EncodingStore, faceset, persons: Persons, rows: np.ndarray, to) -> tuple[int | None, str]:
    """The id the faces go to (None: nobody) and its words, checked."""
    if to is None:
        return None, "nobody (unsorted)"
    if to == NEW:
        if (photo := _shared_photo(faceset, rows, rows)) is not None:
            raise InvalidParameterError(f"two of these faces are in {photo!r}: one person cannot have both.")
        return new_ids(store, faceset.settings_key, 1)[0], "a new person"
    index = persons.index(int(to))
    theirs = np.setdiff1d(persons.grouping.members(index), rows)
    both = np.concatenate([theirs, rows])
    if (photo := _shared_photo(faceset, both, both)) is not None:
        raise InvalidParameterError(f"Person {to} would have two faces of {photo!r}: pick another person.")
    return int(to), f"Person {int(to)}"


def move_to(store: EncodingStore, faceset, persons: Persons, rows: Iterable[int], to: int | str | None) -> Action:
    """Faces ``rows`` are person ``to`` (an id), a new person (``"new"``) or nobody (None: unsorted).

    Each face is pinned: it stays there through any regrouping until this is undone or it is moved again.
    """
    rows = _check_rows(faceset, rows, "faces")
    pid, where = _target(store, faceset, persons, rows, to)
    fid = persons.face_ids()
    if pid is not None and (fid[rows] == pid).all():
        raise InvalidParameterError(f"these faces are already in Person {pid}: pick another target.")
    digests, in_photo, _ = face_fields(faceset)
    facts = [("pin", digests[r], in_photo[r], pid, None if fid[r] < 0 else int(fid[r]), None) for r in rows.tolist()]
    kind = "not_person" if to is None else "move"
    return _write(store, faceset, kind, f"moved {len(rows)} face(s) to {where}", facts)


def split_parts(store: EncodingStore, faceset, persons: Persons, parts: Sequence[Sequence[int]]) -> Action:
    """The faces of ``parts`` are that many people: the first part keeps its id, each other gets a new one."""
    rows = [_check_rows(faceset, p, "a part") for p in parts]
    if len(rows) < 2:
        raise InvalidParameterError(f"parts has {len(rows)} part(s): a split needs at least two.")
    if len(np.unique(np.concatenate(rows))) != sum(len(r) for r in rows):
        raise InvalidParameterError("parts overlap: each face may be in one part only.")
    fid = persons.face_ids()
    digests, in_photo, _ = face_fields(faceset)
    ids = new_ids(store, faceset.settings_key, len(rows) - 1)
    facts = [("pin", digests[r], in_photo[r], pid, None if fid[r] < 0 else int(fid[r]), None)
             for pid, part in zip(ids, rows[1:], strict=True) for r in part.tolist()]  # fmt: skip
    return _write(store, faceset, "split", f"split {sum(len(r) for r in rows)} faces into {len(rows)} persons", facts)


def mark_different(store: EncodingStore, faceset, persons: Persons, a: int, b: int) -> Action:
    """Persons ``a`` and ``b`` (ids) are different people: the pair is not suggested again, and a looser
    grouping that would join them leaves each face they have now with its own id (recorded per face)."""
    a, b = _ids_of(persons, [a, b]) if int(a) != int(b) else (int(a), int(a))
    if a == b:
        raise InvalidParameterError(f"a={a} and b={b} must be two different persons.")
    digests, in_photo, _ = face_fields(faceset)
    fid = persons.face_ids()
    facts = [("apart", digests[r], in_photo[r], own, other, None)
             for own, other in ((a, b), (b, a)) for r in np.flatnonzero(fid == own).tolist()]  # fmt: skip
    return _write(store, faceset, "different", f"marked Person {a} and Person {b} as different people", facts)


def apart_rows(persons: Persons) -> np.ndarray:
    """``(k, 2)`` one face row of each of two persons marked different (for ``suggest_merges``' cannot_link),
    and the cannot-links older caches hold."""
    wanted = {p for pair in persons.apart for p in pair}
    lab = persons.grouping.labels
    reps = {pid: int(np.flatnonzero(lab == i)[0]) for i, pid in enumerate(persons.ids.tolist()) if pid in wanted}
    pairs = [(reps[a], reps[b]) for a, b in persons.apart if a in reps and b in reps]
    return np.concatenate([np.asarray(pairs, np.int64).reshape(-1, 2), persons.legacy_cannot])
