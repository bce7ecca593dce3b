"""Faces -> persons without choosing K, with the user's corrections: :func:`group_faces` and
:func:`group_faceset`.

Persons are found over a sparse neighbour graph (:mod:`.graph`) in two passes (:mod:`.passes`:
Chinese whispers, then average-linkage merge rounds). ``method="agglomerative"`` runs pass 2 alone,
from single faces (kept for comparison; refused above ``AGGLOMERATIVE_UP_TO`` faces).
``method="consensus"`` (the default) then keeps together only the faces that Infomap over each face's
nearest neighbours also puts together (:mod:`.infomap`); ``"chinese_whispers"`` is the two passes alone. Constraints
(:mod:`.constraints`) carry the user's corrections (:mod:`.corrections`). Groups smaller than
``min_size`` are "unsorted", not persons. Persons are numbered largest first. Faces ``gated`` (below the
face-quality bar, :mod:`facecore.curation.face_quality`) take no part: they stay unsorted, as
``Grouping.low_quality``, unless a correction names them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from .. import settings as S
from ..errors import InvalidParameterError, NotEnoughFacesError
from .constraints import Constraints, components, dissolve_conflicts, join_must_links, same_photo_pairs
from .faces import (
    DEFAULT_MIN_SIZE,
    DEFAULT_THRESHOLD,
    check_encodings,
    check_pairs,
    check_threshold,
    codes,
    photo_ids,
)
from .graph import NeighbourGraph, neighbour_graph
from .infomap import split_by_infomap
from .passes import chinese_whispers, merge_groups
from .weak import join_nearest

#: Pass 1 links faces closer than ``threshold - FIRST_PASS_GAP``.
FIRST_PASS_GAP = 0.1
METHODS = ("consensus", "chinese_whispers", "agglomerative")
#: The method group_faces uses unless told (facecore.settings; measured in .infomap).
DEFAULT_METHOD = S.PEOPLE_METHOD
#: ``method="agglomerative"`` is refused above this many faces (set when its Python merge loop took
#: 7.9 s at 20,000 synthetic faces; in rounds it takes 0.6 s there, 0.1 s for the default method, graph given).
AGGLOMERATIVE_UP_TO = 20_000


# --------------------------------------------------------------------------- grouping


@dataclass(frozen=True, eq=False)
class Grouping:
    """Faces grouped into persons.

    ``labels`` is ``(n,)`` int32: the person of each face row, 0 for the
    largest person, ``-1`` for unsorted faces (in a group smaller than
    ``min_size``). ``threshold`` is in encoding distance units.
    """

    labels: np.ndarray
    threshold: float
    min_size: int
    method: str
    seed: int
    #: ``(k,)`` int64 rows held back by the face-quality bar and still unsorted ("unsorted · low quality")
    low_quality: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    @property
    def n_persons(self) -> int:
        return int(self.labels.max(initial=-1)) + 1

    @property
    def sizes(self) -> np.ndarray:
        """``(n_persons,)`` faces per person, largest first."""
        return np.bincount(self.labels[self.labels >= 0], minlength=self.n_persons)

    def members(self, person: int) -> np.ndarray:
        """Face rows of ``person`` (ascending)."""
        if not 0 <= person < self.n_persons:
            raise InvalidParameterError(f"person={person} must be between 0 and {self.n_persons - 1}.")
        return np.flatnonzero(self.labels == person)

    @property
    def unsorted(self) -> np.ndarray:
        """Face rows in no person."""
        return np.flatnonzero(self.labels < 0)


def _finish(labels: np.ndarray, min_size: int, keep: np.ndarray) -> np.ndarray:
    """Renumber groups largest first (ties: lowest face row); groups below ``min_size`` become -1."""
    labels = codes(labels)
    sizes = np.bincount(labels)
    first = np.full(len(sizes), len(labels))
    np.minimum.at(first, labels, np.arange(len(labels)))
    person = sizes >= min_size
    person[labels[keep]] = True
    order = np.lexsort((first, -sizes))
    order = order[person[order]]
    rank = np.full(len(sizes), -1, np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32)
    return rank[labels]


def _check_group_args(x: np.ndarray, photo_ids, threshold: float, min_size: int, method: str) -> np.ndarray:
    check_threshold(threshold)
    if method not in METHODS:
        raise InvalidParameterError(f"method must be one of {METHODS}, got {method!r}.")
    if not isinstance(min_size, (int, np.integer)) or not 1 <= min_size <= 1000:
        raise InvalidParameterError(f"min_size={min_size!r} must be an integer between 1 and 1000.")
    if len(photo_ids) != len(x):
        raise InvalidParameterError(
            f"photo_ids has {len(photo_ids)} entries but encodings has {len(x)} rows: pass one per face."
        )
    if method == "agglomerative" and len(x) > AGGLOMERATIVE_UP_TO:
        raise InvalidParameterError(
            f"method='agglomerative' is limited to {AGGLOMERATIVE_UP_TO} faces (got {len(x)}): "
            "use method='chinese_whispers'."
        )
    return codes(photo_ids)


def group_faces(
    encodings: np.ndarray,
    photo_ids: Sequence | np.ndarray,
    threshold: float = DEFAULT_THRESHOLD,
    min_size: int = DEFAULT_MIN_SIZE,
    seed: int = 0,
    must_link: Sequence[tuple[int, int]] | np.ndarray = (),
    cannot_link: Sequence[tuple[int, int]] | np.ndarray = (),
    method: str = DEFAULT_METHOD,
    *,
    keep: Sequence[int] | np.ndarray = (),
    graph: NeighbourGraph | None = None,
    gated: Sequence[int] | np.ndarray = (),
    weak: Sequence[int] | np.ndarray = (),
) -> Grouping:
    """Group ``(n, 128)`` encodings into persons without a K; return a :class:`Grouping`.

    ``photo_ids`` (``(n,)``, any hashable: digests or ints) marks faces of
    one photo, which never share a person. ``threshold`` (0.3-0.7, encoding
    distance) is the largest RMS distance between the faces of two groups
    that still merges them. ``must_link`` / ``cannot_link`` are ``(k, 2)``
    face rows kept together (their groups are joined) / apart; ``keep`` rows make their group a person
    whatever its size (named faces). ``graph`` reuses a
    :func:`neighbour_graph` of radius >= threshold. ``gated`` rows (faces below
    the quality bar) never start or join a person: they are grouped as if absent
    and come back unsorted, in ``low_quality``; a gated row that a ``must_link``
    or ``keep`` names (the user put it somewhere) takes part. ``weak`` rows (doubtful
    faces, e.g. blurred) do not build persons either, but then each joins the person
    nearest to it on average if below ``threshold`` (:func:`.weak.join_nearest`).
    Same inputs and ``seed`` give the same labels.
    """
    x = check_encodings(encodings)
    photos = _check_group_args(x, photo_ids, threshold, min_size, method)
    n = len(x)
    if n == 0:
        raise NotEnoughFacesError("n_faces=0: add photos with faces before grouping them into persons.")
    must = check_pairs(must_link, n, "must_link")
    conflicts = np.concatenate([check_pairs(cannot_link, n, "cannot_link"), same_photo_pairs(photos)])
    keep_rows = np.asarray(keep, dtype=np.int64).reshape(-1)
    if keep_rows.size and (keep_rows.min() < 0 or keep_rows.max() >= n):
        raise InvalidParameterError(f"keep names face rows outside 0..{n - 1}: pass rows of this face set.")
    comp = components(n, must, conflicts)
    if graph is not None and graph.n != n:
        raise InvalidParameterError(f"graph has {graph.n} faces but encodings has {n}: build it from these encodings.")
    held, doubtful = _held_back(n, gated, must, keep_rows), _held_back(n, weak, must, keep_rows)
    if held.any() or doubtful.any():
        return _gated(held, doubtful, x, threshold, min_size, seed, must, conflicts, method, keep_rows, graph)
    if graph is None:
        graph = neighbour_graph(x, threshold, seed=seed)
    a, b, d = graph.below(threshold)
    labels = np.arange(n)
    if method != "agglomerative":
        tight = d < threshold - FIRST_PASS_GAP
        cw = chinese_whispers(n, a[tight], b[tight], np.ones(int(tight.sum())), seed)
        labels = dissolve_conflicts(cw, conflicts)
    labels = merge_groups(x, labels, (a, b), conflicts, threshold)
    if method == "consensus":  # only splits groups: no conflicting pair can come together
        labels = split_by_infomap(labels, a, b, d, threshold, seed)
    labels = join_must_links(labels, comp, conflicts)
    return Grouping(_finish(labels, min_size, keep_rows), float(threshold), int(min_size), method, int(seed))


def _held_back(n: int, gated, must: np.ndarray, keep_rows: np.ndarray) -> np.ndarray:
    """``(n,)`` bool: the ``gated`` rows no correction names (must-links and kept rows take part)."""
    rows = np.asarray(gated, dtype=np.int64).reshape(-1)
    if rows.size and (rows.min() < 0 or rows.max() >= n):
        raise InvalidParameterError(f"gated names face rows outside 0..{n - 1}: pass rows of this face set.")
    held = np.zeros(n, bool)
    held[rows] = True
    held[must.reshape(-1)] = False
    held[keep_rows] = False
    return held


def _inside(pairs: np.ndarray, new_row: np.ndarray) -> np.ndarray:
    """The ``(k, 2)`` pairs whose two rows are kept, renumbered by ``new_row`` (-1 for a row left out)."""
    p = new_row[pairs] if len(pairs) else pairs.reshape(0, 2)
    return p[(p >= 0).all(axis=1)]


def _gated(held, doubtful, x, threshold, min_size, seed, must, conflicts, method, keep_rows, graph):
    """:func:`group_faces` without the ``held`` and ``doubtful`` rows; then each doubtful row joins its nearest
    person (:func:`.weak.join_nearest`) and the held rows are ``low_quality``."""
    g = _group_without(held | doubtful, x, threshold, min_size, seed, must, conflicts, method, keep_rows, graph)
    labels = join_nearest(x, g.labels, np.flatnonzero(doubtful & ~held), conflicts, threshold)
    labels[labels < 0] = labels.max(initial=-1) + 1 + np.arange(int((labels < 0).sum()))
    return replace(g, labels=_finish(labels, min_size, keep_rows), low_quality=np.flatnonzero(held))


def _group_without(held, x, threshold, min_size, seed, must, conflicts, method, keep_rows, graph):
    """:func:`group_faces` over the rows not ``held`` back; the held rows come back unsorted, as ``low_quality``.

    ``conflicts`` hold the same-photo pairs already: the kept rows are passed as photos of their own. A ``graph``
    (of every face, checked by the caller) is cut to the kept rows (their pairs among themselves; a kept face whose
    ``max_neighbours`` nearest included held faces keeps fewer pairs than a graph of the kept faces alone).
    """
    rows = np.flatnonzero(~held)
    new_row = np.full(len(x), -1, np.int64)
    new_row[rows] = np.arange(len(rows))
    labels = np.full(len(x), -1, np.int32)
    if len(rows):
        sub_graph = None
        if graph is not None:
            a, b = new_row[graph.rows], new_row[graph.cols]
            ok = (a >= 0) & (b >= 0)
            sub_graph = replace(graph, n=len(rows), rows=a[ok].astype(np.int32), cols=b[ok].astype(np.int32),
                                dist=graph.dist[ok])
        sub = group_faces(x[rows], np.arange(len(rows)), threshold, min_size, seed, _inside(must, new_row),
                          _inside(conflicts, new_row), method, keep=new_row[keep_rows], graph=sub_graph)
        labels[rows] = sub.labels
    return Grouping(labels, float(threshold), int(min_size), method, int(seed), np.flatnonzero(held))


def group_faceset(
    faceset,
    threshold: float = DEFAULT_THRESHOLD,
    min_size: int = DEFAULT_MIN_SIZE,
    *,
    constraints: Constraints | None = None,
    seed: int = 0,
    method: str = DEFAULT_METHOD,
    graph: NeighbourGraph | None = None,
    gated: Sequence[int] | np.ndarray = (),
    weak: Sequence[int] | np.ndarray = (),
) -> Grouping:
    """:func:`group_faces` over a FaceSet, with corrections from :func:`.corrections.load_corrections`;
    ``gated`` rows (below the quality bar, :func:`facecore.curation.face_quality.passes_bar`) take no part,
    ``weak`` rows join the nearest person only."""
    c = constraints or Constraints.none()
    return group_faces(
        faceset.encodings,
        photo_ids(faceset),
        threshold,
        min_size,
        seed,
        c.must_link,
        c.cannot_link,
        method,
        keep=c.keep,
        graph=graph,
        gated=gated,
        weak=weak,
    )
