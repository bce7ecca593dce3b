"""Verdict: distances between labelled faces (distances), what a threshold means and the size-dependent
default (calibration), and the plain-words verdict of one search (sentences)."""

from .. import _exports

# Public to the benchmarks that fit the size rule (bench/size_rule.py), not part of the top-level API.
_BENCH = {
    "DEFAULT_THRESHOLDS": "calibration",
    "MAX_PAIRS": "distances",
    "SIZE_RULE": "calibration",
    "LabelledFaces": "distances",
    "SizeRule": "calibration",
    "block_rows": "distances",
    "check_thresholds": "calibration",
    "count_below": "calibration",
    "labelled_faces": "distances",
    "pair_distances": "distances",
    "pairwise_distances": "distances",
}

__all__, __getattr__, __dir__ = _exports(__name__, _BENCH)
