"""How well a grouping of faces into persons matches the people named by folders.

Two standard clustering scores, both computed from the contingency counts
(faces of true person j in group i) with numpy, never from a loop over pairs:

- pairwise precision / recall / F: over all pairs of faces, the share of
  pairs put together that are the same person (precision) and the share of
  same-person pairs put together (recall). One wrong merge of two large
  groups costs many pairs, so this score punishes over-merging hard.
- BCubed precision / recall / F: per face, the share of its group that is
  its person (precision) and the share of its person that is in its group
  (recall), averaged over faces. Every face weighs the same.

Unsorted faces (label ``-1``, groups below ``min_size``) count as singletons:
each is alone in its own group, which costs recall and never precision.
Faces whose person is unknown (``None``: no folder) are left out of every
score. The module also gives K-means labels for comparison (the article's
method with a K the user must choose) and a threshold sweep that reuses one
neighbour graph for every threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from ..errors import InvalidParameterError, NotEnoughFacesError
from .graph import neighbour_graph
from .grouping import group_faces


@dataclass(frozen=True)
class Scores:
    """Agreement of a labelling with the true persons (all ratios in 0..1, higher is better).

    ``faces`` counts the faces scored (those with a known person);
    ``true_persons`` the persons among them; ``groups`` the groups of two or
    more faces the labelling made and ``unsorted`` its faces left alone
    (label -1 or a group of one).
    """

    faces: int
    true_persons: int
    groups: int
    unsorted: int
    pairwise_precision: float
    pairwise_recall: float
    pairwise_f: float
    bcubed_precision: float
    bcubed_recall: float
    bcubed_f: float

    def as_dict(self) -> dict:
        return asdict(self)


def _f(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r > 0 else 0.0


def _codes(values: Sequence) -> np.ndarray:
    """Integer codes ``(n,)`` for any hashable labels (strings, ints)."""
    _, inv = np.unique(np.asarray(values), return_inverse=True)
    return inv.reshape(-1).astype(np.int64)


def score_labels(persons: Sequence[str | None], labels: Sequence[int] | np.ndarray) -> Scores:
    """Score ``labels`` (``(n,)`` ints, ``-1`` = unsorted) against ``persons`` (``(n,)`` names or None).

    Unsorted faces count as singletons; faces with person ``None`` are left
    out. With no predicted pair, pairwise precision is 1.0 (nothing wrong was
    put together); with no same-person pair, recall is 1.0.
    """
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    if len(labels) != len(persons):
        raise InvalidParameterError(
            f"labels has {len(labels)} entries but persons has {len(persons)}: pass one label per face."
        )
    known = np.array([p is not None for p in persons], dtype=bool)
    if known.sum() == 0:
        raise NotEnoughFacesError("No face has a known person (folder name): nothing to score against.")
    truth = _codes([p for p in persons if p is not None])
    pred = labels[known].copy()
    alone = pred < 0
    # Each unsorted face becomes its own group, numbered after the real ones.
    pred[alone] = pred.max(initial=-1) + 1 + np.arange(alone.sum())
    pred = _codes(pred)
    n = len(truth)
    pair_keys, n_ij = np.unique(pred * (truth.max() + 1) + truth, return_counts=True)
    i_of = pair_keys // (truth.max() + 1)
    j_of = pair_keys % (truth.max() + 1)
    a = np.bincount(pred).astype(np.float64)  # group sizes
    b = np.bincount(truth).astype(np.float64)  # person sizes
    n_ij = n_ij.astype(np.float64)
    tp = float((n_ij * (n_ij - 1) / 2).sum())
    pred_pairs = float((a * (a - 1) / 2).sum())
    true_pairs = float((b * (b - 1) / 2).sum())
    pp = tp / pred_pairs if pred_pairs else 1.0
    pr = tp / true_pairs if true_pairs else 1.0
    bp = float((n_ij**2 / a[i_of]).sum() / n)
    br = float((n_ij**2 / b[j_of]).sum() / n)
    return Scores(
        faces=n,
        true_persons=len(b),
        groups=int((a >= 2).sum()),
        unsorted=int((a == 1).sum()),
        pairwise_precision=pp,
        pairwise_recall=pr,
        pairwise_f=_f(pp, pr),
        bcubed_precision=bp,
        bcubed_recall=br,
        bcubed_f=_f(bp, br),
    )


def kmeans_labels(encodings: np.ndarray, k: int, seed: int = 0, dims: int | None = None) -> np.ndarray:
    """K-means labels ``(n,)`` of ``(n, 128)`` encodings with ``k`` clusters, for comparison.

    ``dims=None`` clusters the 128-d encodings; ``dims=20`` first reduces them
    with PCA as the app does. Uses the app's own :func:`facecore.fit_kmeans`.
    """
    from ..search.cluster import fit_kmeans
    from ..search.reduce import fit_pca, project

    x = np.asarray(encodings, dtype=np.float32)
    if dims is not None:
        x = project(fit_pca(x, seed), x, dims)
    return np.asarray(fit_kmeans(x, k, seed).labels_, dtype=np.int64)


@dataclass(frozen=True)
class SweepPoint:
    """The grouping at one threshold: how many persons, how many faces unsorted, and its scores."""

    threshold: float
    persons: int
    unsorted: int
    scores: Scores | None  # None when no face has a known person


def threshold_sweep(
    encodings: np.ndarray,
    photo_ids: Sequence | np.ndarray,
    persons: Sequence[str | None] | None,
    thresholds: Sequence[float],
    **group_kwargs,
) -> tuple[SweepPoint, ...]:
    """Group ``(n, 128)`` encodings at each of ``thresholds``; return one :class:`SweepPoint` each.

    The neighbour graph is built once, at the largest threshold, and reused
    for every grouping, so a sweep of ten thresholds costs one graph and ten
    cheap groupings. ``persons`` (folder names, or None) gives the scores.
    Other keyword arguments go to :func:`facecore.people.group_faces`.
    """
    if not thresholds:
        raise InvalidParameterError("thresholds is empty: pass at least one threshold, e.g. [0.45, 0.5, 0.55].")
    graph = neighbour_graph(encodings, max(thresholds))
    out = []
    for t in sorted(thresholds):
        g = group_faces(encodings, photo_ids, threshold=t, graph=graph, **group_kwargs)
        scores = None
        if persons is not None and any(p is not None for p in persons):
            scores = score_labels(persons, g.labels)
        out.append(SweepPoint(float(t), g.n_persons, int((g.labels < 0).sum()), scores))
    return tuple(out)
