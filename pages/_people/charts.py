"""Plotly figure of the People page: grouping quality against the threshold.

Presentation only: arrays computed by facecore in, a ``plotly.graph_objects.Figure`` out.
"""

from __future__ import annotations

import plotly.graph_objects as go


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
