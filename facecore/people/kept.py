"""The grouping of a FaceSet, kept in the cache file and read back instead of grouped again
(:func:`kept_grouping`; the table is :mod:`facecore.storage.set_groupings`).

What is kept is exactly what :func:`.grouping.group_faceset` returns for the same inputs: the labels of the
faces, under a key naming every input (the set's content key, threshold, minimum size, method, seed, the
neighbour graph's radius, a digest of the must-link / cannot-link / keep rows of the user's facts, and a
digest of the grouping code itself). Change any of them and nothing kept matches: the faces are grouped
again and the new grouping kept. At 100,000 faces reading it back takes well under a second, against
30-60 s for the neighbour graph and the grouping.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..storage.encodings import EncodingStore
from ..storage.set_groupings import get_grouping, put_grouping
from .constraints import Constraints
from .faces import check_threshold
from .graph import NeighbourGraph, neighbour_graph
from .grouping import DEFAULT_METHOD, Grouping, group_faceset

#: The modules whose code decides the labels: a kept grouping made by other code is not used.
_CODE = ("faces.py", "graph.py", "passes.py", "infomap.py", "constraints.py", "grouping.py", "weak.py")

GraphSource = NeighbourGraph | Callable[[], NeighbourGraph] | None


@functools.cache
def code_digest() -> str:
    """A digest of the grouping code (:data:`_CODE`; the settings it reads are its defaults, named in the key
    anyway) and of the Infomap library's version, 16 hex characters."""
    here = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for name in _CODE:
        h.update((here / name).read_bytes())
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        h.update(importlib.metadata.version("igraph").encode())
    return h.hexdigest()[:16]


def facts_digest(constraints: Constraints) -> str:
    """A digest of the face rows the user's facts link, keep apart and keep (what feeds the grouping)."""
    h = hashlib.sha256()
    for rows in (constraints.must_link, constraints.cannot_link, constraints.keep):
        arr = np.ascontiguousarray(rows, dtype=np.int64)
        h.update(str(arr.shape).encode())
        h.update(arr.tobytes())
    return h.hexdigest()[:32]


def _rows_digest(rows) -> str:
    """A digest of a set of face rows (order does not matter), 32 hex characters."""
    arr = np.sort(np.asarray(rows, np.int64).reshape(-1))
    return hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest()[:32]


def grouping_params(
    faceset, threshold: float, min_size: int, method: str, seed: int, radius: float, constraints: Constraints,
    gated=(), weak=(),
) -> str:
    """The text a grouping is kept under (with the set's key): every other input, as sorted JSON. The
    encodings' own digest is in it too (0.05-0.1 s at 10^5 faces), so two sets given the same key by hand
    (tests, subsets) never share a grouping."""
    enc = hashlib.blake2b(np.ascontiguousarray(faceset.encodings).tobytes(), digest_size=16).hexdigest()
    return json.dumps(
        {"threshold": round(float(threshold), 6), "min_size": int(min_size), "method": method, "seed": int(seed),
         "radius": round(float(radius), 6), "facts": facts_digest(constraints), "code": code_digest(),
         "encodings": enc, "gated": _rows_digest(gated), "weak": _rows_digest(weak)},
        sort_keys=True, separators=(",", ":"),
    )  # fmt: skip


def kept_grouping(
    store: EncodingStore,
    faceset,
    threshold: float,
    min_size: int,
    constraints: Constraints,
    *,
    seed: int = 0,
    method: str = DEFAULT_METHOD,
    graph: GraphSource = None,
    radius: float | None = None,
    gated=(),
    weak=(),
) -> Grouping:
    """:func:`.grouping.group_faceset` of ``faceset`` with ``constraints``, read from the cache file when kept
    there, else grouped and kept.

    ``graph`` is a :class:`NeighbourGraph` of the set, a function building one (called only when the
    grouping is not kept: at 10^5 faces building it takes 8-18 s), or None (built at ``threshold``);
    ``radius`` is the radius of that graph (default: the given graph's, else ``threshold``). ``gated`` / ``weak``
    are the face rows below the quality bar / the link bar (:func:`.grouping.group_faceset`), part of the key.
    """
    check_threshold(threshold)
    if radius is None:
        radius = graph.radius if isinstance(graph, NeighbourGraph) else float(threshold)
    params = grouping_params(faceset, threshold, min_size, method, seed, radius, constraints, gated, weak)
    labels = get_grouping(store, faceset.key, params, len(faceset))
    if labels is not None:  # the gated rows no correction put in a person are still unsorted: low quality
        held = np.asarray(gated, np.int64).reshape(-1)
        return Grouping(labels, float(threshold), int(min_size), method, int(seed),
                        low_quality=np.sort(held[labels[held] < 0]))  # fmt: skip
    built = graph() if callable(graph) else graph
    if built is None and radius != float(threshold):  # a graph at the radius the key names
        built = neighbour_graph(faceset.encodings, radius, seed=seed)
    found = group_faceset(faceset, threshold, min_size, constraints=constraints, seed=seed, method=method,
                          graph=built, gated=gated, weak=weak)  # fmt: skip
    put_grouping(store, faceset.key, params, found.labels)
    return found
