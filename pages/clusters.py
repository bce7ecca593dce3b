"""Clusters: the article's method step by step: PCA of the encodings, K-means groups, the scatter of the faces."""

import streamlit as st

from facecore import FaceCoreError, dims_for_variance, explained_variance, faces_in_regions, members_by_centroid
from facecore import settings as S
from pages._clusters.cached import HOVER_ALL_UP_TO, cluster_table_for, k_hint_for, variance_figure_for
from pages._clusters.charts import scatter_figure, silhouette_figure, sizes_figure
from pages._clusters.explain import how_it_works
from pages._clusters.hover import hover_faces
from pages._clusters.scatter import scatter_options
from pages._clusters.tables import clusters_frame, hover_texts, point_row, selection_frame
from pages._shared.cached import crops, model_for
from pages._shared.frame import frame
from pages._shared.state import MIN_FACES, dims_range, k_range, setting
from pages._shared.views import captions
from pages._shared.widgets import SIMILAR, download_faces, gallery, require_loaded
from pages._similar.cached import measure_soon

TYPICAL, LEAST_TYPICAL = 40, 10

frame("Clusters")
st.title("Groups of look-alike faces")
ds = require_loaded(MIN_FACES, article=True)  # the largest face of each photo, or every face
fs = ds.faceset
n = len(fs)
state = st.session_state

# ----------------------------------------------------------------- settings
dims_lo, dims_hi = dims_range(n)
k_lo, k_hi = k_range(n)
setting("dims", dims_lo, dims_hi)  # within what this set allows, before the sliders are drawn
setting("k", k_lo, k_hi)
left, right = st.columns(2)
dims = left.slider(
    "Detail kept (numbers per face)",
    dims_lo,
    dims_hi,
    key="dims",
    help="PCA (principal component analysis) dimensions: how many of the 128 numbers' main directions the "
    "grouping and the group search "
    "use. The article keeps 20. The chart below shows how much of the variation each one carries.",
)
k = right.slider(
    "Number of groups",
    k_lo,
    k_hi,
    key="k",
    help="K, the number of K-means clusters (K-means: each face joins the group whose centre, or centroid, "
    "is nearest, and the centres move until the groups settle; the article uses 10). More groups: fewer "
    "comparisons per search, "
    "more true neighbours missed.",
)
try:
    model = model_for(fs.key, dims, k, fs.encodings)
except FaceCoreError as exc:
    st.error(str(exc))
    st.stop()
ratio, cumulative = explained_variance(model.pca)
how_it_works(fs, model, float(cumulative[dims - 1]))

# ----------------------------------------------------------------- scatter + picked face
plot_col, face_col = st.columns([4, 1])
with plot_col:
    shown = scatter_options(fs, model, dims)
    query = state.get("query_face")
    query = query if isinstance(query, int) and 0 <= query < n else None
    fig = scatter_figure(shown.xyz, model.labels, shown.centres, None, shown.three_d, query, hover_pictures=True,
                         colors=shown.colors, color_names=shown.color_names, no_color_name=shown.no_color,
                         rows=shown.rows, axes=shown.axes, persons=shown.persons)  # fmt: skip
    event = st.plotly_chart(fig, key="scatter", on_select="rerun", selection_mode=("points", "box", "lasso"),
                            config={"displaylogo": False})  # fmt: skip
    hover_faces("scatter", fs, shown.xyz[:, :2], shown.rows, shown.person_names)
    region = bool(event.selection.box or event.selection.lasso)
    if region:  # every face inside, drawn or not, at the places the chart shows
        chosen = faces_in_regions(shown.xyz[:, :2], event.selection.box, event.selection.lasso).tolist()
    else:
        chosen = sorted({r for r in (point_row(p.get("customdata")) for p in event.selection.points) if r is not None})
    if len(chosen) == 1 and not region and chosen[0] != state.get("scatter_last_pick"):
        state["scatter_last_pick"] = state["query_face"] = chosen[0]
        st.rerun()  # draw the star and the side panel for the new query
    if shown.rows is not None:
        more = " (more after your first change)" if state.get("scatter_first_drawing") else ""
        st.caption(f"The chart draws {len(shown.rows):,} of the {n:,} faces, the same share of every group, so it "
                   f"redraws quickly{more}; the legend counts every face, and groups, search, boxes and lassos use all "
                   "of them.")  # fmt: skip
    st.caption(
        ("On this map, faces that look alike lie together: nearby points are similar faces (the axes have no "
         "units). " if shown.on_map else "PC1 and PC2: the two directions in which the faces' numbers vary most. ")
        + "Hover a point to see the face, its file, folder, group and person"
        + (" (each face's picture comes when the mouse rests on it)" if n > HOVER_ALL_UP_TO else "")
        + "; click one to make it the query of the Similar faces page, or draw a box or a lasso (toolbar, "
        "top right) to pick many. Hollow circles are the group centres (centroids: on the map, at the group's most "
        "typical face)."
    )
with face_col:
    st.markdown("**Query face**")
    if query is None:
        st.caption("Click a point in the scatter to pick a face.")
    else:
        face = fs.faces[query]
        st.image(crops(fs, [query])[0], width=140)
        person = -1 if shown.persons is None else int(shown.persons[query])
        who = f"  \nperson: {shown.person_names[person]}" if person >= 0 else ""
        st.caption(f"`{face.name}`  \nfolder: {face.person or '-'}  \ngroup: {int(model.labels[query])}{who}")
        st.page_link(SIMILAR.path, label="Find similar faces", icon=":material/person_search:")

if region and chosen:
    with st.container(border=True):
        st.markdown(f"**{len(chosen):,} faces selected**")
        gallery(fs, chosen[:120], captions(fs, chosen[:120]), width=72)
        download_faces(fs, chosen, selection_frame(fs, chosen, model.labels), "selected_faces", key="dl_selection")

# ----------------------------------------------------------------- variance and sizes
var_col, size_col = st.columns(2)
with var_col:
    st.subheader("How much each direction carries")
    st.plotly_chart(variance_figure_for(fs.key, dims, model.pca), key="variance", config={"displaylogo": False})
    st.caption(
        f"Explained variance (the article's contribution rate): how much of the differences between faces each "
        f"direction (principal component, PC) carries. The first {dims} keep {cumulative[dims - 1]:.0%} of the "
        f"variation of the encodings (each face's 128 numbers); 90 % needs "
        f"{dims_for_variance(model.pca, 0.9)}."
    )
with size_col:
    st.subheader("Group sizes")
    st.plotly_chart(sizes_figure(model.index.sizes()), key="sizes", config={"displaylogo": False})
    st.caption(f"{n:,} faces in {k} groups; a search compares with {k} centres plus one group's faces.")

with st.expander("How many groups? A hint from the silhouette score"):
    st.caption(
        "The silhouette score (−1 … 1, higher is better) says how well separated the groups are. "
        "Faces of many people rarely form clean blobs, so treat it as a hint, not a rule."
    )
    if st.button(f"Score 2 … {S.K_HINT_MAX} groups", key="k_hint", icon=":material/query_stats:"):
        state["k_hint_for"] = (fs.key, dims)
    if state.get("k_hint_for") == (fs.key, dims):
        scores = k_hint_for(fs.key, dims, k_hi, model.reduced)
        best_k, best_score = max(scores, key=lambda ks: ks[1])
        st.plotly_chart(silhouette_figure(scores, k), key="silhouette", config={"displaylogo": False})
        st.button(f"Use {best_k} groups (silhouette {best_score:.3f})", key="use_k_hint", disabled=best_k == k,
                  on_click=state.update, kwargs={"k": best_k})  # fmt: skip

# ----------------------------------------------------------------- per group
st.subheader("What each group holds")
st.caption("A group is what K-means made of look-alike faces; when folders name people, the table says how "
           "mixed each group is.")  # fmt: skip
# Built only while open: the table (a data grid) was a fifth of a second of the browser's first drawing at 10^5 faces.
table = st.expander("Table of the groups: faces, main folder and its share", key="group_table",
                    on_change="rerun", icon=":material/table:")  # fmt: skip
if table.open:
    summary = cluster_table_for(fs.key, dims, k, fs, model)
    share = st.column_config.ProgressColumn("share of main folder", min_value=0, max_value=1, format="percent")
    table.dataframe(summary.rename(columns={"cluster": "group"}), hide_index=True, key="cluster_table",
                    column_config={"share": share})  # fmt: skip
sizes = model.index.sizes()
if not (isinstance(state.get("gallery_cluster"), int) and 0 <= state["gallery_cluster"] < k):
    state["gallery_cluster"] = 0  # K changed: the old choice may not exist
group = st.selectbox("Show the faces of", range(k), key="gallery_cluster",
                     format_func=lambda c: f"group {c} · {sizes[c]} faces")  # fmt: skip
members = members_by_centroid(model, group)
typical = members[:TYPICAL]
st.caption(f"Most typical first (nearest the group's centre): {len(typical)} of {sizes[group]}.")
gallery(fs, typical, captions(fs, typical), width=88)
if len(members) > TYPICAL:
    least = members[max(TYPICAL, len(members) - LEAST_TYPICAL):]
    st.caption(f"Least typical ({len(least)}, farthest from the centre): what the group stretches to.")
    gallery(fs, least, captions(fs, least), width=88)

# ----------------------------------------------------------------- downloads
st.subheader("Downloads", divider="gray")
d1, d2 = st.columns(2)
d1.download_button("Groups (CSV)", lambda: clusters_frame(fs, model).to_csv(index=False),
                   f"groups_k{k}_d{dims}.csv", "text/csv", key="dl_clusters", icon=":material/table:",
                   help=f"file, folder, group and the {dims} numbers (PC1…PC{dims}) of every face")  # fmt: skip


def scatter_html() -> str:
    """The scatter as a page of its own: Plotly's own hover text (no face card outside the app), room for axes."""
    texts = hover_texts(fs, model.labels)
    fig = scatter_figure(shown.xyz, model.labels, shown.centres, texts, shown.three_d, query, colors=shown.colors,
                         color_names=shown.color_names, no_color_name=shown.no_color, axes=shown.axes)  # fmt: skip
    return fig.update_layout(margin=dict(l=70, r=30, t=40, b=70), height=700).to_html(include_plotlyjs=True)


d2.download_button("Scatter (HTML)", scatter_html,
                   f"scatter_k{k}_d{dims}.html", "text/html", key="dl_scatter", icon=":material/scatter_plot:",
                   help="Interactive and offline (plotly.js inside); hovering shows file, folder, group.")  # fmt: skip

measure_soon(fs)  # what a distance means in these photos, for Similar faces: in the background, once per set
