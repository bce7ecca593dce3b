"""Names and anchors: the most typical faces of a person (its anchors), and which person carries a name
after any regrouping (the one holding most of the name's anchors).
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
    """The ``count`` rows among ``rows`` nearest their mean encoding: a person's most typical faces.

    Corrections are recorded on these anchor faces, so they keep meaning
    after a regrouping splits or merges the groups they were made on.
    """
    rows = np.asarray(rows, np.int64)
    if len(rows) <= count:
        return np.sort(rows)
    x = np.asarray(encodings, np.float32)[rows]
    d = np.linalg.norm(x - x.mean(axis=0), axis=1)
    return np.sort(rows[np.argsort(d, kind="stable")[:count]])
