"""Names and anchors: the most typical faces of a person (nearest its mean encoding: the face shown first
and the anchors corrections are recorded on), and which person carries a name after any regrouping (the
one holding most of the name's anchors).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .grouping import Grouping


def name_persons(grouping: Grouping, names: Mapping[str, Sequence[int] | np.ndarray]) -> tuple[str | None, ...]:
    """The name of each person of ``grouping`` (None when unnamed), from each name's anchor face rows.

    A name goes to the person holding most of its anchors, so it follows the
    person across regroupings at any threshold; a person takes at most one
    name. Conflicts are settled greedily, most anchors first (then larger
    person, then the name in alphabetical order); a name whose anchors are
    all unsorted names nobody.
    """
    votes = []
    for name, rows in names.items():
        labels = grouping.labels[np.asarray(rows, np.int64)]
        labels = labels[labels >= 0]
        for person, count in zip(*np.unique(labels, return_counts=True), strict=True):
            votes.append((-int(count), int(person), name))
    out: list[str | None] = [None] * grouping.n_persons
    used: set[str] = set()
    for _, person, name in sorted(votes):  # person numbers grow as sizes shrink: larger person first
        if out[person] is None and name not in used:
            out[person] = name
            used.add(name)
    return tuple(out)


def anchor_rows(encodings: np.ndarray, rows: Sequence[int] | np.ndarray, count: int = 5) -> np.ndarray:
    """The ``count`` rows among ``rows`` nearest their mean encoding: a person's most typical faces, ascending.

    Corrections are recorded on these anchor faces, so they keep meaning
    after a regrouping splits or merges the groups they were made on. The
    same rule as :func:`typical_first` (the face a page shows first is the
    person's first anchor).
    """
    rows = np.asarray(rows, np.int64)
    if len(rows) <= count:
        return np.sort(rows)
    labels = np.full(len(encodings), -1, np.int64)
    labels[rows] = 0
    return np.sort(typical_first(encodings, labels)[:count])


def typical_first(encodings: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Every face row with a person (``labels >= 0``), grouped by person and most typical first.

    "Typical" is near the person's mean encoding (Euclidean distance, accumulated in float64 in row
    order, so a person's order is the same whichever other persons are grouped with it): the first
    row of each person is the face that shows it best, and its first anchor (:func:`anchor_rows`).
    Persons come in label order (largest first); ties go to the lower row.
    """
    labels = np.asarray(labels, dtype=np.int64)
    rows = np.flatnonzero(labels >= 0)
    if not len(rows):
        return rows
    x = np.asarray(encodings, dtype=np.float64)[rows]
    lab = labels[rows]
    counts = np.bincount(lab)
    means = np.zeros((len(counts), x.shape[1]))
    np.add.at(means, lab, x)
    means /= np.maximum(counts, 1)[:, None]
    dist = np.linalg.norm(x - means[lab], axis=1)
    return rows[np.lexsort((dist, lab))]


def representatives(encodings: np.ndarray, labels: np.ndarray, n_persons: int) -> np.ndarray:
    """``(n_persons,)`` the most typical face row of each person (nearest its mean encoding)."""
    order = typical_first(encodings, labels)
    lab = np.asarray(labels, dtype=np.int64)[order]
    first = np.flatnonzero(np.concatenate([[True], lab[1:] != lab[:-1]])) if len(order) else np.zeros(0, np.int64)
    reps = np.full(n_persons, -1, np.int64)
    reps[lab[first]] = order[first]
    return reps
