"""Whether a set's persons are quick to ask for, in a module of its own: a page that names or colours by person only
when persons are at hand (the Clusters page's scatter) finds out without importing the grouping (SciPy and the
People page's getters: 0.1-0.2 s of a fresh server's first page run)."""

from __future__ import annotations

from facecore import FaceSet
from pages._shared.cached import PEOPLE_AUTO_UP_TO

_grouped: set[str] = set()  # the sets whose persons have been computed in this server process


def mark_grouped(fs: FaceSet) -> None:
    """Record that the persons of ``fs`` have been computed in this server process."""
    _grouped.add(fs.key)


def people_ready(fs: FaceSet) -> bool:
    """True when asking for the persons of ``fs`` is quick: a small set, or one already grouped once (for the
    largest-face view: its every-face set, which the persons are made of)."""
    fs = fs.source if fs.source is not None else fs
    return len(fs) <= PEOPLE_AUTO_UP_TO or fs.key in _grouped
