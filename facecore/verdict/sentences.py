"""An honest "same person?" verdict for one query's ranked hits, in plain words.

dlib's 0.6 was tuned to verify ONE pair of faces. A search compares the query with every face of a
collection, so the chance that some stranger lands below a fixed threshold grows with the collection's
size: the verdict reads the threshold and what it means from a :class:`~.calibration.Calibration`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InvalidParameterError
from .calibration import SHARED_CALIBRATION, Calibration

# --------------------------------------------------------------------------- one query


#: A query face closer than this to a face of the set is "a copy of that photo" (Euclidean encoding distance).
#: Measured on the shared photos: JPEG re-saves (quality 95 and 70, 0.8x size) of 3 photos came back at
#: 0.013-0.105 from their original; two faces of different photos are that close for 0.1 % of the faces (0.052).
NEAR_COPY = 0.06


def hit_persons(
    faceset, rows: Sequence[int] | np.ndarray, labels: np.ndarray | None = None, person_labels: Sequence[str] = ()
) -> list | None:
    """Who each search hit is, for :func:`match_verdict`: one entry per row of ``rows`` (face rows of ``faceset``).

    With ``labels`` (a grouping's ``(n,)`` persons, ``-1`` unsorted: the People page's persons,
    corrections included) the person: ``person_labels[person]`` ("Nicola Boxer", "Person 12") when given,
    else its number; None for an unsorted face. Else the folder each photo is filed under, when the set's
    folders name people (looked up in its first 1,000 faces); else None (nobody is known).
    """
    rows = np.asarray(rows, np.int64)
    if labels is not None:
        people = np.asarray(labels)[rows]
        if len(person_labels):
            return [person_labels[int(p)] if p >= 0 else None for p in people]
        return [int(p) if p >= 0 else None for p in people]
    if not any(f.person for f in faceset.faces[:1000]):
        return None
    return [faceset.faces[int(i)].person for i in rows]


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


def copy_in_set(faceset, digest: str | None, distances, indices) -> tuple[str, bool] | None:
    """``(photo name, identical)`` when the query photo is already in ``faceset``: the same content digest
    (identical), or a hit closer than :data:`NEAR_COPY` (``distances``/``indices``: the query's ranked
    hits, nearest first); None otherwise."""
    if digest is not None:
        for face in faceset.faces:
            if face.digest == digest:
                return face.name, True
    if len(distances) and float(distances[0]) < NEAR_COPY:
        return faceset.faces[int(indices[0])].name, False
    return None


def _copy_words(copy: tuple[str, bool]) -> str:
    name, identical = copy
    return f"This photo is already in the collection as {name}" if identical else (
        f"A near-identical copy of this photo is in the collection ({name})")


def match_verdict(
    distances: Sequence[float] | np.ndarray,
    threshold: float,
    persons_of_hits: Sequence[str | int | None] | None = None,
    calibration: Calibration | None = None,
    person_faces: Mapping | None = None,
    copy: tuple[str, bool] | None = None,
) -> Verdict:
    """Say whether one query's hits are likely the same person.

    ``distances`` ``(k,)`` are the query's distances to its hits (usually
    ranked, nearest first); a hit matches only when strictly below
    ``threshold``. ``persons_of_hits[i]`` names hit i's person (a folder name,
    or a person from a people grouping; None: unknown), used to name the person
    ("likely Nicola Boxer (19 faces)", the count from ``person_faces[person]``)
    and to warn when the matches are of several people. ``copy`` (from
    :func:`copy_in_set`) says the photo itself is in the set. ``calibration`` gives the measured
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
    elif distinct and not isinstance(distinct[0], (int, np.integer)):
        size = (person_faces or {}).get(distinct[0])
        headline = headline.replace("the same person", f"{distinct[0]}" + (f" ({size} faces)" if size else ""))
    if copy is not None:
        headline = f"{_copy_words(copy)}. {headline}"
    return Verdict(float(threshold), matched, headline, bool(warning), warning, meaning(threshold, calibration))
