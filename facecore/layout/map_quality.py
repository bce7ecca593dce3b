"""How well a 2-D or 3-D layout keeps the faces' neighbours: the two numbers the similarity map is chosen by.

:func:`neighbours_kept`: of each face's ``k`` nearest faces in the 128-d space
(Euclidean, the face_recognition distance), the share that are also among its
``k`` nearest on the map. :func:`same_person_neighbours`: of each face's ``k``
nearest on the map, the share that are the same person (folder). Both are means
over faces, in [0, 1]; on large sets they are measured on a fixed random sample
of faces (each sampled face still looks at every other face).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import InvalidParameterError

#: Rows of query faces whose distances to every face are computed at once (memory ~ chunk x n x 4 bytes).
_CHUNK = 1024


def nearest_rows(points: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` nearest rows of ``points`` ``(n, d)`` to each row of ``points[queries]``, itself left out.

    Exact (squared Euclidean, float64 sums in chunks). Returns ``(len(queries), k)``
    int64 row numbers, nearest first.
    """
    x = np.asarray(points, dtype=np.float32)
    sq = np.einsum("ij,ij->i", x, x, dtype=np.float64)
    out = np.empty((len(queries), k), dtype=np.int64)
    for s in range(0, len(queries), _CHUNK):
        q = np.asarray(queries[s : s + _CHUNK])
        d = sq[q][:, None] + sq[None, :] - 2.0 * (x[q].astype(np.float64) @ x.T.astype(np.float64))
        d[np.arange(len(q)), q] = np.inf  # a face is not its own neighbour (even when a copy sits at distance 0)
        part = np.argpartition(d, k - 1, axis=1)[:, :k]
        order = np.argsort(np.take_along_axis(d, part, axis=1), axis=1, kind="stable")
        out[s : s + len(q)] = np.take_along_axis(part, order, axis=1)
    return out


def _queries(n: int, sample: int | None, seed: int) -> np.ndarray:
    if sample is None or sample >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=sample, replace=False))


def _check(n: int, k: int, what: str) -> int:
    if k < 1:
        raise InvalidParameterError(f"k={k} should be >= 1: the number of nearest faces to compare.")
    if n < 2:
        raise InvalidParameterError(f"{what} needs at least 2 faces, got {n}.")
    return min(k, n - 1)


def neighbours_kept(
    encodings: np.ndarray, layout: np.ndarray, k: int = 10, *, sample: int | None = 5000, seed: int = 0
) -> float:
    """Mean share of each face's ``k`` nearest in ``encodings`` ``(n, 128)`` that are among its ``k`` nearest
    in ``layout`` ``(n, 2|3)``; 1.0 means every neighbourhood survived, about ``k / n`` is chance.

    Above ``sample`` faces, a fixed random sample of them (by ``seed``) is asked.
    """
    enc, lay = np.asarray(encodings), np.asarray(layout)
    if len(enc) != len(lay):
        raise InvalidParameterError(f"encodings has {len(enc)} rows but layout {len(lay)}: one row per face in both.")
    k = _check(len(enc), k, "neighbours_kept")
    q = _queries(len(enc), sample, seed)
    near, on_map = nearest_rows(enc, q, k), nearest_rows(lay, q, k)
    hits = [len(np.intersect1d(a, b, assume_unique=True)) for a, b in zip(near, on_map, strict=True)]
    return float(np.mean(hits) / k)


def same_person_neighbours(
    layout: np.ndarray, labels: Sequence[object] | np.ndarray, k: int = 5, *, sample: int | None = 5000,
    seed: int = 0,
) -> float:
    """Mean share of each face's ``k`` nearest on ``layout`` ``(n, 2|3)`` with the same label (person).

    Faces whose label is None are not asked, and never count as the same person.
    Above ``sample`` labelled faces, a fixed random sample of them is asked.
    """
    lay = np.asarray(layout)
    if len(labels) != len(lay):
        raise InvalidParameterError(f"labels has {len(labels)} entries but layout {len(lay)} rows: one per face.")
    k = _check(len(lay), k, "same_person_neighbours")
    names = {v: i for i, v in enumerate(dict.fromkeys(v for v in labels if v is not None))}
    ids = np.array([names[v] if v is not None else -1 for v in labels], dtype=np.int64)
    labelled = np.flatnonzero(ids >= 0)
    if len(labelled) == 0:
        raise InvalidParameterError("same_person_neighbours needs labels (folders named by person); all are None.")
    q = labelled[_queries(len(labelled), sample, seed)]
    near = nearest_rows(lay, q, k)
    return float(np.mean(ids[near] == ids[q][:, None]))
