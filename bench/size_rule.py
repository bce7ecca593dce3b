"""Fitting the verdict's size rule (used by ``bench/verdict.py`` only; the fitted rule ships as
:data:`facecore.verdict.calibration.SIZE_RULE`).

For random sub-collections of a labelled set, the leave-one-person-out stranger-match rate is measured
at each threshold (:func:`stranger_rates_by_size`); :func:`fit_size_rule` fits
``threshold(n) = intercept - slope * log10(n)`` through the largest thresholds that keep it within the
limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from facecore import InvalidParameterError, NotEnoughFacesError
from facecore import settings as S
from facecore.verdict import (
    DEFAULT_THRESHOLDS,
    MAX_PAIRS,
    LabelledFaces,
    SizeRule,
    block_rows,
    check_thresholds,
    count_below,
    labelled_faces,
    pair_distances,
    pairwise_distances,
)

MAX_STRANGER_RATE = S.MAX_STRANGER_RATE


def as_curve(values: np.ndarray) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


# --------------------------------------------------------------------------- collection size


def _nearest_by_person(lab: LabelledFaces) -> np.ndarray:
    """``(m, P)`` float32: distance from each face to the nearest face of each person
    (its own person: the nearest other face, inf when it has none). Memory m x P."""
    x, m = lab.x, len(lab.pid)
    sq = np.einsum("ij,ij->i", x, x)
    out = np.empty((m, len(lab.names)), np.float32)
    step = block_rows(m)
    for r0 in range(0, m, step):
        r1 = min(m, r0 + step)
        d = pairwise_distances(x[r0:r1], x, sq)
        d[np.arange(r1 - r0), np.arange(r0, r1)] = np.inf
        out[r0:r1] = np.minimum.reduceat(d, lab.starts, axis=1)  # faces are sorted by person
    return out


@dataclass(frozen=True)
class SizeDraw:
    """The stranger-match rate of one random sub-collection of ``persons`` people (``faces`` faces).

    ``stranger_rate`` and ``predicted_rate`` are curves over the thresholds given:
    measured leave-one-person-out, and predicted by the per-pair model
    ``1 - (1 - p(t)) ** n_strangers`` averaged over the queries, with p(t) the
    different-person pair rate of the whole population drawn from.
    ``recommended`` is the largest threshold whose measured rate is within the
    limit (None when none is).
    """

    persons: int
    faces: int
    draw: int
    thresholds: tuple[float, ...]
    stranger_rate: tuple[float, ...]
    predicted_rate: tuple[float, ...]
    recommended: float | None


def predicted_stranger_rate(pair_rate: np.ndarray, n_strangers: np.ndarray) -> np.ndarray:
    """The per-pair model: P(any of n strangers closer than t) = 1 - (1 - p(t)) ** n.

    ``pair_rate`` is p(t), ``(T,)``; ``n_strangers`` ``(q,)`` counts the faces of
    other people each query is compared with. Returns ``(T,)``, the mean over queries.
    """
    p = np.clip(np.asarray(pair_rate, dtype=np.float64), 0.0, 1.0)
    n = np.asarray(n_strangers, dtype=np.float64)
    return 1.0 - np.exp(np.log1p(-np.minimum(p, 1 - 1e-12))[:, None] * n[None, :]).mean(axis=1)


def stranger_rates_by_size(
    encodings: np.ndarray,
    persons: Sequence[str | None],
    person_counts: Sequence[int] = (20, 50, 100, 150),
    draws: int = 10,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    max_stranger_rate: float = MAX_STRANGER_RATE,
    seed: int = 0,
) -> tuple[SizeDraw, ...]:
    """Measure how the stranger-match rate grows with the collection's size.

    For each count in ``person_counts``, ``draws`` random sets of that many
    people (one draw when it is all of them) form a sub-collection; each of
    its faces is a query with its own person removed (leave-one-person-out).
    Meant for labelled benchmark sets: it holds a ``(faces, people)`` matrix.
    """
    lab = labelled_faces(encodings, persons)
    t = check_thresholds(thresholds)
    n_people = len(lab.names)
    if n_people < 2 or any(not 2 <= c <= n_people for c in person_counts):
        raise InvalidParameterError(f"person_counts={tuple(person_counts)} should be between 2 and {n_people}")
    near = _nearest_by_person(lab)
    _, diff, _, _ = pair_distances(lab, MAX_PAIRS, seed)
    pair_rate = count_below(diff, t) / len(diff)
    rng = np.random.default_rng(seed)
    out: list[SizeDraw] = []
    for count in person_counts:
        for draw in range(1 if count == n_people else draws):
            chosen = np.sort(rng.choice(n_people, count, replace=False))
            rows = np.flatnonzero(np.isin(lab.pid, chosen))
            sub = near[np.ix_(rows, chosen)]
            sub[np.arange(len(rows)), np.searchsorted(chosen, lab.pid[rows])] = np.inf  # own person removed
            rate = count_below(sub.min(axis=1), t) / len(rows)
            ok = t[rate <= max_stranger_rate]
            out.append(
                SizeDraw(
                    persons=count,
                    faces=len(rows),
                    draw=draw,
                    thresholds=as_curve(t),
                    stranger_rate=as_curve(rate),
                    predicted_rate=as_curve(predicted_stranger_rate(pair_rate, len(rows) - lab.sizes[lab.pid[rows]])),
                    recommended=float(ok[-1]) if len(ok) else None,
                )
            )
    return tuple(out)


def size_thresholds(
    draws: Sequence[SizeDraw], max_stranger_rate: float = MAX_STRANGER_RATE
) -> tuple[tuple[float, float], ...]:
    """Per number of people: (mean faces, largest threshold whose stranger rate, averaged over
    the draws, is at most ``max_stranger_rate``); sizes where none is are left out."""
    out = []
    for count in sorted({d.persons for d in draws}):
        group = [d for d in draws if d.persons == count]
        rate = np.mean([d.stranger_rate for d in group], axis=0)
        ok = np.asarray(group[0].thresholds)[rate <= max_stranger_rate]
        if len(ok):
            out.append((float(np.mean([d.faces for d in group])), float(ok[-1])))
    return tuple(out)


def fit_size_rule(
    draws: Sequence[SizeDraw], max_stranger_rate: float = MAX_STRANGER_RATE, quantile: float = 0.25
) -> SizeRule:
    """Fit a :class:`SizeRule` to measured draws.

    The slope is the least-squares line through :func:`size_thresholds`
    (threshold against log10(faces)); the line is then moved down to the
    ``quantile`` of the draws' own recommended thresholds around it, so that
    at the default 0.25 about three collections of four, of any measured
    size, keep their stranger rate within the limit (a draw with no threshold
    within it counts as the smallest one).
    """
    points = size_thresholds(draws, max_stranger_rate)
    if len(points) < 2:
        raise NotEnoughFacesError(f"fitting a size rule needs two collection sizes, got {len(points)}")
    faces, thr = np.array(points).T
    slope, intercept = np.polyfit(np.log10(faces), thr, 1)
    own = np.array([d.recommended if d.recommended is not None else d.thresholds[0] for d in draws])
    line = intercept + slope * np.log10([d.faces for d in draws])
    shift = float(np.quantile(own - line, quantile))
    return SizeRule(intercept=round(float(intercept) + shift, 4), slope=round(float(-slope), 4))
