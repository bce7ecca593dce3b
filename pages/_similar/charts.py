"""Plotly figures of the Similar faces page: the distance histograms with the threshold, the search tuning.

Presentation only: arrays computed by facecore in, a ``plotly.graph_objects.Figure`` out.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from pages._shared.charts import MARGIN, cluster_color, vline


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
    vline(fig, threshold, dict(color="#111827", dash="dash", width=2))
    fig.add_annotation(x=threshold, y=1, yref="paper", text=f"threshold {threshold:.3g}", showarrow=False,
                       xanchor="right", yanchor="top", font=dict(size=11))  # fmt: skip
    if nearest is not None:
        vline(fig, nearest, dict(color="#2563eb", width=2))
        fig.add_annotation(x=nearest, y=0.85, yref="paper", text=f"nearest face {nearest:.2f}", showarrow=False,
                           xanchor="left", yanchor="top", font=dict(size=11, color="#2563eb"))  # fmt: skip
    fig.update_layout(
        height=240, margin=dict(l=10, r=10, t=10, b=10), legend=dict(orientation="h", y=1.15, x=0),
        xaxis=dict(title="distance between two faces", range=[0, 1.2]),
        yaxis=dict(title="share of pairs", tickformat=".0%"),
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
        height=320, margin=MARGIN, legend=dict(font=dict(size=10)),
        xaxis=dict(title="comparisons per search", type="log"),
        yaxis=dict(title="exact nearest faces kept", tickformat=".0%"),
    )  # fmt: skip
    return fig
