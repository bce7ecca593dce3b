"""Which faces a scatter chart draws, and which faces a box or a lasso drawn on it holds.

A browser draws 10^5 points slowly (seconds per redraw with software WebGL),
so above a limit the chart draws a sample: the same share of every group,
chosen by a fixed random order of the faces so the drawn points stay put when
K or the colouring changes. Only the drawing is sampled. A box or lasso is
answered from the geometry over every face (:func:`faces_in_regions`), not
from the drawn points, and search and clustering never see the sample.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np


def drawn_rows(groups: np.ndarray, at_most: int, seed: int = 0) -> np.ndarray:
    """The rows to draw (sorted): every row when there are at most ``at_most``, else about ``at_most`` of them.

    Each group keeps the same share of its faces (rounded, at least one), so a
    small group never vanishes from the chart. Which faces are kept depends only
    on ``seed`` and each face's group: a face keeps its place in a fixed random
    order, and each group takes the first ones in that order.
    """
    groups = np.asarray(groups)
    n = len(groups)
    if at_most < 1:
        raise ValueError("at_most must be at least 1")
    if n <= at_most:
        return np.arange(n)
    priority = np.random.default_rng(seed).permutation(n)
    order = np.lexsort((priority, groups))  # by group, then by the fixed random order
    sorted_groups = groups[order]
    starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
    sizes = np.diff(np.r_[starts, n])
    quota = np.maximum(1, np.rint(sizes * (at_most / n))).astype(int)
    rank = np.arange(n) - np.repeat(starts, sizes)  # place of each face within its group
    return np.sort(order[rank < np.repeat(quota, sizes)])


def _inside_polygon(xy: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Which points of ``xy`` lie inside the closed polygon (even-odd rule, as Plotly's lasso)."""
    inside = np.zeros(len(xy), dtype=bool)
    px, py = xy[:, 0], xy[:, 1]
    for i in range(len(xs)):
        x1, y1, x2, y2 = xs[i - 1], ys[i - 1], xs[i], ys[i]
        if y1 == y2:
            continue  # a horizontal edge crosses no horizontal ray
        crosses = (y1 > py) != (y2 > py)
        x_at = x1 + (py - y1) * (x2 - x1) / (y2 - y1)
        inside ^= crosses & (px < x_at)
    return inside


def _coords(region: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray] | None:
    """The ``x`` and ``y`` lists of a Streamlit selection region, or None when they are missing or not numbers."""
    try:
        xs = np.asarray(region.get("x", []), dtype=float)
        ys = np.asarray(region.get("y", []), dtype=float)
    except (TypeError, ValueError, AttributeError):
        return None
    if xs.ndim != 1 or xs.shape != ys.shape or not np.isfinite(xs).all() or not np.isfinite(ys).all():
        return None
    return xs, ys


def faces_in_regions(
    xy: np.ndarray, boxes: Iterable[Mapping[str, Any]] = (), lassos: Iterable[Mapping[str, Any]] = ()
) -> np.ndarray:
    """Rows of ``xy`` (n, 2: the chart's x and y) inside any of the boxes or lassos, sorted.

    ``boxes`` and ``lassos`` are Streamlit's ``event.selection.box`` / ``.lasso``
    entries: ``{"x": [x0, x1], "y": [y0, y1]}`` for a box, the outline's corners
    for a lasso. Regions with missing or non-numeric coordinates are ignored.
    """
    xy = np.asarray(xy, dtype=float)
    keep = np.zeros(len(xy), dtype=bool)
    for box in boxes:
        got = _coords(box)
        if got is None or len(got[0]) < 2:
            continue
        xs, ys = got
        keep |= (xy[:, 0] >= xs.min()) & (xy[:, 0] <= xs.max()) & (xy[:, 1] >= ys.min()) & (xy[:, 1] <= ys.max())
    for lasso in lassos:
        got = _coords(lasso)
        if got is not None and len(got[0]) >= 3:
            keep |= _inside_polygon(xy, *got)
    return np.flatnonzero(keep)


def centre_places(xy: np.ndarray, reduced: np.ndarray, labels: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Where each group's centre is drawn on a chart whose axes are not the groups' own (a similarity map).

    ``xy``: ``(n, 2|3)`` the faces' places on the chart; ``reduced``: ``(n, d)`` the
    space the groups were made in, with ``labels`` ``(n,)`` and ``centroids`` ``(k, d)``.
    Each centre goes where its most typical face is drawn (the member nearest the
    centroid): a group the map splits into islands has its centre on one of them,
    never in the empty space between. Returns ``(k, xy.shape[1])`` float32; a group
    without members gets NaN (not drawn).
    """
    labels = np.asarray(labels, dtype=np.int64)
    gap = np.asarray(reduced, dtype=np.float32) - np.asarray(centroids, dtype=np.float32)[labels]
    dist = np.einsum("ij,ij->i", gap, gap)
    order = np.lexsort((dist, labels))  # by group, nearest the centroid first
    first = order[np.r_[True, labels[order][1:] != labels[order][:-1]]]
    out = np.full((len(centroids), xy.shape[1]), np.nan, dtype=np.float32)
    out[labels[first]] = np.asarray(xy, dtype=np.float32)[first]
    return out
