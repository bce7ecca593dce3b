"""What the Clusters page's scatter shows: the layout (the similarity map or the article's PCA axes), 2-D or
3-D, which faces are drawn, the colours and each face's person for the face card. Widgets only: the map comes
from facecore through :mod:`pages._clusters.maps`, the centres' places from :func:`facecore.centre_places`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from facecore import SimilarityModel, centre_places, drawn_rows, person_ids
from facecore import settings as S
from pages._clusters.maps import MAP_3D_UP_TO, map_job, map_progress
from pages._people.ready import people_ready
from pages._shared.state import setting
from pages._shared.views import person_label

MAP, PCA_AXES = "map", "pca"
VIEWS = {MAP: "Faces that look alike lie together", PCA_AXES: "PCA axes, as in the article"}
BY_GROUP, BY_FOLDER, BY_PERSON = "group", "folder", "person"


@dataclass
class Shown:
    """The scatter as drawn: ``xyz`` ``(n, 2|3)`` where each face is, ``centres`` ``(k, 2|3)`` where each group's
    centre is, ``axes`` the axis titles (None on the map: its axes mean nothing), ``rows`` the drawn faces (None:
    all), ``colors``/``color_names``/``no_color`` the colouring (None: by group), ``persons`` each face's person
    number and ``person_names`` their names, for the face card (None: persons not grouped yet)."""

    xyz: np.ndarray
    centres: np.ndarray
    axes: tuple[str, ...] | None
    three_d: bool
    on_map: bool
    rows: np.ndarray | None = None
    colors: np.ndarray | None = None
    color_names: tuple[str, ...] | list[str] = ()
    no_color: str = "no folder"
    persons: np.ndarray | None = None
    person_names: list[str] | None = None


def _layout(fs, model: SimilarityModel, dims: int, view: str, three_d: bool) -> Shown:
    """The places of the faces and centres in the chosen view; the map's progress line while it is computed."""
    width = 3 if three_d else 2
    if view == MAP:
        job = map_job(fs, width)
        if job.points is not None:
            centres = centre_places(job.points, model.reduced, model.labels, model.centroids)
            return Shown(job.points, centres, None, three_d, True)
        if job.running:
            map_progress(job)
        else:
            st.warning(job.error or "The map could not be computed; the PCA axes are shown.")
    if width > dims:
        width, three_d = 2, False  # the map's 3-D was asked for, the PCA axes have fewer than 3 dimensions
    return Shown(model.reduced[:, :width], model.centroids[:, :width], ("PC1", "PC2", "PC3"), three_d, False)


def scatter_options(fs, model: SimilarityModel, dims: int) -> Shown:
    """The scatter's widgets (layout, 3-D, draw all, colour by) and what they make the chart show."""
    n = len(fs)
    view = st.radio("Layout", [MAP, PCA_AXES], key="scatter_view", horizontal=True, format_func=VIEWS.get,
                    help="The map (t-SNE) puts each face near the faces most like it: of each face's 10 most "
                    "similar faces, about 8 lie around it on the map, against about 1 on the PCA axes. The PCA "
                    "axes are the article's picture: the two directions in which the faces' numbers vary most "
                    "(principal components). Groups, search and the sliders are the same in both.")  # fmt: skip
    opt1, opt2 = st.columns(2)
    can_3d = n <= MAP_3D_UP_TO if view == MAP else dims >= 3
    three_d = can_3d and opt1.toggle("3-D view", key="scatter_3d", disabled=not can_3d,
                                     help="The map laid out in three dimensions, or the first three principal "
                                     f"components (the map's 3-D is offered up to {MAP_3D_UP_TO:,} faces: "
                                     "slower to compute).")  # fmt: skip
    sample = n > S.CHART_DRAW_AT_MOST and not opt1.toggle(
        f"Draw all {n:,} faces", key="draw_all", help="Slower: the browser redraws every point after each change."
    )
    color_by = opt2.radio("Colour by", [BY_GROUP, BY_PERSON, BY_FOLDER], key="color_by", horizontal=True,
                          format_func={BY_GROUP: "group", BY_PERSON: "person (People page)",
                                       BY_FOLDER: "folder"}.get)  # fmt: skip
    shown = _layout(fs, model, dims, view, three_d)
    if people_ready(fs) or color_by == BY_PERSON:  # grouped already, or asked for: the card names the person
        from pages._people.cached import people_for  # the grouping's modules, only when persons are shown

        grouping, names = people_for(fs, setting("people_threshold", 0.3, 0.7))
        shown.persons = grouping.labels
        shown.person_names = [person_label(p, names) for p in range(grouping.n_persons)]
    if color_by == BY_FOLDER:
        shown.colors, shown.color_names = person_ids(fs.persons)
    elif color_by == BY_PERSON:
        shown.colors, shown.color_names, shown.no_color = shown.persons, shown.person_names, "Unsorted"
    if sample:  # the session's first drawing of this set is lighter; any rerun draws the rest (a superset)
        first = st.session_state.get("scatter_drawn_for") != fs.key
        st.session_state["scatter_drawn_for"] = fs.key
        st.session_state["scatter_first_drawing"] = first and S.CHART_FIRST_DRAW_AT_MOST < S.CHART_DRAW_AT_MOST
        at_most = min(S.CHART_FIRST_DRAW_AT_MOST, S.CHART_DRAW_AT_MOST) if first else S.CHART_DRAW_AT_MOST
        shown.rows = drawn_rows(model.labels if shown.colors is None else shown.colors, at_most)
    return shown
