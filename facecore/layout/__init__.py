"""Layout: which points a crowded chart draws and which faces a box or lasso holds (chart_points)."""

from .. import _exports

__all__, __getattr__, __dir__ = _exports(__name__)
