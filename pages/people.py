"""People: the faces grouped into persons without choosing K; name, merge, split and move them; export."""

import numpy as np
import streamlit as st

from facecore import THRESHOLD_RANGE, FaceCoreError, score_labels
from pages._people.cached import kmeans_scores_for, people_state, people_sweep_for, person_views
from pages._people.corrections import (
    history,
    label_size,
    merge_form,
    move_form,
    notices_and_undo,
    rename_form,
    split_form,
)
from pages._people.panels import low_quality, person_downloads, quality, suggestions
from pages._people.tables import people_frame
from pages._shared.cached import PEOPLE_AUTO_UP_TO
from pages._shared.frame import frame
from pages._shared.state import MIN_FACES, model_params, setting
from pages._shared.views import face_label
from pages._shared.widgets import CLUSTERS, face_photo, gallery, require_loaded

#: Persons in a page of the gallery; faces shown of one person and of the unsorted ones.
GALLERY_PERSONS, PERSON_FACES, UNSORTED_FACES = 48, 200, 120

frame("People")
st.title("People")
ds = require_loaded(MIN_FACES)
fs = ds.faceset
state = st.session_state
st.caption(
    "A **person** here is a group of faces the app believes show the same human: faces that are very close "
    "join first, then groups join when their faces are close on average, and two faces of one photo never "
    "join. Nobody chooses how many people there are; that comes out of the photos. Faces that fit nobody "
    "stay *unsorted*. Nobody has a name until you give one; your names and fixes are saved and come back "
    "after a reload and at any strictness."
)

# ----------------------------------------------------------------- strictness and the persons
lo, hi = THRESHOLD_RANGE
setting("people_threshold", lo, hi)
threshold = st.slider(
    "How strict: faces must be this close to join a person",
    lo,
    hi,
    step=0.01,
    format="%.2f",
    key="people_threshold",
    help="Lower is stricter: more, smaller persons, and fewer strangers put together. Higher is looser: fewer, "
    "larger persons, and look-alikes merged. Technically: the largest average (root mean square) Euclidean "
    "distance between the 128-number encodings of two groups that still joins them; Chinese whispers first "
    "links faces closer than this minus 0.1. The chart at the bottom shows where it works best on these photos.",
)
try:
    persons = people_state(fs, threshold)  # every person with its stable id ("Person 12"), corrections applied
except FaceCoreError as exc:  # e.g. corrections that contradict each other: undo one
    st.error(str(exc))
    notices_and_undo(fs)
    st.stop()
grouping, names, ids = persons.grouping, persons.names, [int(p) for p in persons.ids]
n_persons = grouping.n_persons
views = person_views(fs, threshold, persons)  # made once per state of the corrections, shared by sessions
order, reps = views.order, views.reps
notices_and_undo(fs)

m1, m2, m3, m4 = st.columns(4)
m1.metric("Persons", f"{n_persons:,}", help="Groups of two faces or more (or named).")
m2.metric("Faces in a person", f"{len(fs) - len(grouping.unsorted):,}")
m3.metric("Unsorted faces", f"{len(grouping.unsorted):,}", help="Faces that matched nobody closely enough, and "
          f"{len(grouping.low_quality):,} below the quality bar, which join nobody until you move them.")
m4.metric("Named", f"{sum(n is not None for n in names):,}")

st.subheader("Persons, largest first", divider="gray")
if n_persons == 0:
    st.info("No two faces are close enough at this strictness: move the slider to the right.", icon=":material/tune:")
else:
    pages = (n_persons - 1) // GALLERY_PERSONS + 1  # a page of persons at a time: 10^5 faces make thousands
    if not 1 <= state.get("people_page", 1) <= pages:  # fewer persons now (another strictness, a merge)
        state["people_page"] = 1
    page = st.number_input(f"Page (of {pages:,})", 1, pages, key="people_page", width=180) if pages > 1 else 1
    shown = range((page - 1) * GALLERY_PERSONS, min(n_persons, page * GALLERY_PERSONS))
    sizes = grouping.sizes
    st.caption((f"Persons {shown[0] + 1:,}–{shown[-1] + 1:,} of {n_persons:,}. " if pages > 1 else "")
               + "Each picture is the person's most typical face (the one nearest the middle of their faces).")
    gallery(fs, reps[list(shown)], [f"{persons.label(p)} · {sizes[p]}" for p in shown], width=96)

# ----------------------------------------------------------------- one person
if n_persons:
    st.subheader("One person", divider="gray")
    if state.get("people_person") not in set(ids):  # by id: the same person after any correction
        state["people_person"] = ids[0]
    person_id = st.selectbox("Person", ids, key="people_person", format_func=label_size(persons),
                             filter_mode="contains")  # fmt: skip
    person = persons.index(person_id)
    rows = order[grouping.labels[order] == person]  # most typical first
    label = persons.label(person)
    faces_col, act_col = st.columns([3, 2], gap="large")
    with faces_col:
        st.caption(f"{label}: {len(rows)} faces, most typical first"
                   + (f" ({PERSON_FACES} shown)" if len(rows) > PERSON_FACES else "") + ".")  # fmt: skip
        gallery(fs, rows[:PERSON_FACES], [f"{i + 1} · {fs.faces[r].name.rsplit('/', 1)[-1]}"
                                          for i, r in enumerate(rows[:PERSON_FACES])], width=88)  # fmt: skip
        face_photo(ds, rows[:PERSON_FACES], [f"{i + 1} · {face_label(fs.faces[r])}" for i, r in
                                             enumerate(rows[:PERSON_FACES])], f"people_photo_{person_id}")  # fmt: skip
        photos = people_frame(fs, grouping.labels, names, ids, rows)
        with st.expander(f"The photos they come from ({photos['photo'].nunique()})", key="people_photos"):
            st.dataframe(photos[["photo", "face", "top", "right", "bottom", "left"]], hide_index=True)
            st.caption("face: 0 is the largest face of its photo; the box is in pixels of the photo.")
        person_downloads(ds, rows, label)
    with act_col:
        tab_name, tab_merge, tab_split, tab_move = st.tabs(["Name", "Merge", "Split", "Move faces"], key="people_tab")
        with tab_name:
            rename_form(fs, persons, person_id)
        with tab_merge:
            merge_form(fs, persons, reps, person_id)
        with tab_split:
            split_form(fs, persons, person_id)
        with tab_move:
            st.caption("Faces that are someone else: move them to another person, to a new person, or out.")
            move_form(fs, persons, reps, rows, "people", person_id)

    st.subheader("These may be the same person", divider="gray")
    st.caption("The closest pairs of persons that did not join, closest first (measured over all their faces).")
    suggestions(fs, persons, reps, views.pairs)

# ----------------------------------------------------------------- unsorted
unsorted = np.setdiff1d(grouping.unsorted, grouping.low_quality)  # the low-quality ones have a section of their own
st.subheader(f"Unsorted faces ({len(unsorted):,})", divider="gray")
if len(unsorted):
    st.caption("Faces that matched nobody closely enough: people seen once, or faces the grouping was unsure of.")
    gallery(fs, unsorted[:UNSORTED_FACES], [f"{i + 1} · {fs.faces[r].name.rsplit('/', 1)[-1]}"
                                            for i, r in enumerate(unsorted[:UNSORTED_FACES])], width=72)  # fmt: skip
    if n_persons:
        with st.expander("Put unsorted faces in a person", key="people_unsorted_box"):
            move_form(fs, persons, reps, unsorted[:UNSORTED_FACES], "people_unsorted", -1)
else:
    st.caption("Every face is in a person" + (" or below the quality bar." if len(grouping.low_quality) else "."))
low_quality(fs, persons, reps, UNSORTED_FACES)

# ----------------------------------------------------------------- quality and export
st.subheader("How good is this grouping?", divider="gray")
dims, k = model_params(len(fs))
if len(fs) <= PEOPLE_AUTO_UP_TO or state.get("people_sweep_for") == fs.key:
    known = people_sweep_for(fs.key, fs)
    quality(
        score_labels(fs.persons, grouping.labels) if known else None,
        known,
        kmeans_scores_for(fs.key, dims, k, fs) if known else None,
        k,
        threshold,
    )
else:  # every strictness regroups every face: minutes at 10^5 faces, so on request
    st.button(f"Measure it against the folders at every strictness ({len(fs):,} faces: a few minutes)",
              key="people_measure", on_click=state.update, kwargs={"people_sweep_for": fs.key},
              icon=":material/query_stats:")  # fmt: skip
st.page_link(CLUSTERS.path, label="The Clusters page groups by look, not by person", icon=":material/bubble_chart:")
history(fs)

st.subheader("Export", divider="gray")
st.download_button(
    "All persons (CSV)",
    lambda: people_frame(fs, grouping.labels, names, ids).to_csv(index=False),
    f"persons_{threshold:.2f}.csv",
    "text/csv",
    key="dl_people_csv",
    icon=":material/table:",
    help="One row per face: person number (as on this page; empty when unsorted), name, photo, face number, face box "
    "(top, right, bottom, left in pixels).",
)
