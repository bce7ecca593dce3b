"""What a threshold means on photos whose folders name the people, and the default without names.

:func:`calibrate` measures pair precision and recall and, for searches, leave-one-person-out
"stranger match" rates at each threshold; :func:`recommended_threshold` picks the largest threshold
that keeps stranger matches rare; :func:`default_threshold` gives a size-dependent default for
collections without names (:data:`SIZE_RULE`, fitted by ``bench/size_rule.py``), and
:data:`SHARED_CALIBRATION` what thresholds mean on the shared photos.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InvalidParameterError, NotEnoughFacesError
from ..settings import MAX_STRANGER_RATE, SAME_PERSON_THRESHOLD
from .distances import (
    MAX_PAIRS,
    LabelledFaces,
    block_rows,
    labelled_faces,
    pair_distances,
    pairwise_distances,
)

#: Thresholds a calibration is computed at by default: 0.30 to 0.70 in steps of 0.005.
DEFAULT_THRESHOLDS: tuple[float, ...] = tuple(round(0.30 + 0.005 * i, 3) for i in range(81))
#: Above this many labelled faces, a random sample of this many faces serves as queries.
MAX_QUERIES = 5_000


# --------------------------------------------------------------------------- calibration


def check_thresholds(thresholds: Sequence[float]) -> np.ndarray:
    t = np.asarray(thresholds, dtype=np.float64)
    if t.ndim != 1 or len(t) == 0 or np.any(np.diff(t) <= 0) or t[0] <= 0:
        raise InvalidParameterError("thresholds must be one or more increasing distances above 0")
    return t


def count_below(values: np.ndarray, t: np.ndarray) -> np.ndarray:
    """How many ``values`` are strictly below each threshold of ``t`` (equal is not below)."""
    return np.searchsorted(np.sort(values), t, side="left")


def _nearest(lab: LabelledFaces, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each query row: distance to the nearest other face of its person and to the nearest
    face of anyone else, float32 ``(len(queries),)`` each (inf where there is none)."""
    x, pid = lab.x, lab.pid
    sq = np.einsum("ij,ij->i", x, x)
    near_same = np.empty(len(queries), np.float32)
    near_other = np.empty(len(queries), np.float32)
    step = block_rows(len(x))
    for s in range(0, len(queries), step):
        q = queries[s : s + step]
        d = pairwise_distances(x[q], x, sq)
        d[np.arange(len(q)), q] = np.inf  # a face is not its own match
        same = pid[q][:, None] == pid[None, :]
        near_same[s : s + step] = np.where(same, d, np.inf).min(axis=1)
        near_other[s : s + step] = np.where(same, np.inf, d).min(axis=1)
    return near_same, near_other


def as_curve(values: np.ndarray) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


@dataclass(frozen=True)
class CalibrationPoint:
    """What one threshold means on a labelled collection (shares are 0..1; nan: nothing to count)."""

    threshold: float
    pair_precision: float
    pair_recall: float
    stranger_rate: float
    same_person_rate: float
    #: False when interpolated between two measured thresholds
    measured: bool


@dataclass(frozen=True)
class Calibration:
    """Curves over ``thresholds`` (increasing distances), each a share between 0 and 1.

    - ``pair_precision``: of the pairs closer than t, the share that are one person
      (nan where no pair is closer);
    - ``pair_recall``: of the same-person pairs, the share closer than t;
    - ``different_pair_rate``: of the different-person pairs, the share closer than t
      (the per-pair false-match probability p(t));
    - ``stranger_rate``: leave-one-person-out: with the query's person removed from
      the collection, the share of queries that still find a face closer than t
      (the false match rate of a search);
    - ``same_person_rate``: leave-one-out, over people with two faces or more: the
      share of queries whose nearest other face of the same person is closer than t.

    ``source`` names the collection in sentences ("this collection", "the shared photos").
    """

    thresholds: tuple[float, ...]
    pair_precision: tuple[float, ...]
    pair_recall: tuple[float, ...]
    different_pair_rate: tuple[float, ...]
    stranger_rate: tuple[float, ...]
    same_person_rate: tuple[float, ...]
    faces: int
    persons: int
    same_pairs: int
    different_pairs: int
    different_measured: int
    stranger_queries: int
    same_person_queries: int
    source: str = "this collection"

    def at(self, threshold: float) -> CalibrationPoint:
        """The curves at ``threshold``: measured, or linearly interpolated between two
        measured thresholds. Raises :class:`InvalidParameterError` outside the measured range."""
        t = np.asarray(self.thresholds)
        if not t[0] - 1e-9 <= threshold <= t[-1] + 1e-9:
            raise InvalidParameterError(f"threshold={threshold} is outside the measured range {t[0]}..{t[-1]}")
        hit = np.flatnonzero(np.abs(t - threshold) <= 1e-9)

        def value(curve: tuple[float, ...]) -> float:
            return float(curve[hit[0]]) if len(hit) else float(np.interp(threshold, t, curve))

        return CalibrationPoint(
            threshold=float(threshold),
            pair_precision=value(self.pair_precision),
            pair_recall=value(self.pair_recall),
            stranger_rate=value(self.stranger_rate),
            same_person_rate=value(self.same_person_rate),
            measured=bool(len(hit)),
        )


def _queries(m: int, max_queries: int, rng: np.random.Generator) -> np.ndarray:
    if max_queries < 1:
        raise InvalidParameterError(f"max_queries={max_queries} should be >= 1")
    return np.arange(m) if m <= max_queries else np.sort(rng.choice(m, max_queries, replace=False))


def calibrate(
    encodings: np.ndarray,
    persons: Sequence[str | None],
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    max_pairs: int = MAX_PAIRS,
    max_queries: int = MAX_QUERIES,
    seed: int = 0,
    source: str = "this collection",
) -> Calibration:
    """Measure what each threshold means on faces whose person is known.

    ``encodings`` is ``(n, 128)``, ``persons[i]`` the person of face i (None:
    left out). A pair or a match counts when its distance is strictly below
    the threshold. Pairs are measured or sampled as in
    :func:`distance_distributions` (then precision and p(t) are estimates);
    above ``max_queries`` labelled faces a seeded random sample of them are
    the queries, each still compared with every labelled face. Raises
    :class:`NotEnoughFacesError` without two people or without a person with two faces.
    """
    lab = labelled_faces(encodings, persons)
    t = check_thresholds(thresholds)
    if len(lab.names) < 2 or lab.sizes.max() < 2:
        raise NotEnoughFacesError(
            f"calibration needs two people and one of them with two faces; got {len(lab.names)} people "
            f"and {len(lab.pid)} named faces: name people by folder (DIR/<person>/*.jpg)"
        )
    same, diff, n_same, n_diff = pair_distances(lab, max_pairs, seed)
    same_below = count_below(same, t) * (n_same / len(same))
    diff_rate = count_below(diff, t) / len(diff)
    closer = same_below + diff_rate * n_diff
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(closer > 0, same_below / closer, np.nan)
    queries = _queries(len(lab.pid), max_queries, np.random.default_rng(seed + 1))
    near_same, near_other = _nearest(lab, queries)
    has_mate = lab.sizes[lab.pid[queries]] >= 2
    return Calibration(
        thresholds=as_curve(t),
        pair_precision=as_curve(precision),
        pair_recall=as_curve(same_below / n_same),
        different_pair_rate=as_curve(diff_rate),
        stranger_rate=as_curve(count_below(near_other, t) / len(queries)),
        same_person_rate=as_curve(count_below(near_same[has_mate], t) / int(has_mate.sum())),
        faces=len(lab.pid),
        persons=len(lab.names),
        same_pairs=n_same,
        different_pairs=n_diff,
        different_measured=len(diff),
        stranger_queries=len(queries),
        same_person_queries=int(has_mate.sum()),
        source=source,
    )


def recommended_threshold(calibration: Calibration, max_stranger_rate: float = MAX_STRANGER_RATE) -> float:
    """The largest calibrated threshold whose stranger-match rate is at most ``max_stranger_rate``.

    The stranger rate never decreases with the threshold, so this is the
    loosest threshold that keeps false matches of a search rare enough.
    Raises :class:`InvalidParameterError` when even the smallest one is above.
    """
    if not 0 <= max_stranger_rate <= 1:
        raise InvalidParameterError(f"max_stranger_rate={max_stranger_rate} should be between 0 and 1")
    ok = [t for t, r in zip(calibration.thresholds, calibration.stranger_rate, strict=True) if r <= max_stranger_rate]
    if not ok:
        raise InvalidParameterError(
            f"even at {calibration.thresholds[0]}, {calibration.stranger_rate[0]:.1%} of searches find a stranger "
            f"(above max_stranger_rate={max_stranger_rate}): calibrate with smaller thresholds"
        )
    return ok[-1]


def verdict_threshold(calibration: Calibration | None, n_faces: int) -> float:
    """The default "same person" threshold (a distance) for a collection of ``n_faces`` faces.

    Measured on the collection's folders when they name people (``calibration``: the loosest
    threshold that keeps stranger matches at most ``MAX_STRANGER_RATE``), else the size rule
    (:func:`default_threshold`), also when even the strictest calibrated threshold lets too many
    strangers through; never above dlib's one-pair 0.6 (``SAME_PERSON_THRESHOLD``). Rounded to 0.001.
    """
    try:
        measured = recommended_threshold(calibration) if calibration is not None else None
    except InvalidParameterError:  # even the strictest threshold lets too many strangers through
        measured = None
    return round(min(measured if measured is not None else default_threshold(n_faces), SAME_PERSON_THRESHOLD), 3)


@dataclass(frozen=True)
class SizeRule:
    """A verdict threshold that tightens with the collection's size.

    ``threshold(n) = intercept - slope * log10(n)``, rounded down to ``step``
    and kept within ``lowest``..``highest``.
    """

    intercept: float
    slope: float  # per factor of ten in faces
    lowest: float = 0.40
    highest: float = 0.60
    step: float = 0.005

    def threshold(self, n_faces: int) -> float:
        """The threshold for a collection of ``n_faces`` faces (a distance)."""
        if n_faces < 1:
            raise InvalidParameterError(f"n_faces={n_faces} should be >= 1")
        raw = self.intercept - self.slope * math.log10(n_faces)
        down = math.floor(round(raw / self.step, 6)) * self.step
        return round(min(self.highest, max(self.lowest, down)), 6)


# --------------------------------------------------------------------------- the defaults

#: The size rule measured on the shared CelebA photos (2,338 faces of 150 people,
#: folders as identities; ``python bench/verdict.py``). For 10, 15, 20, 30, 40, 50,
#: 75, 100, 125 and 150 people (30 random draws each, one for all 150), the largest
#: threshold whose mean leave-one-person-out stranger rate is within 10 % falls
#: along 0.7283 - 0.0668 log10(faces) (0.585 at 154 faces, 0.505 at 2,338); the
#: line is moved down by 0.0075 so that three draws of four stay within 10 %.
#: Fitted on half the people, it kept 69 % of collections of the other half within
#: 10 % (mean stranger rate 7.6 %, 90th percentile 15.4 %). Measured up to 2,338
#: faces only: beyond, the line is extrapolated down to 0.40 (from about 53,000
#: faces), below which over a quarter of people's own faces would not match
#: (72.7 % of them do at 0.40 here). The per-pair model 1 - (1 - p(t))^n
#: overestimates the measured stranger rates (39 % against 8.3 % at 0.50 on all
#: 2,338 faces, 2.5 to 6 times from 0.45 to 0.55 at every size): close strangers
#: gather around a few queries (look-alikes), so it would give a needlessly strict rule.
SIZE_RULE = SizeRule(intercept=0.7208, slope=0.0668)


def default_threshold(n_faces: int) -> float:
    """The verdict threshold (a distance) for a collection of ``n_faces`` faces without names.

    From :data:`SIZE_RULE`: 0.60 (dlib's one-pair threshold) up to 64 faces,
    0.585 at 100, 0.52 at 1,000, 0.495 at 2,338, 0.45 at 10,000, never below 0.40.
    """
    return SIZE_RULE.threshold(int(n_faces))



# Calibration of the shared photos, folders as given (person_7392 and person_7393
# are one actress filed twice: 36 of the 38 stranger matches below 0.40 are hers).
# Columns: threshold, pair precision, pair recall, p(t), stranger rate, same-person rate.
_SHARED = (
    (0.300, 0.9869, 0.0344, 3.32e-06, 0.0051, 0.2478),
    (0.325, 0.9861, 0.0682, 7.01e-06, 0.0090, 0.3744),
    (0.350, 0.9851, 0.1201, 1.33e-05, 0.0115, 0.5075),
    (0.375, 0.9837, 0.1921, 2.32e-05, 0.0137, 0.6350),
    (0.400, 0.9820, 0.2806, 3.76e-05, 0.0163, 0.7274),
    (0.425, 0.9777, 0.3811, 6.34e-05, 0.0192, 0.8134),
    (0.450, 0.9747, 0.4945, 9.37e-05, 0.0317, 0.8751),
    (0.475, 0.9702, 0.6027, 1.35e-04, 0.0483, 0.9260),
    (0.495, 0.9621, 0.6783, 1.95e-04, 0.0719, 0.9444),  # VERDICT_THRESHOLD
    (0.500, 0.9594, 0.6972, 2.15e-04, 0.0830, 0.9482),
    (0.525, 0.9366, 0.7786, 3.85e-04, 0.1689, 0.9641),
    (0.550, 0.8925, 0.8447, 7.42e-04, 0.3340, 0.9739),
    (0.575, 0.8151, 0.8899, 1.47e-03, 0.5419, 0.9795),
    (0.600, 0.6838, 0.9186, 3.10e-03, 0.7519, 0.9837),
    (0.625, 0.5132, 0.9389, 6.50e-03, 0.9029, 0.9889),
    (0.650, 0.3457, 0.9526, 1.32e-02, 0.9752, 0.9927),
    (0.675, 0.2186, 0.9620, 2.51e-02, 0.9966, 0.9944),
    (0.700, 0.1353, 0.9706, 4.52e-02, 1.0000, 0.9983),
)

#: What thresholds mean on the shared photos (from ``python bench/verdict.py``), used
#: for the verdict's sentence when the loaded collection has no calibration of its own.
SHARED_CALIBRATION = Calibration(
    *(tuple(row[c] for row in _SHARED) for c in (0, 1, 2, 3, 4, 5)),
    faces=2338,
    persons=150,
    same_pairs=19784,
    different_pairs=2712169,
    different_measured=2712169,
    stranger_queries=2338,
    same_person_queries=2337,
    source="the shared photos (2,338 faces of 150 people)",
)
