"""People: faces -> persons without choosing K. The inputs read from a FaceSet (faces), the neighbour graph
(graph), the two grouping passes (passes) and the API (grouping), the user's corrections as constraints
(constraints) and as operations (corrections), names and anchors (names), suggestions, scores against
known labels and the threshold sweep (scores), and the report."""

from .. import _exports

__all__, __getattr__, __dir__ = _exports(__name__)
