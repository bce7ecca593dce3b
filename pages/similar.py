"""Similar faces: an honest "same person?" answer, the article's group search next to the exact ranking."""

from functools import partial

import numpy as np
import streamlit as st

from facecore import FaceCoreError, content_digest, copy_in_set, distances_to, find_similar, hit_persons, match_verdict
from pages._people.cached import people_for
from pages._people.ready import people_ready
from pages._shared.cached import PEOPLE_AUTO_UP_TO, crops, model_for, names_for
from pages._shared.frame import frame
from pages._shared.pictures import face_uris
from pages._shared.state import MIN_FACES, model_params, setting
from pages._shared.views import person_label
from pages._shared.widgets import CLUSTERS, PEOPLE, face_photo, require_loaded
from pages._similar.cached import QUALITY_QUERIES, distributions_for, set_measure, tuning_for
from pages._similar.charts import distance_figure, tuning_figure
from pages._similar.measuring import default_threshold, rerun_when_measured
from pages._similar.quality import quality_section
from pages._similar.query import dataset_query, upload_query
from pages._similar.tables import result_frame

DATASET_FACE, NEW_PHOTO = "A face of these photos", "A new photo"


def _tune(fs, top: int) -> None:
    """The button's action: K and nprobe for 95 % of the exact top, applied before the page is drawn again."""
    tuning = tuning_for(fs.key, top, fs)
    st.session_state.update(k=tuning.k, nprobe=tuning.nprobe, tuned=(fs.key, top))


frame("Similar faces")
st.title("Similar faces")
ds = require_loaded(MIN_FACES, article=True)  # the largest face of each photo, or every face
fs = ds.faceset
n = len(fs)
state = st.session_state
dims, k = model_params(n)
try:
    model = model_for(fs.key, dims, k, fs.encodings)
except FaceCoreError as exc:
    st.error(str(exc))
    st.stop()
names = names_for(fs.key, fs)
measured, calibration = set_measure(fs, "calibration")

# ----------------------------------------------------------------- query and settings
query_col, param_col = st.columns([1, 2], gap="large")
with param_col:
    setting("nprobe", 1, k)
    nprobe = st.slider(
        "Groups to search",
        1,
        k,
        key="nprobe",
        help="The article's shortcut searches only the group (K-means cluster) whose centre is nearest the "
        f"query: 1. More groups find more of the true nearest faces and cost more comparisons; {k} (all of "
        "them) is the exact search. Technical name: nprobe.",
    )
    top_hi = min(50, n - 1)
    setting("top", 1, top_hi)
    top = st.slider("Faces to show", 1, top_hi, key="top")
    default_threshold(fs, measured, calibration)
    setting("threshold", 0.30, 1.00)
    threshold = st.slider(
        "Same person below this distance",
        0.30,
        1.00,
        step=0.005,
        format="%.3f",
        key="threshold",
        help="Two faces closer than this count as the same person. The default is measured: "
        + (
            "on these photos' folders, the loosest distance at which at most 10 % of searches for someone "
            "absent still find a stranger."
            if calibration is not None
            else f"for a collection of {n:,} faces (stricter for larger ones, where close strangers are likelier)."
        )
        + " face_recognition's 0.6 is meant for comparing one pair, not for searching a collection.",
    )
    st.caption(f"Searching with PCA to {dims} dimensions (the {dims} main directions of each face's 128 numbers) "
               f"and K = {k} groups (K-means: look-alike faces sorted into {k} groups) over {n:,} faces.")
    st.page_link(CLUSTERS.path, label="Change the detail kept and the number of groups", icon=":material/tune:")
    if n >= 20:
        st.button("Pick the number of groups and groups to search for me", key="tune_search",
                  icon=":material/auto_fix_high:", on_click=_tune, args=(fs, top),
                  help="Tries several numbers of groups and of groups searched on these photos (every face as a "
                  "query) and keeps the cheapest that finds 95 % of the exact nearest faces.")  # fmt: skip

with query_col:
    source = st.radio("Query", [DATASET_FACE, NEW_PHOTO], key="query_source", horizontal=True)
    if source == DATASET_FACE:  # "query_face" may have been set by a click in the Clusters scatter or a result
        query_vec, query = dataset_query(ds, fs, model, names, state)
    else:
        query_vec, query = upload_query(ds)
        upload_digest = content_digest(st.session_state["query_upload"].getvalue())  # is the photo in the set?

try:
    result = find_similar(model, nprobe=nprobe, top=top, **query)
except FaceCoreError as exc:
    st.error(str(exc))
    st.stop()
mates, exact = result.mates, result.exact

if state.get("tuned") == (fs.key, top):
    tuning = tuning_for(fs.key, top, fs)
    with st.expander(f"Chosen: {tuning.k} groups, {tuning.nprobe} searched: {tuning.recall:.1%} of the exact "
                     f"top {tuning.top} kept at {tuning.comparisons:,.0f} comparisons (exact: "
                     f"{tuning.exact_comparisons:,})", expanded=True):  # fmt: skip
        st.plotly_chart(tuning_figure(tuning), key="tuning", config={"displaylogo": False})
        st.caption(
            f"Measured with {tuning.queries:,} of these faces as queries. The article's default (10 groups, one "
            "searched) is marked ×; move the sliders to go back to it."
        )

# ----------------------------------------------------------------- the answer
grouping, person_names = people_for(fs, setting("people_threshold", 0.3, 0.7)) if people_ready(fs) else (None, ())
# the People page's persons (corrections included); a large set not grouped into persons yet: the folders
persons = hit_persons(fs, exact.indices, None if grouping is None else grouping.labels, person_names)
sizes = {} if grouping is None else dict(zip(person_names, grouping.sizes.tolist(), strict=True))
# an uploaded photo: is it already in the set?
copy = None if source == DATASET_FACE else copy_in_set(fs, upload_digest, exact.distances, exact.indices)
answer = match_verdict(exact.distances, threshold, persons, calibration, person_faces=sizes, copy=copy)
st.subheader("Same person?", divider="gray")
if "row" in query and grouping is not None:
    own = int(grouping.labels[query["row"]])
    who = (f"This face belongs to **{person_label(own, person_names)}** ({grouping.sizes[own]:,} faces)"
           if own >= 0 else "This face is not sorted into any person")  # fmt: skip
    st.markdown(who + " on the People page.")
    st.page_link(PEOPLE.path, label="See and correct the people", icon=":material/groups:")
shout = st.warning if answer.mixed else st.success if answer.matched else st.info
shout(answer.headline + ".", icon=":material/warning:" if answer.mixed else None)
if answer.warning:
    st.caption(answer.warning)
st.caption(answer.meaning)
dist = distributions_for(fs) if measured else None
if not measured:
    rerun_when_measured(fs)
if dist is not None and not dist.same_pairs + dist.different_pairs:  # no person folders: no pair is known
    st.caption("These photos are not sorted into folders named after people, so how far apart one person's faces "
               "are cannot be measured on them: the sentence above uses the shared photos' measurements.")
elif dist is not None:
    nearest = float(exact.distances[0]) if len(exact.distances) else None
    st.plotly_chart(distance_figure(dist, threshold, nearest), key="distances", config={"displaylogo": False})
    st.caption(
        f"How far apart two faces of one person (green) and of two people (red) are in these photos "
        f"({dist.same_pairs:,} and {dist.different_pairs:,} pairs{', sampled' if dist.sampled else ''}); "
        "the dashed line is the threshold, the blue one this query's nearest face."
    )

# ----------------------------------------------------------------- what the shortcut cost
st.subheader("What the article's shortcut cost", divider="gray")
c1, c2, c3, c4 = st.columns(4)
probed = ", ".join(str(c) for c in mates.clusters)
every = nprobe == k
c1.metric("Group searched" if nprobe == 1 else "Groups searched", "all" if every else probed)
saved = "all groups: the same as exact" if every else f"{result.comparisons_saved / exact.comparisons:.0%} fewer"
c2.metric(
    "Comparisons",
    f"{mates.comparisons:,}",
    saved,
    delta_color="off",
    delta_arrow="off",
    help=f"{k} group centres + {mates.scanned:,} faces of the searched group(s)",
)
c3.metric("Exact search", f"{exact.comparisons:,}", help="The exact ranking compares the query with every face.")
c4.metric("Exact top found", f"{len(exact.indices) - result.missed} of {len(exact.indices)}",
          help="How many of the exact nearest faces the group search also returned (recall).")  # fmt: skip


# ----------------------------------------------------------------- results
def _pick(table_key: str, rows: np.ndarray) -> None:
    """A row clicked in a result table: that face becomes the query."""
    picked = st.session_state[table_key].selection.rows
    if picked:
        st.session_state.update(query_face=int(rows[picked[0]]), query_source=DATASET_FACE)


def result_block(title: str, note: str, rows: np.ndarray, distances: np.ndarray, key: str) -> None:
    st.markdown(f"**{title}**")
    st.caption(f"{note} ✓ = below {threshold:.3g}. Click a row to search with that face.")
    table_key = f"{key}_table_{state.get('query_face')}_{source}"  # a new query starts with no row selected
    people = None if grouping is None else [person_label(int(grouping.labels[r]), person_names) for r in rows]
    table = result_frame(fs, rows, distances, threshold, names, face_uris(crops(fs, rows)), people)
    st.dataframe(
        table, hide_index=True, key=table_key, on_select=partial(_pick, table_key, rows),
        selection_mode="single-row", row_height=64,
        column_config={"face": st.column_config.ImageColumn("face", width="small")},
    )  # fmt: skip
    st.download_button(f"{title} (CSV)", table.drop(columns="face").to_csv(index=False), f"{key}.csv", "text/csv",
                       key=f"dl_{key}", icon=":material/download:")  # fmt: skip


mates_col, exact_col = st.columns(2, gap="large")
with mates_col:
    where = "every group" if every else f"group {probed}"
    result_block("Group mates", f"Faces in the same group as the query, the article's shortcut: searched only "
                 f"{where} ({mates.scanned:,} faces).", mates.indices,
                 mates.distances, "mates")  # fmt: skip
with exact_col:
    result_block("Exact ranking over all faces", f"Compared with all {exact.comparisons:,} faces.", exact.indices,
                 exact.distances, "exact")  # fmt: skip
face_photo(ds, exact.indices, [names[r] for r in exact.indices], f"result_photo_{state.get('query_face')}_{source}",
           "A result's whole photo, its face boxed")  # fmt: skip
far = result.farthest[:top]
result_block(
    f"Farthest group ({result.farthest_cluster})",
    f"The group whose centre is farthest from the query ({len(result.farthest):,} faces); its nearest shown.",
    far,
    distances_to(model, query_vec, far),
    "farthest",
)

if n <= PEOPLE_AUTO_UP_TO or state.get("quality_for") == fs.key:
    quality_section(fs, model, nprobe)
else:  # tens of seconds at 10^5 faces: on request
    st.subheader("Over every face: how often the nearest are the same person", divider="gray")
    st.button(f"Measure it on {QUALITY_QUERIES:,} of the {n:,} faces", key="measure_quality",
              on_click=state.update, kwargs={"quality_for": fs.key}, icon=":material/query_stats:")  # fmt: skip
