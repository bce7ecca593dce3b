"""The People page's cached getters: the neighbour graph, the persons at a strictness with the stored
corrections applied, the strictness sweep and K-means scores for comparison. One entry per set, shared by sessions.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np
import streamlit as st

from facecore import (
    THRESHOLD_RANGE,
    FaceSet,
    Grouping,
    MergeSuggestion,
    NeighbourGraph,
    Persons,
    Scores,
    SweepPoint,
    apart_rows,
    list_corrections,
    neighbour_graph,
    persons_for,
    photo_ids,
    representatives,
    score_labels,
    suggest_merges,
    threshold_sweep,
    typical_first,
)
from facecore import settings as S
from pages._people.ready import mark_grouped
from pages._shared.cached import _store, derived, model_for, store

#: Pairs of persons suggested for a merge.
SUGGESTIONS = 5


@dataclass(frozen=True, eq=False)
class PersonViews:
    """``order`` ``(n,)`` face rows, each person's most typical face first (persons largest first); ``reps``
    ``(n_persons,)`` each person's most typical face; ``pairs`` the persons that may be one, closest first."""

    order: np.ndarray
    reps: np.ndarray
    pairs: tuple[MergeSuggestion, ...]


#: Strictness values of the People page's "where to set the slider" chart.
SWEEP_THRESHOLDS = tuple(round(0.3 + 0.025 * i, 3) for i in range(17))  # 0.30 … 0.70


def corrections_version(fs: FaceSet) -> tuple[tuple[int, float], ...]:
    """``(id, time)`` of every correction stored for ``fs``'s encoder settings: changes with each correction
    and undo, so the cached persons below are recomputed exactly when the corrections change."""
    return tuple((a.id, a.created) for a in list_corrections(store(), fs.settings_key))


@derived
@st.cache_resource(max_entries=4, show_spinner="Measuring which faces are close to each other…")
def graph_for(key: str, _encodings: np.ndarray) -> NeighbourGraph:
    """The neighbour graph of the set ``key`` at the loosest threshold: built once, every regrouping filters it."""
    return neighbour_graph(_encodings, THRESHOLD_RANGE[1])


@derived
@st.cache_resource(max_entries=64, show_spinner=False)
def _people(key: str, threshold: float, cache_path: str, version: tuple, _fs: FaceSet) -> Persons:
    # The grouping under the corrections is kept in the cache file (facecore.kept_grouping): the neighbour
    # graph is built only when it is not (10-20 s at 10^5 faces), once per set, and serves every strictness.
    return persons_for(_store(cache_path), _fs, threshold, graph=lambda: graph_for(key, _fs.encodings),
                       radius=THRESHOLD_RANGE[1])  # fmt: skip


@derived
@st.cache_resource(max_entries=16, show_spinner=False)
def _views(key: str, threshold: float, version: tuple, _persons: Persons, _fs: FaceSet) -> PersonViews:
    labels = _persons.grouping.labels
    pairs = suggest_merges(_fs.encodings, _persons.grouping, photo_ids(_fs), apart_rows(_persons), top=SUGGESTIONS)
    return PersonViews(typical_first(_fs.encodings, labels), representatives(_fs.encodings, labels,
                       _persons.n_persons), pairs)  # fmt: skip


def person_views(fs: FaceSet, threshold: float, persons: Persons) -> PersonViews:
    """What the People page draws from ``persons`` (the persons of ``fs`` at ``threshold``), made once per
    state of the corrections and shared by sessions (at 10^5 faces the suggestions alone took 0.4 s a run)."""
    return _views(fs.key, round(float(threshold), 3), corrections_version(fs), persons, fs)


def people_state(fs: FaceSet, threshold: float) -> Persons:
    """The persons of ``fs`` at ``threshold`` with their stable ids and every stored correction applied."""
    found = _people(fs.key, round(float(threshold), 3), str(store().path), corrections_version(fs), fs)
    mark_grouped(fs)
    return found


@dataclass(frozen=True, eq=False)
class SeenFrom(Grouping):
    """The People page's persons seen from the largest-face view: ``labels`` of the view's rows; ``sizes`` (and
    so ``n_persons``) those of the People page, where every face counts."""

    people_sizes: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    @property
    def n_persons(self) -> int:
        return len(self.people_sizes)

    @property
    def sizes(self) -> np.ndarray:
        return self.people_sizes


def people_for(fs: FaceSet, threshold: float = S.PEOPLE_THRESHOLD) -> tuple[Grouping, tuple[str | None, ...]]:
    """The persons of ``fs`` at ``threshold``, with every correction stored in the cache file applied.

    For the largest-face view (``fs.source`` set), the persons are those of every face, the People page's:
    the view's faces carry their person's label, and sizes count every face.
    ``threshold`` is the People page's strictness, 0.3-0.7 (its session value:
    ``pages._shared.state.setting("people_threshold")``). Returns ``(grouping, names)``:
    ``grouping.labels[row]`` is the person of face ``row`` (0 = the largest
    person, -1 = unsorted), ``names[person]`` how it is shown: its name, or
    "Person 7" by its stable id (the People page's, the CSV's and the CLI's); show a person
    with ``pages._shared.views.person_label(person, names)``.
    Fast: the neighbour graph is built once per set and a regrouping takes
    ~0.05 s at 2,338 faces; the result is cached until a correction or an undo.
    Raises ``FaceCoreError`` (e.g. a threshold outside 0.3-0.7).
    """
    if fs.source is not None:  # the largest-face view: the persons of every face (the People page's), seen from it
        grouping, names = people_for(fs.source, threshold)
        return SeenFrom(**{f.name: getattr(grouping, f.name) for f in fields(grouping)} | {
            "labels": grouping.labels[fs.source_rows], "people_sizes": grouping.sizes}), names
    persons = people_state(fs, threshold)
    return persons.grouping, tuple(persons.label(i) for i in range(persons.n_persons))


def names_people(fs: FaceSet) -> bool:
    """True when the set's folders look like people's names: at least two folders with a face each."""
    return len({p for p in fs.persons if p is not None}) >= 2


@derived
@st.cache_data(max_entries=8, show_spinner="Trying every strictness on these photos…")
def people_sweep_for(key: str, _fs: FaceSet) -> tuple[SweepPoint, ...] | None:
    """Persons found and their match with the folders at each of :data:`SWEEP_THRESHOLDS` (no corrections);
    None when the folders do not name people."""
    if not names_people(_fs):
        return None
    return threshold_sweep(_fs.encodings, photo_ids(_fs), _fs.persons, SWEEP_THRESHOLDS)


@derived
@st.cache_data(max_entries=16, show_spinner="Grouping the faces…")
def kmeans_scores_for(key: str, dims: int, k: int, _fs: FaceSet) -> Scores | None:
    """How well the Clusters page's K-means groups (``dims``, ``k``) match the folders; None without named people."""
    if not names_people(_fs):
        return None
    return score_labels(_fs.persons, model_for(key, dims, k, _fs.encodings).labels)
