"""Plotly figures of the Clusters page: explained variance, the PCA scatter, cluster sizes, the K hint.

Presentation only: every function takes arrays already computed by facecore
and returns a ``plotly.graph_objects.Figure``. Cluster ``c`` has the same
colour in every figure.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.express as px
import plotly.graph_objects as go

#: 48 distinct colours; K above that reuses them.
PALETTE = px.colors.qualitative.Dark24 + px.colors.qualitative.Light24
#: Above this many points the 2-D scatter uses WebGL (Scattergl).
WEBGL_ABOVE = 5000

_MARGIN = dict(l=10, r=10, t=30, b=10)


def cluster_color(cluster: int) -> str:
    return PALETTE[int(cluster) % len(PALETTE)]


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
        margin=_MARGIN,
        yaxis=dict(tickformat=".0%", range=[0, 1.02], title="explained variance"),
        xaxis=dict(title="principal component"),
        legend=dict(orientation="h", y=1.12, x=0),
        bargap=0.1,
    )
    return fig


def _vline(fig: go.Figure, x: float, line: dict) -> None:
    """A vertical line across the plot at ``x``: a plain layout shape (``add_vline`` took 20-50 ms a line to
    work out which axes it spans, on every query)."""
    fig.add_shape(type="line", x0=x, x1=x, y0=0, y1=1, xref="x", yref="paper", line=line)


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
) -> go.Figure:
    """Faces on PC1/PC2 (or PC1–PC3), one trace per group; centroids as hollow circles.

    Points are coloured by K-means group (``labels``), or by ``colors`` (a group
    number per face, -1 for none, shown as ``no_color_name``) named ``color_names`` (folders, people).
    ``customdata`` of each face point is its row in the face set (with
    ``hover_pictures``: ``[row, group]``, and no Plotly label: the page's face
    card shows the face, see pages/_hover_faces.py), so a selection event
    names the face. ``hover`` is the label text per face (unused with the card).
    The ``selected`` face is drawn as a star. ``rows`` are the faces to draw
    (default all; see :func:`facecore.layout.chart_points.drawn_rows`): the legend
    still counts every face of a group.
    """
    xyz = reduced[:, :3] if three_d else reduced[:, :2]
    labels = np.asarray(labels)
    webgl = len(labels) > WEBGL_ABOVE
    groups = labels if colors is None else np.asarray(colors)
    names = [f"group {c}" for c in range(len(centroids))] if colors is None else list(color_names)

    def about(idx: np.ndarray) -> dict:
        """What the points at ``idx`` carry: their row (and group, for the face card) and, without the card,
        Plotly's own label text (none with it: less to send at every redraw)."""
        if hover_pictures:
            return dict(customdata=np.column_stack([idx, labels[idx]]).astype(np.int32), hoverinfo="none")
        return dict(customdata=idx, hovertext=np.asarray(hover, dtype=object)[idx],
                    hovertemplate="%{hovertext}<extra></extra>")  # fmt: skip

    drawn = np.zeros(len(groups), dtype=bool)
    drawn[np.arange(len(groups)) if rows is None else np.asarray(rows, dtype=int)] = True
    fig = go.Figure()
    for c, size in zip(*np.unique(groups, return_counts=True), strict=True):
        c = int(c)
        idx = np.flatnonzero((groups == c) & drawn)
        color = cluster_color(c) if c >= 0 else "#9ca3af"
        marker = dict(size=3, color=color, opacity=0.8) if three_d else dict(size=6, color=color, opacity=0.75)
        fig.add_trace(_points(xyz[idx], three_d, webgl, mode="markers", marker=marker, legendgroup=str(c),
                              name=f"{names[c] if c >= 0 else no_color_name} ({size:,})", **about(idx)))  # fmt: skip
    _centres(fig, centroids[:, : xyz.shape[1]], three_d)
    if selected is not None and 0 <= selected < len(labels):
        star = dict(symbol="diamond" if three_d else "star", size=8 if three_d else 16, color="#111827",
                    line=dict(color="white", width=1))  # Plotly has no star in 3-D
        fig.add_trace(_points(xyz[[selected]], three_d, False, mode="markers", name="query", marker=star,
                              **about(np.array([selected]))))  # fmt: skip
    fig.update_layout(height=560, margin=_MARGIN, legend=dict(itemsizing="constant", font=dict(size=11)),
                      showlegend=len(names) <= 60, dragmode="pan" if three_d else "zoom",
                      clickmode="event+select")  # fmt: skip
    if three_d:
        fig.update_layout(scene=dict(xaxis_title="PC1", yaxis_title="PC2", zaxis_title="PC3"))
    else:
        fig.update_xaxes(title="PC1", zeroline=False)
        fig.update_yaxes(title="PC2", zeroline=False)
    return fig


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
        margin=_MARGIN,
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
    fig.update_layout(height=260, margin=_MARGIN, xaxis=dict(title="K"), yaxis=dict(title="silhouette"))
    return fig


def distance_figure(dist, threshold: float, nearest: float | None = None) -> go.Figure:
    """Shares of same-person and different-person pairs per distance (``DistanceDistributions``), the
    threshold as a line and the query's nearest face as a marker."""
    edges = np.asarray(dist.edges)
    mids = (edges[:-1] + edges[1:]) / 2
    fig = go.Figure()
    for counts, name, color in (
        (dist.same_counts, "same person", "#16a34a"),
        (dist.different_counts, "different people", "#dc2626"),
    ):
        c = np.asarray(counts, dtype=float)
        share = c / c.sum() if c.sum() else c
        fig.add_scatter(
            x=mids, y=share, mode="lines", line=dict(color=color, width=2, shape="hvh"), fill="tozeroy",
            name=name, hovertemplate=f"{name}: %{{y:.1%}} of pairs at %{{x:.2f}}<extra></extra>",
        )  # fmt: skip
    _vline(fig, threshold, dict(color="#111827", dash="dash", width=2))
    fig.add_annotation(x=threshold, y=1, yref="paper", text=f"threshold {threshold:.3g}", showarrow=False,
                       xanchor="right", yanchor="top", font=dict(size=11))  # fmt: skip
    if nearest is not None:
        _vline(fig, nearest, dict(color="#2563eb", width=2))
        fig.add_annotation(x=nearest, y=0.85, yref="paper", text=f"nearest face {nearest:.2f}", showarrow=False,
                           xanchor="left", yanchor="top", font=dict(size=11, color="#2563eb"))  # fmt: skip
    fig.update_layout(
        height=240, margin=dict(l=10, r=10, t=10, b=10), legend=dict(orientation="h", y=1.15, x=0),
        xaxis=dict(title="distance between two faces", range=[0, 1.2]),
        yaxis=dict(title="share of pairs", tickformat=".0%"),
    )  # fmt: skip
    return fig


def sweep_figure(points, threshold: float, kmeans_f: float | None = None, kmeans_k: int | None = None) -> go.Figure:
    """How well the persons match the folders at each strictness (``SweepPoint``s of
    :func:`facecore.threshold_sweep`): pairwise and BCubed F against the threshold, the current one
    marked, and K-means at the Clusters page's K as a flat line for comparison."""
    xs = [p.threshold for p in points]
    fig = go.Figure()
    for attr, name, color in (("pairwise_f", "pairs right (pairwise F)", "#2563eb"),
                              ("bcubed_f", "faces right (BCubed F)", "#16a34a")):  # fmt: skip
        fig.add_scatter(
            x=xs, y=[getattr(p.scores, attr) for p in points], mode="lines+markers", name=name,
            line=dict(color=color, width=2), customdata=[p.persons for p in points],
            hovertemplate=f"{name}: %{{y:.3f}} at %{{x:.3f}} (%{{customdata}} persons)<extra></extra>",
        )  # fmt: skip
    if kmeans_f is not None:
        fig.add_hline(y=kmeans_f, line=dict(color="#9ca3af", dash="dot", width=2))
        fig.add_annotation(
            x=xs[-1], y=kmeans_f, text=f"Clusters page, {kmeans_k} groups: {kmeans_f:.2f}", showarrow=False,
            xanchor="right", yanchor="bottom", font=dict(size=11, color="#6b7280"),
        )  # fmt: skip
    fig.add_vline(x=threshold, line=dict(color="#111827", dash="dash", width=2))
    fig.add_annotation(x=threshold, y=1.04, yref="y", text=f" now {threshold:.2f}", showarrow=False,
                       xanchor="left", yanchor="bottom", font=dict(size=11))  # fmt: skip
    fig.update_layout(
        height=300, margin=dict(l=10, r=10, t=30, b=10), legend=dict(orientation="h", y=1.18, x=0),
        xaxis=dict(title="how strict (distance a face must be within to join a person)"),
        yaxis=dict(title="match with the folders (1 = perfect)", range=[0, 1.12]),
    )  # fmt: skip
    return fig


def tuning_figure(tuning, article: tuple[int, int] = (10, 1)) -> go.Figure:
    """Share of the exact nearest faces kept against comparisons per search, one line per number of groups
    (a ``SearchTuning``); the chosen point and the article's (K = 10, one group searched) marked."""
    fig = go.Figure()
    ks = sorted({p.k for p in tuning.points})
    for i, k in enumerate(ks):
        pts = [p for p in tuning.points if p.k == k]
        fig.add_scatter(
            x=[p.comparisons for p in pts], y=[p.recall for p in pts], mode="lines+markers", name=f"{k} groups",
            line=dict(color=cluster_color(i), width=1.5), marker=dict(size=5),
            customdata=[p.nprobe for p in pts],
            hovertemplate=f"{k} groups, %{{customdata}} searched: %{{y:.1%}} kept, "
            "%{x:,.0f} comparisons<extra></extra>",
        )  # fmt: skip
    for (k, nprobe), name, symbol in (((tuning.k, tuning.nprobe), "chosen", "star"), (article, "article", "x")):
        hit = [p for p in tuning.points if (p.k, p.nprobe) == (k, nprobe)]
        if hit:
            fig.add_scatter(x=[hit[0].comparisons], y=[hit[0].recall], mode="markers+text", name=name,
                            text=[name], textposition="bottom right", hoverinfo="skip",
                            marker=dict(symbol=symbol, size=14, color="#111827"))  # fmt: skip
    fig.add_hline(y=tuning.target, line=dict(color="#6b7280", dash="dot", width=1))
    fig.update_layout(
        height=320, margin=_MARGIN, legend=dict(font=dict(size=10)),
        xaxis=dict(title="comparisons per search", type="log"),
        yaxis=dict(title="exact nearest faces kept", tickformat=".0%"),
    )  # fmt: skip
    return fig
