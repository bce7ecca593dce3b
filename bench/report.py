"""What a benchmark hands back (a :class:`Report` of :class:`Table` s) and the small helpers that fill it.

Cells are formatted once, here: :func:`ms` and :func:`secs` pick the number of
decimals from the size of the value, :func:`count` adds thousands separators.
:func:`timed` runs a function several times and keeps the median and the best.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Table:
    """A titled table; ``rows`` hold already formatted cells."""

    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    note: str = ""

    def markdown(self) -> str:
        """The table as GitHub Markdown (title line, header, rows, note)."""
        widths = [max([len(str(c))] + [len(str(r[i])) for r in self.rows]) for i, c in enumerate(self.columns)]

        def line(cells: Sequence[str]) -> str:
            return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

        out = [f"**{self.title}**", "", line(self.columns), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
        out += [line(r) for r in self.rows]
        if self.note:
            out += ["", self.note]
        return "\n".join(out)

    def as_dict(self) -> dict:
        return {"title": self.title, "columns": self.columns, "rows": self.rows, "note": self.note}


@dataclass
class Report:
    """What one benchmark produced: tables for people, raw numbers for JSON, plot files."""

    name: str
    tables: list[Table] = field(default_factory=list)
    data: dict = field(default_factory=dict)
    plots: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"name": self.name, "tables": [t.as_dict() for t in self.tables], "data": self.data, "plots": self.plots}


def ms(seconds: float) -> str:
    """Seconds shown as milliseconds with 3 significant-ish digits (0.412, 7.30, 45.1, 1,203)."""
    v = seconds * 1000
    return f"{v:.3f}" if v < 1 else f"{v:.2f}" if v < 10 else f"{v:.1f}" if v < 1000 else f"{v:,.0f}"


def secs(seconds: float) -> str:
    """Seconds with 3 decimals below 10 s, one above."""
    return f"{seconds:.3f}" if seconds < 10 else f"{seconds:.1f}"


def count(n: float) -> str:
    """A whole number with thousands separators."""
    return f"{int(round(n)):,}"


def load_avg() -> str:
    """The 1, 5 and 15 minute load averages, e.g. ``"1.02 0.87 0.90"`` (2 = both cores of this machine busy)."""
    a, b, c = os.getloadavg()
    return f"{a:.2f} {b:.2f} {c:.2f}"


def timed(fn: Callable[[], object], repeats: int = 1) -> tuple[float, float, object]:
    """Run ``fn`` ``repeats`` times; return ``(median s, min s, last result)``."""
    times, result = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times)), float(min(times)), result
