"""Infomap over each face's nearest neighbours, and the persons two groupings agree on.

Infomap (Rosvall & Bergstrom 2008; python-igraph's ``community_infomap``)
splits a graph where a random walker stays longest: here each face's
``INFOMAP_NEIGHBOURS`` nearest faces closer than ``threshold - INFOMAP_GAP``,
each edge weighted ``exp(-(distance / INFOMAP_SCALE) ** 2)``. It knows no
constraints, so :mod:`.grouping` uses it only to split: with
``method="consensus"`` two faces share a person when the two-pass grouping
(Chinese whispers, then average-linkage merges, which keeps the photo's and
the user's cannot-links) *and* Infomap put them together. Splitting a group
never joins a conflicting pair; the user's must-links are joined afterwards.

Near-duplicates (faces joined by pairs closer than ``NEAR_DUPLICATE``: burst
shots, copies) are one node of Infomap's graph, and each face's nearest
neighbours are taken outside its own near-duplicates: else a burst of more
than ``INFOMAP_NEIGHBOURS`` shots links only to itself and Infomap cuts it out
of its person (measured: 20 of the 75 held-out people given a burst of 15-30
near-copies: pairwise F 0.86-0.91; with near-duplicates as one node 0.957-0.972).

Measured on the 150 shared CelebA people (``bench/people.py quality``), chosen
on a seeded random half (split seed 0) and on 8 subsets of it, reported on the
other half: pairwise F 0.963, BCubed F 0.962 on the held-out half against
0.932 / 0.946 for the two-pass grouping alone, 0.949 / 0.953 on all 150
(0.928 / 0.941). Pure functions over numpy arrays; igraph is imported when used.
"""

from __future__ import annotations

import random
import threading

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from ..errors import DependencyMissingError

#: Each face keeps its this many nearest neighbours in the Infomap graph (10, 20 and 30 scored alike on the
#: tuning half; 10 costs least at 100,000 faces).
INFOMAP_NEIGHBOURS = 10
#: The Infomap graph's radius is the grouping threshold minus this (0.575 at the default 0.6; 0.55 and 0.6 did worse).
INFOMAP_GAP = 0.025
#: Edge weight ``exp(-(d / INFOMAP_SCALE)^2)``: close pairs weigh much more than pairs near the radius
#: (0.3 beat 0.25, 0.35 and the plain ``1 - d``).
INFOMAP_SCALE = 0.3
#: Infomap runs this many times and keeps the best; 2 gave the labels of 10 on the tuning sets, at a fifth the time.
INFOMAP_TRIALS = 2
#: Faces chained by pairs closer than this are near-duplicates: one node for Infomap (0.2 and 0.3 scored alike on
#: the tuning sets and both kept bursts whole; 0.4 cost 0.003; pairs below 0.4 are 99.7 % one person).
NEAR_DUPLICATE = 0.3

_RNG_LOCK = threading.Lock()  # igraph draws from one process-wide generator: seed it for one call at a time


def nearest_edges(
    rows: np.ndarray, cols: np.ndarray, dist: np.ndarray, n: int, k: int = INFOMAP_NEIGHBOURS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keep each face's ``k`` nearest of the pairs ``(rows, cols, dist)``; return them once each, ``rows < cols``.

    Inputs are ``(e,)`` face rows (each unordered pair once) and float32
    distances, e.g. :meth:`facecore.people.NeighbourGraph.below`. A pair stays
    when either face keeps the other (the symmetric k-nearest graph). Returns
    ``(a, b, d)``: int64, int64, float32, sorted by ``a * n + b``.
    """
    if len(rows) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    src = np.concatenate([rows, cols]).astype(np.int64)
    dst = np.concatenate([cols, rows]).astype(np.int64)
    d = np.concatenate([dist, dist]).astype(np.float32)
    # one sort on (face, distance): non-negative float32 bits order like the floats
    order = np.argsort((src << 32) | d.view(np.uint32).astype(np.int64), kind="stable")
    src, dst, d = src[order], dst[order], d[order]
    starts = np.flatnonzero(np.concatenate([[True], src[1:] != src[:-1]]))
    rank = np.arange(len(src)) - np.repeat(starts, np.diff(np.concatenate([starts, [len(src)]])))
    src, dst, d = src[rank < k], dst[rank < k], d[rank < k]
    key = np.minimum(src, dst) * n + np.maximum(src, dst)
    key, first = np.unique(key, return_index=True)
    return key // n, key % n, d[first]


def edge_weights(dist: np.ndarray, scale: float = INFOMAP_SCALE) -> np.ndarray:
    """``(e,)`` float64 weights ``exp(-(dist / scale)^2)`` of edges of ``(e,)`` encoding distances."""
    return np.exp(-((np.asarray(dist, np.float64) / scale) ** 2))


def infomap_labels(
    n: int, a: np.ndarray, b: np.ndarray, weights: np.ndarray, seed: int = 0, trials: int = INFOMAP_TRIALS
) -> np.ndarray:
    """``(n,)`` int64 Infomap module of each of ``n`` nodes over undirected weighted edges ``(a, b, weights)``.

    Nodes without an edge are modules of their own. Same inputs and ``seed``
    give the same labels (igraph's generator is seeded for the call).
    """
    try:
        import igraph
    except ImportError as exc:
        raise DependencyMissingError(
            "method='consensus' needs the igraph package: `pip install igraph==1.0.0` (requirements.txt), "
            "or group with method='chinese_whispers'."
        ) from exc
    if len(a) == 0:
        return np.arange(n, dtype=np.int64)
    graph = igraph.Graph(n=n, edges=np.stack([a, b], axis=1).tolist())
    with _RNG_LOCK:
        igraph.set_random_number_generator(random.Random(seed))
        try:
            found = graph.community_infomap(edge_weights=np.asarray(weights, np.float64).tolist(), trials=trials)
        finally:
            igraph.set_random_number_generator(random)
    return np.asarray(found.membership, dtype=np.int64)


def near_duplicates(rows: np.ndarray, cols: np.ndarray, dist: np.ndarray, n: int, below: float = NEAR_DUPLICATE):
    """``(n,)`` int64 group of each face: faces chained by pairs ``(rows, cols)`` with ``dist < below`` share one."""
    close = dist < below
    if not close.any():
        return np.arange(n, dtype=np.int64)
    m = sparse.coo_matrix((np.ones(int(close.sum())), (rows[close], cols[close])), shape=(n, n))
    return connected_components(m, directed=False)[1].astype(np.int64)


def group_edges(groups: np.ndarray, a: np.ndarray, b: np.ndarray, weights: np.ndarray):
    """Face edges ``(a, b, weights)`` as edges between their ``groups`` (``(n,)``): ``(u, v, summed weights)``, u < v.

    Edges inside one group are dropped.
    """
    u, v = groups[a], groups[b]
    keep = u != v
    g = int(groups.max()) + 1
    key = np.minimum(u, v)[keep] * g + np.maximum(u, v)[keep]
    key, inv = np.unique(key, return_inverse=True)
    return key // g, key % g, np.bincount(inv.reshape(-1), weights=np.asarray(weights)[keep], minlength=len(key))


def agreement(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """``(n,)`` int64 labels of the groups both ``(n,)`` labellings agree on: same label in each.

    Only splits: faces apart in either labelling are apart here.
    """
    first, second = np.asarray(first, np.int64), np.asarray(second, np.int64)
    _, inv = np.unique((first - first.min()) * (int(second.max() - second.min()) + 1) + (second - second.min()),
                       return_inverse=True)
    return inv.reshape(-1).astype(np.int64)


def split_by_infomap(
    labels: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    dist: np.ndarray,
    threshold: float,
    seed: int = 0,
) -> np.ndarray:
    """Split the groups of ``labels`` (``(n,)``) where Infomap disagrees; return ``(n,)`` int64 labels.

    ``(rows, cols, dist)`` are face pairs of a neighbour graph of radius >=
    ``threshold - INFOMAP_GAP`` that holds each face's ``INFOMAP_NEIGHBOURS``
    nearest outside its near-duplicates (e.g. every pair of
    :func:`facecore.people.neighbour_graph`). Infomap runs over the
    near-duplicate groups (:func:`near_duplicates`, :func:`group_edges`).
    """
    n = len(labels)
    keep = dist < threshold - INFOMAP_GAP
    rows, cols, dist = rows[keep], cols[keep], dist[keep]
    dup = near_duplicates(rows, cols, dist, n)
    apart = dup[rows] != dup[cols]
    a, b, d = nearest_edges(rows[apart], cols[apart], dist[apart], n)
    u, v, w = group_edges(dup, a, b, edge_weights(d))
    modules = infomap_labels(int(dup.max()) + 1, u, v, w, seed)
    return agreement(labels, modules[dup])
