"""People: faces -> persons without choosing K. The inputs read from a FaceSet (faces), the neighbour graph
(graph), the two grouping passes (passes), Infomap and the consensus of the two (infomap) and the API
(grouping), doubtful faces joining the nearest person (weak), the user's corrections as constraints
(constraints) and as operations (corrections), names and anchors (names), suggestions, scores against known
labels and the threshold sweep (scores), and the report."""

from .. import _exports

# Public to the benchmarks that compare grouping methods (bench/people.py), not part of the top-level API.
_BENCH = {
    "DEFAULT_METHOD": "grouping",
    "METHODS": "grouping",
    "infomap_labels": "infomap",
    "nearest_edges": "infomap",
}

__all__, __getattr__, __dir__ = _exports(__name__, _BENCH)
