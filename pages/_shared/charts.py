"""What every page's Plotly figures share: margins, a cheap vertical line, one colour per cluster."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.colors import qualitative  # the palettes alone: plotly.express (0.17 s to import) is not needed

#: 74 distinct colours (plotly's palettes made for many classes); above that, colours come back with
#: another marker shape (:func:`cluster_symbol`), so 150 persons still tell apart.
PALETTE = qualitative.Dark24 + qualitative.Light24 + qualitative.Alphabet
#: Marker shapes that 2-D and 3-D charts both draw: the first for the first 74 classes, and so on.
SYMBOLS = ("circle", "square", "diamond", "cross", "x")


MARGIN = dict(l=10, r=10, t=30, b=10)


def cluster_color(cluster: int) -> str:
    return PALETTE[int(cluster) % len(PALETTE)]


def cluster_symbol(cluster: int) -> str:
    return SYMBOLS[(int(cluster) // len(PALETTE)) % len(SYMBOLS)]


def vline(fig: go.Figure, x: float, line: dict) -> None:
    """A vertical line across the plot at ``x``: a plain layout shape (``add_vline`` took 20-50 ms a line to
    work out which axes it spans, on every query)."""
    fig.add_shape(type="line", x0=x, x1=x, y0=0, y1=1, xref="x", yref="paper", line=line)
