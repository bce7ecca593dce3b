"""The faces a crowded scatter draws, and the faces a box or a lasso holds, on the PCA of real encodings."""

from __future__ import annotations

import numpy as np
import pytest

from facecore import fit_model
from facecore.layout.chart_points import drawn_rows, faces_in_regions


@pytest.fixture(scope="module")
def model(small_faceset):
    return fit_model(small_faceset.encodings, dims=5, k=4)


def test_every_face_is_drawn_up_to_the_limit(model) -> None:
    n = len(model.labels)
    assert drawn_rows(model.labels, n).tolist() == list(range(n))


def test_a_crowded_chart_draws_the_same_share_of_every_group(model) -> None:
    labels = model.labels
    n = len(labels)
    at_most = n // 3
    rows = drawn_rows(labels, at_most)
    assert rows.tolist() == sorted(set(rows.tolist()))  # sorted, no face twice
    sizes = np.bincount(labels)
    kept = np.bincount(labels[rows], minlength=len(sizes))
    assert kept.tolist() == np.maximum(1, np.rint(sizes * at_most / n)).astype(int).tolist()
    assert abs(len(rows) - at_most) <= len(sizes)
    assert drawn_rows(labels, at_most).tolist() == rows.tolist()  # the same points at every redraw


def test_a_group_of_one_face_stays_on_the_chart(model) -> None:
    labels = model.labels.copy()
    labels[7] = labels.max() + 1  # a group of one
    rows = drawn_rows(labels, len(labels) // 10)
    assert 7 in rows


def test_the_drawn_faces_mostly_stay_when_k_changes(small_faceset, model) -> None:
    other = fit_model(small_faceset.encodings, dims=5, k=6)
    at_most = len(model.labels) // 2
    a, b = set(drawn_rows(model.labels, at_most).tolist()), set(drawn_rows(other.labels, at_most).tolist())
    assert len(a & b) / len(a) > 0.7  # a fixed random order, not a new draw per K


def test_a_box_holds_every_face_inside_it(model) -> None:
    xy = model.reduced[:, :2]
    x0, x1 = np.quantile(xy[:, 0], [0.2, 0.7])
    y0, y1 = np.quantile(xy[:, 1], [0.1, 0.6])
    inside = (xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)
    assert 0 < inside.sum() < len(xy)
    got = faces_in_regions(xy, boxes=[{"xref": "x", "yref": "y", "x": [x1, x0], "y": [y0, y1]}])
    assert got.tolist() == np.flatnonzero(inside).tolist()
    square = {"x": [x0, x1, x1, x0], "y": [y0, y0, y1, y1]}  # the same area drawn as a lasso
    assert faces_in_regions(xy, lassos=[square]).tolist() == got.tolist()


def test_a_lasso_holds_the_faces_inside_its_outline(model) -> None:
    xy = model.reduced[:, :2]
    centre = xy.mean(axis=0)
    radius = np.median(np.linalg.norm(xy - centre, axis=1))
    angles = np.linspace(0, 2 * np.pi, 7)[:-1]
    corners = centre + radius * np.column_stack([np.cos(angles), np.sin(angles)])  # a hexagon
    # Inside a convex outline drawn anticlockwise: left of every edge.
    edge = np.roll(corners, -1, axis=0) - corners
    rel = xy[:, None, :] - corners[None, :, :]
    expected = np.flatnonzero(((edge[None, :, 0] * rel[:, :, 1] - edge[None, :, 1] * rel[:, :, 0]) > 0).all(axis=1))
    assert 0 < len(expected) < len(xy)
    got = faces_in_regions(xy, lassos=[{"x": corners[:, 0].tolist(), "y": corners[:, 1].tolist()}])
    assert got.tolist() == expected.tolist()
    both = faces_in_regions(xy, boxes=[{"x": [centre[0], centre[0] + 9], "y": [centre[1], centre[1] + 9]}],
                            lassos=[{"x": corners[:, 0].tolist(), "y": corners[:, 1].tolist()}])  # fmt: skip
    assert set(got.tolist()) <= set(both.tolist())  # two regions: the faces of either


@pytest.mark.parametrize(
    "region", [{}, {"x": "abc", "y": [1, 2]}, {"x": [0, float("nan")], "y": [0, 1]}, {"x": [0, 1], "y": [0]}, None]
)
def test_a_malformed_region_selects_nothing(model, region) -> None:
    assert faces_in_regions(model.reduced[:, :2], boxes=[region or {}], lassos=[region or {}]).tolist() == []
