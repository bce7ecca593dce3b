"""Persons with stable ids: the grouping, the ids its groups inherit, and the user's corrections laid on top
exactly (:func:`persons_for`, giving :class:`Persons`).

1. The faces are grouped deterministically (:func:`.grouping.group_faceset`) with only the corrections
   older caches hold as must/cannot-links (:func:`.corrections.load_corrections`): a correction made on
   ids never feeds the grouping, so it cannot move faces it does not name.
2. Each group inherits an id (:func:`inherit_ids`): every face remembers each id it has been in
   (:mod:`facecore.storage.person_ids`); a group takes the id that most of its faces held, faces that
   anchor a name counting first, largest overlap first, each id once. A group left without one gets a new
   id from a counter that never gives an id twice. First ids follow the largest-first order (Person 1 is
   the largest), as the app numbered them before.
3. The corrections are applied: a pinned face goes to its id (or to nobody), whatever its group; merged
   ids show as the id they were merged into; names attach to ids.

Display order is by size (largest first, then lowest id); the id does not change with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..curation.face_quality import LINK_BAR, QualityBar, faceset_quality, low_quality_rows, quality_bar
from ..errors import InvalidParameterError
from ..storage.encodings import EncodingStore
from ..storage.person_ids import read_face_ids, read_id_facts, save_face_ids
from .corrections import load_corrections
from .faces import DEFAULT_MIN_SIZE, DEFAULT_THRESHOLD, face_fields
from .grouping import Grouping
from .kept import GraphSource, kept_grouping
from .names import name_persons


@dataclass(frozen=True, eq=False)
class Persons:
    """The persons of a FaceSet, corrections applied, with their stable ids.

    ``grouping.labels`` ``(n,)`` is each face's person *index* (0 = largest, -1 = unsorted); ``ids``
    ``(n_persons,)`` int64 the stable id of each index; ``names`` the name of each index or None.
    ``apart`` holds the id pairs marked "different people"; ``base`` is the grouping before the
    corrections on ids, ``base_ids`` ``(base.n_persons,)`` the id each of its groups inherited.
    Pass :func:`.edits.apart_rows` to ``suggest_merges`` to leave out the pairs marked different.
    """

    grouping: Grouping
    ids: np.ndarray
    names: tuple[str | None, ...]
    apart: frozenset[tuple[int, int]]
    base: Grouping
    base_ids: np.ndarray
    #: ``(k, 2)`` the cannot-link face rows of corrections older caches hold ("different people" before ids)
    legacy_cannot: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int64))

    @property
    def n_persons(self) -> int:
        return self.grouping.n_persons

    def index(self, person_id: int) -> int:
        """The display index of the person with this id; raise when no person has it."""
        hit = np.flatnonzero(self.ids == int(person_id))
        if not len(hit):
            raise InvalidParameterError(
                f"Person {person_id} is not a person of this set now: pick one of the ids listed (`people DIR`)."
            )
        return int(hit[0])

    def label(self, index: int) -> str:
        """``"Ada"`` or ``"Person 12"`` for the person at display ``index``."""
        return self.names[index] or f"Person {int(self.ids[index])}"

    def face_ids(self) -> np.ndarray:
        """``(n,)`` the id of each face's person, -1 when unsorted."""
        lab = self.grouping.labels
        return np.where(lab >= 0, self.ids[np.maximum(lab, 0)], -1)


# --------------------------------------------------------------------------- ids for groups


def inherit_ids(
    labels: np.ndarray, vote_rows: np.ndarray, vote_ids: np.ndarray, anchor_rows: np.ndarray, anchor_ids: np.ndarray
) -> np.ndarray:
    """The id each group of ``labels`` ((n,), -1 unsorted) inherits; -1 for a group that gets a new one.

    ``vote_rows``/``vote_ids`` are ``(v,)`` (face row, id it has been in); ``anchor_rows``/``anchor_ids``
    the faces anchoring a name. Pairs (group, id) are taken greedily: most anchors first, then most faces,
    then the larger share of the id's faces, then the lower id; each group and each id once.
    """
    n_groups = int(labels.max(initial=-1)) + 1
    out = np.full(n_groups, -1, np.int64)
    g = labels[vote_rows]
    keep = g >= 0
    if not keep.any() or n_groups == 0:
        return out
    pairs, overlap = np.unique(np.stack([g[keep], vote_ids[keep]], 1), axis=0, return_counts=True)
    ids, total = np.unique(vote_ids, return_counts=True)
    share = overlap / total[np.searchsorted(ids, pairs[:, 1])]
    ga = labels[anchor_rows] if len(anchor_rows) else np.zeros(0, np.int64)
    anchored = {}
    for grp, pid in zip(ga[ga >= 0].tolist(), np.asarray(anchor_ids)[ga >= 0].tolist(), strict=True):
        anchored[(grp, pid)] = anchored.get((grp, pid), 0) + 1
    anc = np.array([anchored.get((int(a), int(b)), 0) for a, b in pairs], np.int64)
    order = np.lexsort((pairs[:, 1], -share, -overlap, -anc))
    used: set[int] = set()
    for grp, pid in pairs[order].tolist():
        if out[grp] < 0 and pid not in used:
            out[grp] = pid
            used.add(pid)
    return out


# --------------------------------------------------------------------------- the corrections on ids


@dataclass(frozen=True)
class IdFacts:
    """The corrections on ids for one FaceSet: ``pins`` {row: id or None}, ``alias`` {id: id it is},
    ``names`` {id: name}, name ``anchors`` as (rows, ids), ``apart`` id pairs, and the faces each side
    of them had when marked, ``sides`` {row: (its id, the other id)}."""

    pins: dict
    alias: dict
    names: dict
    anchors: tuple[np.ndarray, np.ndarray]
    apart: frozenset
    sides: dict

    def resolve(self, pid: int) -> int:
        """The id ``pid`` shows as after merges (following merge after merge)."""
        seen = set()
        while pid in self.alias and pid not in seen:
            seen.add(pid)
            pid = self.alias[pid]
        return pid


def read_facts(store: EncodingStore, faceset, row_of: dict) -> IdFacts:
    """The id facts stored for ``faceset``'s settings, faces outside the set left out; later facts win."""
    pins, alias, names, apart, sides = {}, {}, {}, set(), {}
    anchors: dict[int, int] = {}
    for _, kind, d, i, person, other, name in read_id_facts(store, faceset.settings_key):
        row = row_of.get((d, i)) if d is not None else None
        if kind == "pin" and row is not None:
            pins[row] = person
        elif kind == "alias":
            alias[int(other)] = int(person)
        elif kind == "name":
            names[int(person)] = name
            if row is not None:
                anchors[row] = int(person)
        elif kind == "apart":
            apart.add((min(person, other), max(person, other)))
            if row is not None:
                sides[row] = (int(person), int(other))
    rows = np.fromiter(anchors.keys(), np.int64, len(anchors))
    anchor_ids = np.fromiter(anchors.values(), np.int64, len(anchors))
    return IdFacts(pins, alias, names, (rows, anchor_ids), frozenset(apart), sides)


# --------------------------------------------------------------------------- all together


def _votes(store: EncodingStore, faceset, row_of: dict, pinned: set) -> tuple[np.ndarray, np.ndarray, set]:
    """``(rows, ids, known)``: every id each face of the set has been in (pinned faces do not vote)."""
    known = set()
    rows, ids = [], []
    for d, i, pid in read_face_ids(store, faceset.settings_key):
        r = row_of.get((d, i))
        if r is not None:
            known.add((r, pid))
            if r not in pinned:
                rows.append(r)
                ids.append(pid)
    return np.asarray(rows, np.int64), np.asarray(ids, np.int64), known


def _keep_apart(raw: np.ndarray, facts: IdFacts) -> np.ndarray:
    """Each face of a person marked "different people" from another, shown as that other person (a looser
    grouping put the two together), goes back to its own id."""
    out = raw.copy()
    for row, (own, other) in facts.sides.items():
        if raw[row] >= 0 and facts.resolve(int(raw[row])) == facts.resolve(other):
            out[row] = own
    return out


def _face_ids(store: EncodingStore, faceset, base: Grouping, row_of: dict, facts: IdFacts) -> tuple:
    """``(face ids (n,), group ids)``: each face's id from its group of ``base`` (inherited, or new; -1
    unsorted) before merges and pins, and each group's; new (face, id) pairs are remembered."""
    digests, in_photo, _ = face_fields(faceset)
    vote_rows, vote_ids, known = _votes(store, faceset, row_of, set(facts.pins))
    ids = inherit_ids(base.labels, vote_rows, vote_ids, *facts.anchors)
    raw = np.where(base.labels >= 0, ids[np.maximum(base.labels, 0)] if len(ids) else -1, -1)
    raw = _keep_apart(raw, facts)
    fresh = [g for g in range(len(ids)) if ids[g] < 0]
    add = [(digests[r], in_photo[r], int(raw[r])) for r in np.flatnonzero(raw >= 0).tolist()
           if (r, int(raw[r])) not in known]  # fmt: skip
    if add or fresh:
        groups = [np.flatnonzero(base.labels == g) for g in fresh]
        new = save_face_ids(store, faceset.settings_key, add,
                            [[(digests[r], in_photo[r]) for r in rows.tolist()] for rows in groups])  # fmt: skip
        for g, rows, pid in zip(fresh, groups, new, strict=True):
            ids[g], raw[rows] = pid, pid
    return raw, ids


def _final_labels(face_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Person index of each face (largest first, then lowest id; -1 unsorted) and the id of each index."""
    inside = face_ids >= 0
    uniq, inv, counts = np.unique(face_ids[inside], return_inverse=True, return_counts=True)
    order = np.lexsort((uniq, -counts))
    rank = np.empty(len(uniq), np.int32)
    rank[order] = np.arange(len(uniq), dtype=np.int32)
    labels = np.full(len(face_ids), -1, np.int32)
    labels[inside] = rank[inv.reshape(-1)]
    return labels, uniq[order].astype(np.int64)


def persons_for(
    store: EncodingStore,
    faceset,
    threshold: float = DEFAULT_THRESHOLD,
    min_size: int = DEFAULT_MIN_SIZE,
    *,
    seed: int = 0,
    graph: GraphSource = None,
    radius: float | None = None,
    bar: QualityBar | None = None,
) -> Persons:
    """The persons of ``faceset`` at ``threshold`` with their stable ids and every stored correction applied.

    Faces whose stored quality is below ``bar`` (None: :func:`facecore.curation.face_quality.quality_bar`, the
    app's) never start or join a person on their own: they stay unsorted, listed in ``grouping.low_quality``,
    until the user moves one (a pin, as any move). Faces below ``LINK_BAR`` (blurred) build no person but join
    the nearest one if near enough (:mod:`.weak`).
    Writes to the cache file only when a face is seen in an id for the first time (new photos, a new
    strictness): the ids found are then stable for every later call, in the app and the CLI alike; and the
    grouping under the corrections, when it was not kept yet (:func:`.kept.kept_grouping`: ``graph`` is a
    neighbour graph, a function building one only when needed, or None; ``radius`` its radius).
    """
    digests, in_photo, _ = face_fields(faceset)
    row_of = {(d, i): r for r, (d, i) in enumerate(zip(digests, in_photo, strict=True))}
    legacy = load_corrections(store, faceset)
    bar = quality_bar() if bar is None else bar
    quality = faceset_quality(store, faceset)
    gated = low_quality_rows(quality, bar) if bar != QualityBar() else ()
    weak = low_quality_rows(quality, LINK_BAR)  # doubtful faces join the nearest person, build none
    base = kept_grouping(store, faceset, threshold, min_size, legacy, seed=seed, graph=graph, radius=radius,
                         gated=gated, weak=weak)  # fmt: skip
    facts = read_facts(store, faceset, row_of)
    raw, base_ids = _face_ids(store, faceset, base, row_of, facts)
    cache: dict[int, int] = {}
    face_ids = np.array([-1 if p < 0 else cache.setdefault(p, facts.resolve(p)) for p in raw.tolist()], np.int64)
    for row, pid in facts.pins.items():
        face_ids[row] = -1 if pid is None else facts.resolve(int(pid))
    labels, ids = _final_labels(face_ids)
    low = base.low_quality[labels[base.low_quality] < 0]  # a low-quality face the user moved is in its person
    grouping = Grouping(labels, base.threshold, base.min_size, base.method, base.seed, low)
    old_names = name_persons(grouping, legacy.names)  # names given before ids existed
    named = {}
    for pid, name in facts.names.items():  # a merged person keeps its name when the one it joined has none
        if pid == facts.resolve(pid) or facts.resolve(pid) not in facts.names:
            named[facts.resolve(pid)] = name
    names = tuple(named.get(int(pid)) or old for pid, old in zip(ids.tolist(), old_names, strict=True))
    apart = frozenset((facts.resolve(a), facts.resolve(b)) for a, b in facts.apart)
    return Persons(grouping, ids, names, apart, base, base_ids, legacy.cannot_link)
