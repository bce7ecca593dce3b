"""Plotly figures of the Clusters page: explained variance, the PCA scatter, cluster sizes, the K hint.

Presentation only: every function takes arrays already computed by facecore
and returns a ``plotly.graph_objects.Figure``. Cluster ``c`` has the same
colour in every figure.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from pages._shared.charts import MARGIN, cluster_color, cluster_symbol

#: Above this many drawn points the 2-D scatter uses WebGL (Scattergl).
WEBGL_ABOVE = 5000


def variance_figure(ratio: np.ndarray, cumulative: np.ndarray, dims: int) -> go.Figure:
    """Bars: share of variance of each principal component; line: the running total; the chosen ``dims`` marked."""
    comp = np.arange(1, len(ratio) + 1)
    colors = np.where(comp <= dims, "#2563eb", "#c7d2e5")
    fig = go.Figure()
    fig.add_bar(
        x=comp, y=ratio, marker_color=colors, name="per component", hovertemplate="PC%{x}: %{y:.1%}<extra></extra>"
    )
    fig.add_scatter(
        x=comp,
        y=cumulative,
        mode="lines",
        name="cumulative",
        line=dict(color="#e4572e", width=2),
        hovertemplate="PC1…PC%{x}: %{y:.1%}<extra></extra>",
    )
    fig.add_vline(x=dims + 0.5, line=dict(color="#6b7280", dash="dot", width=1))
    fig.update_layout(
        height=320,
        margin=MARGIN,
        yaxis=dict(tickformat=".0%", range=[0, 1.02], title="explained variance"),
        xaxis=dict(title="principal component"),
        legend=dict(orientation="h", y=1.12, x=0),
        bargap=0.1,
    )
    return fig


def _points(xyz: np.ndarray, three_d: bool, webgl: bool, **kw) -> go.Scatter | go.Scattergl | go.Scatter3d:
    """A trace of points at the rows of ``xyz`` (columns PC1, PC2[, PC3])."""
    if three_d:
        return go.Scatter3d(x=xyz[:, 0], y=xyz[:, 1], z=xyz[:, 2], **kw)
    return (go.Scattergl if webgl else go.Scatter)(x=xyz[:, 0], y=xyz[:, 1], **kw)


def _centres(fig: go.Figure, centroids: np.ndarray, three_d: bool) -> None:
    """The K-means centres as hollow rings in their group's colour, numbered (2-D: on a white halo)."""
    k = len(centroids)
    ring = dict(symbol="circle-open", color=[cluster_color(c) for c in range(k)], line=dict(width=3.5))
    label = dict(name="centroids", hovertext=[f"centre of group {c}" for c in range(k)],
                 hovertemplate="%{hovertext}<extra></extra>")  # fmt: skip
    if three_d:
        fig.add_trace(_points(centroids, True, False, mode="markers", marker=dict(size=9, **ring), **label))
        return
    # A white halo under each ring keeps it visible on top of its own group's points.
    halo = dict(symbol="circle-open", color="white", line=dict(width=7))
    fig.add_trace(_points(centroids, False, False, mode="markers", marker=dict(size=22, **halo), showlegend=False,
                          hoverinfo="skip", name="halo"))  # fmt: skip
    fig.add_trace(_points(centroids, False, False, mode="markers+text", marker=dict(size=22, **ring),
                          text=[str(c) for c in range(k)], textposition="top right",
                          textfont=dict(size=12, color="#111827", weight="bold"), **label))  # fmt: skip


def scatter_figure(
    reduced: np.ndarray,
    labels: np.ndarray,
    centroids: np.ndarray,
    hover: Sequence[str] | None,
    three_d: bool = False,
    selected: int | None = None,
    hover_pictures: bool = False,
    colors: np.ndarray | None = None,
    color_names: Sequence[str] = (),
    no_color_name: str = "no name",
    rows: np.ndarray | None = None,
    axes: Sequence[str] | None = ("PC1", "PC2", "PC3"),
    persons: np.ndarray | None = None,
) -> go.Figure:
    """Faces on PC1/PC2 (or PC1–PC3), one trace per group; centroids as hollow circles.

    ``reduced`` may be any ``(n, 2|3)`` places, e.g. a similarity map, with ``centroids``
    given at their places on it (:func:`facecore.centre_places`) and ``axes=None``
    (a map's axes have no meaning: no titles, no tick labels).

    Points are coloured by K-means group (``labels``), or by ``colors`` (a group
    number per face, -1 for none, shown as ``no_color_name``) named ``color_names`` (folders, people).
    ``customdata`` of each face point is its row in the face set (with
    ``hover_pictures``: ``[row, group, person]``, ``persons`` the person number per face, -1 or absent:
    none; and no Plotly label: the page's face
    card shows the face, see pages/_clusters/hover.py), so a selection event
    names the face. ``hover`` is the label text per face (unused with the card).
    The ``selected`` face is drawn as a star. ``rows`` are the faces to draw
    (default all; see :func:`facecore.layout.chart_points.drawn_rows`): the legend
    still counts every face of a group.
    """
    xyz = reduced[:, :3] if three_d else reduced[:, :2]
    labels = np.asarray(labels)
    webgl = (len(labels) if rows is None else len(rows)) > WEBGL_ABOVE  # the points drawn
    groups = labels if colors is None else np.asarray(colors)
    names = [f"group {c}" for c in range(len(centroids))] if colors is None else list(color_names)

    def about(idx: np.ndarray) -> dict:
        return _about(idx, labels, hover, hover_pictures, persons)

    drawn = np.zeros(len(groups), dtype=bool)
    drawn[np.arange(len(groups)) if rows is None else np.asarray(rows, dtype=int)] = True
    fig = go.Figure()
    for c, size in zip(*np.unique(groups, return_counts=True), strict=True):
        c = int(c)
        idx = np.flatnonzero((groups == c) & drawn)
        color = cluster_color(c) if c >= 0 else "#9ca3af"
        look = dict(color=color, symbol=cluster_symbol(max(c, 0)))
        marker = dict(size=3, opacity=0.8, **look) if three_d else dict(size=6, opacity=0.75, **look)
        fig.add_trace(_points(xyz[idx], three_d, webgl, mode="markers", marker=marker, legendgroup=str(c),
                              name=f"{names[c] if c >= 0 else no_color_name} ({size:,})", **about(idx)))  # fmt: skip
    _centres(fig, centroids[:, : xyz.shape[1]], three_d)
    if selected is not None and 0 <= selected < len(labels):
        star = dict(symbol="diamond" if three_d else "star", size=8 if three_d else 16, color="#111827",
                    line=dict(color="white", width=1))  # Plotly has no star in 3-D
        fig.add_trace(_points(xyz[[selected]], three_d, False, mode="markers", name="query", marker=star,
                              **about(np.array([selected]))))  # fmt: skip
    _scatter_layout(fig, three_d, legend=len(names) <= 160, axes=axes)
    return fig


def _about(idx: np.ndarray, labels: np.ndarray, hover: Sequence[str] | None, hover_pictures: bool,
           persons: np.ndarray | None = None) -> dict:  # fmt: skip
    """What the scatter points at ``idx`` carry: their row (and group and person, for the face card) and, without
    the card, Plotly's own label text (none with it: less to send at every redraw)."""
    if hover_pictures:
        person = np.full(len(idx), -1) if persons is None else np.asarray(persons)[idx]
        return dict(customdata=np.column_stack([idx, labels[idx], person]).astype(np.int32), hoverinfo="none")
    return dict(customdata=idx, hovertext=np.asarray(hover, dtype=object)[idx],
                hovertemplate="%{hovertext}<extra></extra>")  # fmt: skip


def _scatter_layout(fig: go.Figure, three_d: bool, legend: bool, axes: Sequence[str] | None) -> None:
    """The scatter's size, legend, drag mode, click selection and axes (``axes=None``: a map's, unlabelled)."""
    fig.update_layout(height=560, margin=MARGIN, legend=dict(itemsizing="constant", font=dict(size=11)),
                      showlegend=legend, dragmode="pan" if three_d else "zoom", clickmode="event+select")  # fmt: skip
    plain = dict(showticklabels=axes is not None, showgrid=axes is not None, zeroline=False)
    x, y, z = axes or ("", "", "")
    if three_d:
        fig.update_layout(scene=dict(xaxis=dict(title=x, **plain), yaxis=dict(title=y, **plain),
                                     zaxis=dict(title=z, **plain)))  # fmt: skip
    else:
        fig.update_xaxes(title=x, **plain)
        fig.update_yaxes(title=y, **plain)


def sizes_figure(sizes: np.ndarray) -> go.Figure:
    """Faces per group, bars in the group colours."""
    clusters = np.arange(len(sizes))
    fig = go.Figure(
        go.Bar(
            x=clusters,
            y=sizes,
            marker_color=[cluster_color(c) for c in clusters],
            hovertemplate="group %{x}: %{y} faces<extra></extra>",
        )
    )
    fig.update_layout(
        height=320,
        margin=MARGIN,
        xaxis=dict(title="group", tickmode="linear" if len(sizes) <= 30 else "auto"),
        yaxis=dict(title="faces"),
        bargap=0.15,
    )
    return fig


def silhouette_figure(scores: Sequence[tuple[int, float]], current_k: int) -> go.Figure:
    """Silhouette score per K (higher is better), the current K marked."""
    ks = [k for k, _ in scores]
    vals = [s for _, s in scores]
    fig = go.Figure(
        go.Scatter(
            x=ks,
            y=vals,
            mode="lines+markers",
            line=dict(color="#2563eb"),
            hovertemplate="K=%{x}: %{y:.3f}<extra></extra>",
        )
    )
    fig.add_vline(x=current_k, line=dict(color="#6b7280", dash="dot", width=1))
    fig.update_layout(height=260, margin=MARGIN, xaxis=dict(title="K"), yaxis=dict(title="silhouette"))
    return fig


