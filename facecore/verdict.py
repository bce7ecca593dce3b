"""An honest "same person?" verdict for a search over a whole collection.

dlib's 0.6 was tuned to verify ONE pair of faces. A search compares the query
with every face of a collection, so the chance that some stranger lands below
a fixed threshold grows with the collection's size. This module measures what
a threshold means on photos whose folders name the people (pair distances,
pair precision and recall, and, for searches, leave-one-person-out "stranger
match" rates), picks the largest threshold that keeps stranger matches rare,
gives a size-dependent default for collections without names, and turns one
query's ranked distances into plain words. Distances are Euclidean between
128-d face_recognition encodings; everything is vectorised numpy, computed in
blocks of rows so no n x n matrix is ever held.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .errors import InvalidParameterError, NotEnoughFacesError
from .settings import MAX_STRANGER_RATE, VERDICT_THRESHOLD  # noqa: F401 - re-exported for readers of this module

#: Shared bin edges of the distance histograms: 0 to 1.2 in steps of 0.025.
BIN_EDGES: tuple[float, ...] = tuple(round(0.025 * i, 3) for i in range(49))
#: Thresholds a calibration is computed at by default: 0.30 to 0.70 in steps of 0.005.
DEFAULT_THRESHOLDS: tuple[float, ...] = tuple(round(0.30 + 0.005 * i, 3) for i in range(81))
#: Above this many pairs of one kind, a uniform random sample of this many is measured.
MAX_PAIRS = 3_000_000
#: Above this many labelled faces, a random sample of this many faces serves as queries.
MAX_QUERIES = 5_000
_BLOCK_ELEMENTS = 4_000_000  # distances per block: 16 MB of float32


# --------------------------------------------------------------------------- labelled faces


@dataclass(frozen=True)
class _Labelled:
    """The faces that have a person, sorted by person: ``x`` (m, 128) float32, ``pid`` (m,)."""

    x: np.ndarray
    pid: np.ndarray
    starts: np.ndarray  # (P,) first row of each person
    sizes: np.ndarray  # (P,) faces of each person
    names: tuple[str, ...]


def _labelled(encodings: np.ndarray, persons: Sequence[str | None]) -> _Labelled:
    """Keep the faces whose person is known, grouped by person (stable order within a person)."""
    x = np.asarray(encodings, dtype=np.float32)
    if x.ndim != 2:
        raise InvalidParameterError(f"encodings must be 2-D (n_faces, 128), got shape {x.shape}")
    if len(persons) != len(x):
        raise InvalidParameterError(f"persons has {len(persons)} entries for {len(x)} faces")
    names = tuple(sorted({p for p in persons if p is not None}))
    code = {p: i for i, p in enumerate(names)}
    pid = np.array([code[p] if p is not None else -1 for p in persons], dtype=np.int64)
    keep = np.flatnonzero(pid >= 0)
    order = keep[np.argsort(pid[keep], kind="stable")]
    pid = pid[order]
    sizes = np.bincount(pid, minlength=len(names))
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    return _Labelled(x[order], pid, starts, sizes, names)


def _block_rows(n_columns: int) -> int:
    return max(1, min(2048, _BLOCK_ELEMENTS // max(n_columns, 1)))


def _dist(a: np.ndarray, b: np.ndarray, b_sq: np.ndarray) -> np.ndarray:
    """Euclidean distances ``(len(a), len(b))`` float32 from rows of a to rows of b."""
    a_sq = np.einsum("ij,ij->i", a, a)[:, None]
    return np.sqrt(np.maximum(a_sq - 2.0 * (a @ b.T) + b_sq[None, :], 0.0))


def _row_dist(x: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Distances of the pairs ``(i[k], j[k])``, float32, in chunks of 500k pairs."""
    out = np.empty(len(i), np.float32)
    for s in range(0, len(i), 500_000):
        diff = x[i[s : s + 500_000]] - x[j[s : s + 500_000]]
        out[s : s + 500_000] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
    return out


# --------------------------------------------------------------------------- pair distances


def _exact_pairs(lab: _Labelled, same: bool) -> np.ndarray:
    """Distances of every unordered same-person (or different-person) pair, float32."""
    x, pid, m = lab.x, lab.pid, len(lab.pid)
    sq = np.einsum("ij,ij->i", x, x)
    ends = lab.starts + lab.sizes
    widest = int(lab.sizes.max()) if len(lab.sizes) else 0
    step = _block_rows(widest + 1024) if same else _block_rows(m)
    out: list[np.ndarray] = []
    for r0 in range(0, m, step):
        r1 = min(m, r0 + step)
        # only columns after the row are needed; same-person ones end with the block's last person
        c1 = int(ends[pid[r1 - 1]]) if same else m
        d = _dist(x[r0:r1], x[r0:c1], sq[r0:c1])
        rows = np.arange(r0, r1)[:, None]
        cols = np.arange(r0, c1)[None, :]
        mask = (pid[r0:r1, None] == pid[None, r0:c1]) == same
        out.append(d[mask & (cols > rows)])
    return np.concatenate(out) if out else np.empty(0, np.float32)


def _sampled_pairs(lab: _Labelled, same: bool, k: int, rng: np.random.Generator) -> np.ndarray:
    """Distances of ``k`` ordered pairs drawn uniformly (with replacement) among pairs of one kind."""
    m, size = len(lab.pid), lab.sizes[lab.pid]
    start = lab.starts[lab.pid]
    partners = size - 1 if same else m - size  # how many faces each face pairs with
    i = rng.choice(m, size=k, p=partners / partners.sum())
    r = rng.integers(0, partners[i])
    if same:  # r-th other face of i's person
        j = start[i] + r + (r >= i - start[i])
    else:  # r-th face outside i's person
        j = np.where(r < start[i], r, r + size[i])
    return _row_dist(lab.x, i, j)


def _pair_totals(lab: _Labelled) -> tuple[int, int]:
    m = len(lab.pid)
    same = int((lab.sizes * (lab.sizes - 1) // 2).sum())
    return same, m * (m - 1) // 2 - same


def _pairs(lab: _Labelled, max_pairs: int, seed: int) -> tuple[np.ndarray, np.ndarray, int, int]:
    """(same distances, different distances, same total, different total) as described in
    :func:`distance_distributions`."""
    if max_pairs < 1:
        raise InvalidParameterError(f"max_pairs={max_pairs} should be >= 1")
    rng = np.random.default_rng(seed)
    n_same, n_diff = _pair_totals(lab)
    m = len(lab.pid)
    same = _exact_pairs(lab, True) if n_same <= max_pairs else _sampled_pairs(lab, True, max_pairs, rng)
    if n_diff == 0:
        diff = np.empty(0, np.float32)
    elif m * (m - 1) // 2 <= max_pairs:
        diff = _exact_pairs(lab, False)
    else:
        diff = _sampled_pairs(lab, False, max_pairs, rng)
    return same, diff, n_same, n_diff


@dataclass(frozen=True)
class DistanceDistributions:
    """Histograms of same-person and different-person pair distances on shared bins.

    ``edges`` has len(bins) + 1 entries (0 to 1.2 by default); a distance at or
    above the last edge counts in the last bin. ``*_counts`` count the pairs
    measured; ``*_pairs`` is how many pairs of that kind the collection has and
    ``*_measured`` how many were measured (fewer when sampled).
    """

    edges: tuple[float, ...]
    same_counts: tuple[int, ...]
    different_counts: tuple[int, ...]
    same_pairs: int
    different_pairs: int
    same_measured: int
    different_measured: int
    faces: int
    persons: int

    @property
    def sampled(self) -> bool:
        """True when some kind of pair was sampled rather than measured in full."""
        return self.same_measured != self.same_pairs or self.different_measured != self.different_pairs


def _histogram(d: np.ndarray, edges: np.ndarray) -> tuple[int, ...]:
    clipped = np.minimum(d, np.nextafter(edges[-1], -np.inf))
    return tuple(int(c) for c in np.histogram(clipped, bins=edges)[0])


def distance_distributions(
    encodings: np.ndarray,
    persons: Sequence[str | None],
    edges: Sequence[float] = BIN_EDGES,
    max_pairs: int = MAX_PAIRS,
    seed: int = 0,
) -> DistanceDistributions:
    """Histogram the distances of same-person and different-person pairs.

    ``encodings`` is ``(n, 128)``; ``persons[i]`` names face i's person (its
    folder) or is None (that face is left out). Pairs are unordered, a face
    is never paired with itself. A kind of pair with at most ``max_pairs``
    pairs is measured in full; above that, ``max_pairs`` pairs of that kind
    are drawn uniformly at random (with replacement, seeded): each face is
    drawn with a weight equal to its number of partners of that kind, then a
    partner uniformly, so the work is O(max_pairs) at any size (different-person
    pairs are measured in full only while the collection has at most
    ``max_pairs`` pairs in all, about 2,450 faces at the default).
    """
    e = np.asarray(edges, dtype=np.float64)
    if e.ndim != 1 or len(e) < 2 or np.any(np.diff(e) <= 0):
        raise InvalidParameterError(f"edges must be at least two increasing distances, got {tuple(edges)}")
    lab = _labelled(encodings, persons)
    same, diff, n_same, n_diff = _pairs(lab, max_pairs, seed)
    return DistanceDistributions(
        edges=tuple(float(v) for v in e),
        same_counts=_histogram(same, e),
        different_counts=_histogram(diff, e),
        same_pairs=n_same,
        different_pairs=n_diff,
        same_measured=len(same),
        different_measured=len(diff),
        faces=len(lab.pid),
        persons=len(lab.names),
    )


# --------------------------------------------------------------------------- calibration


def _thresholds(thresholds: Sequence[float]) -> np.ndarray:
    t = np.asarray(thresholds, dtype=np.float64)
    if t.ndim != 1 or len(t) == 0 or np.any(np.diff(t) <= 0) or t[0] <= 0:
        raise InvalidParameterError("thresholds must be one or more increasing distances above 0")
    return t


def _below(values: np.ndarray, t: np.ndarray) -> np.ndarray:
    """How many ``values`` are strictly below each threshold of ``t`` (equal is not below)."""
    return np.searchsorted(np.sort(values), t, side="left")


def _nearest(lab: _Labelled, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each query row: distance to the nearest other face of its person and to the nearest
    face of anyone else, float32 ``(len(queries),)`` each (inf where there is none)."""
    x, pid = lab.x, lab.pid
    sq = np.einsum("ij,ij->i", x, x)
    near_same = np.empty(len(queries), np.float32)
    near_other = np.empty(len(queries), np.float32)
    step = _block_rows(len(x))
    for s in range(0, len(queries), step):
        q = queries[s : s + step]
        d = _dist(x[q], x, sq)
        d[np.arange(len(q)), q] = np.inf  # a face is not its own match
        same = pid[q][:, None] == pid[None, :]
        near_same[s : s + step] = np.where(same, d, np.inf).min(axis=1)
        near_other[s : s + step] = np.where(same, np.inf, d).min(axis=1)
    return near_same, near_other


def _curve(values: np.ndarray) -> tuple[float, ...]:
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
    lab = _labelled(encodings, persons)
    t = _thresholds(thresholds)
    if len(lab.names) < 2 or lab.sizes.max() < 2:
        raise NotEnoughFacesError(
            f"calibration needs two people and one of them with two faces; got {len(lab.names)} people "
            f"and {len(lab.pid)} named faces: name people by folder (DIR/<person>/*.jpg)"
        )
    same, diff, n_same, n_diff = _pairs(lab, max_pairs, seed)
    same_below = _below(same, t) * (n_same / len(same))
    diff_rate = _below(diff, t) / len(diff)
    closer = same_below + diff_rate * n_diff
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(closer > 0, same_below / closer, np.nan)
    queries = _queries(len(lab.pid), max_queries, np.random.default_rng(seed + 1))
    near_same, near_other = _nearest(lab, queries)
    has_mate = lab.sizes[lab.pid[queries]] >= 2
    return Calibration(
        thresholds=_curve(t),
        pair_precision=_curve(precision),
        pair_recall=_curve(same_below / n_same),
        different_pair_rate=_curve(diff_rate),
        stranger_rate=_curve(_below(near_other, t) / len(queries)),
        same_person_rate=_curve(_below(near_same[has_mate], t) / int(has_mate.sum())),
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


# --------------------------------------------------------------------------- collection size


def _nearest_by_person(lab: _Labelled) -> np.ndarray:
    """``(m, P)`` float32: distance from each face to the nearest face of each person
    (its own person: the nearest other face, inf when it has none). Memory m x P."""
    x, m = lab.x, len(lab.pid)
    sq = np.einsum("ij,ij->i", x, x)
    out = np.empty((m, len(lab.names)), np.float32)
    step = _block_rows(m)
    for r0 in range(0, m, step):
        r1 = min(m, r0 + step)
        d = _dist(x[r0:r1], x, sq)
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
    lab = _labelled(encodings, persons)
    t = _thresholds(thresholds)
    n_people = len(lab.names)
    if n_people < 2 or any(not 2 <= c <= n_people for c in person_counts):
        raise InvalidParameterError(f"person_counts={tuple(person_counts)} should be between 2 and {n_people}")
    near = _nearest_by_person(lab)
    _, diff, _, _ = _pairs(lab, MAX_PAIRS, seed)
    pair_rate = _below(diff, t) / len(diff)
    rng = np.random.default_rng(seed)
    out: list[SizeDraw] = []
    for count in person_counts:
        for draw in range(1 if count == n_people else draws):
            chosen = np.sort(rng.choice(n_people, count, replace=False))
            rows = np.flatnonzero(np.isin(lab.pid, chosen))
            sub = near[np.ix_(rows, chosen)]
            sub[np.arange(len(rows)), np.searchsorted(chosen, lab.pid[rows])] = np.inf  # own person removed
            rate = _below(sub.min(axis=1), t) / len(rows)
            ok = t[rate <= max_stranger_rate]
            out.append(
                SizeDraw(
                    persons=count,
                    faces=len(rows),
                    draw=draw,
                    thresholds=_curve(t),
                    stranger_rate=_curve(rate),
                    predicted_rate=_curve(predicted_stranger_rate(pair_rate, len(rows) - lab.sizes[lab.pid[rows]])),
                    recommended=float(ok[-1]) if len(ok) else None,
                )
            )
    return tuple(out)


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


# --------------------------------------------------------------------------- one query


@dataclass(frozen=True)
class Verdict:
    """Plain words for one query's ranked hits.

    ``matched`` are the indices of the hits strictly below ``threshold`` (in
    the order given); ``mixed`` is True when they belong to two people or more,
    with ``warning`` saying so ("" otherwise); ``meaning`` says what the
    threshold means on a labelled collection.
    """

    threshold: float
    matched: tuple[int, ...]
    headline: str
    mixed: bool
    warning: str
    meaning: str


def _fmt(threshold: float) -> str:
    """0.5 -> "0.50", 0.495 -> "0.495": the threshold shown as set, not rounded to 2 decimals."""
    text = f"{threshold:.3f}"
    return text[:-1] if text.endswith("0") else text


def _pct(share: float) -> str:
    return f"{100 * share:.1f} %"


def meaning(threshold: float, calibration: Calibration | None = None) -> str:
    """One sentence on what ``threshold`` means, measured on ``calibration``'s collection
    (default: :data:`SHARED_CALIBRATION`)."""
    cal = calibration if calibration is not None else SHARED_CALIBRATION
    t = _fmt(threshold)
    if not cal.thresholds[0] - 1e-9 <= threshold <= cal.thresholds[-1] + 1e-9:
        return (
            f"{t} was not measured on {cal.source} (measured {_fmt(cal.thresholds[0])} to {_fmt(cal.thresholds[-1])})."
        )
    p = cal.at(threshold)
    about = "" if p.measured else "about "
    if math.isnan(p.pair_precision):
        pairs = f"no two faces in {cal.source} are that close"
    else:
        pairs = f"{about}{_pct(p.pair_precision)} of face pairs in {cal.source} are the same person"
    return (
        f"Below {t}, {pairs}; a search for someone absent still finds a face this close "
        f"{about}{_pct(p.stranger_rate)} of the time, one for someone present finds them "
        f"{about}{_pct(p.same_person_rate)} of the time."
    )


def match_verdict(
    distances: Sequence[float] | np.ndarray,
    threshold: float,
    persons_of_hits: Sequence[str | int | None] | None = None,
    calibration: Calibration | None = None,
) -> Verdict:
    """Say whether one query's hits are likely the same person.

    ``distances`` ``(k,)`` are the query's distances to its hits (usually
    ranked, nearest first); a hit matches only when strictly below
    ``threshold``. ``persons_of_hits[i]`` names hit i's person (a folder name,
    or a person id from a people grouping; None: unknown), used to warn when
    the matches are of several people. ``calibration`` gives the measured
    meaning of the threshold for the loaded collection; without one the
    shared photos' numbers are quoted.
    """
    d = np.asarray(distances, dtype=np.float64).ravel()
    if not threshold > 0:
        raise InvalidParameterError(f"threshold={threshold} should be a distance above 0")
    if persons_of_hits is not None and len(persons_of_hits) != len(d):
        raise InvalidParameterError(f"persons_of_hits has {len(persons_of_hits)} entries for {len(d)} distances")
    matched = tuple(int(i) for i in np.flatnonzero(d < threshold))
    t = _fmt(threshold)
    if not matched:
        nearest = f"the nearest face is at {float(np.nanmin(d)):.2f}" if len(d) else "there is no other face"
        headline = f"No confident match in this collection ({nearest}; a match needs less than {t})"
    else:
        faces = "1 face" if len(matched) == 1 else f"{len(matched)} faces"
        headline = f"{faces} below {t}: likely the same person"
    people = [] if persons_of_hits is None else [persons_of_hits[i] for i in matched]
    distinct = list(dict.fromkeys(p for p in people if p is not None))
    warning = ""
    if len(distinct) > 1:
        named = ", ".join(str(p) for p in distinct[:5]) + (", ..." if len(distinct) > 5 else "")
        warning = (
            f"The faces below {t} belong to {len(distinct)} different people ({named}): "
            "at most one of them is this person, so check them one by one."
        )
        headline = f"{len(matched)} faces below {t}, but of {len(distinct)} different people"
    return Verdict(float(threshold), matched, headline, bool(warning), warning, meaning(threshold, calibration))
