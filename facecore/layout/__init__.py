"""Layout: where each face is drawn. The similarity map, where near means similar, kept in the cache
(face_map), how well a map keeps each face's neighbours (map_quality), and which points a crowded chart
draws and which faces a box or lasso holds (chart_points)."""

from .. import _exports

# Public to the benchmarks that compare map methods (bench/map*.py), not part of the top-level API.
_BENCH = {"MIN_TSNE_FACES": "face_map", "layout_key": "face_map", "pca_axes": "face_map"}

__all__, __getattr__, __dir__ = _exports(__name__, _BENCH)
