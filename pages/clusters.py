"""Clusters: PCA of the encodings, K-means, the scatter of the faces and a gallery per cluster."""

import streamlit as st

from facecore import FaceCoreError
from facecore import settings as S
from facecore.exchange import encodings_npz
from facecore.reduce import dims_for_variance, explained_variance
from facecore.similarity import members_by_centroid
from pages._cached import cluster_table_for, crops, hover_images_for, k_hint_for, model_for
from pages._charts import scatter_figure, silhouette_figure, sizes_figure, variance_figure
from pages._frame import frame
from pages._hover_faces import hover_faces
from pages._state import MIN_FACES, dims_range, k_range, setting
from pages._views import captions, clusters_frame, hover_texts
from pages._widgets import SIMILAR, gallery, require_loaded

GALLERY_MAX = 60

frame("Clusters")
st.title("Clusters")
ds = require_loaded(MIN_FACES)
fs = ds.faceset
n = len(fs)
st.caption(
    "PCA turns each 128-number face encoding into a few coordinates (PC1 holds the most variation); "
    "K-means then groups the faces into K clusters around centroids. The Similar faces page searches "
    "only the query's cluster, the article's shortcut."
)

# ----------------------------------------------------------------- parameters
state = st.session_state
dims_lo, dims_hi = dims_range(n)
k_lo, k_hi = k_range(n)
setting("dims", dims_lo, dims_hi)  # within what this set allows, before the sliders are drawn
setting("k", k_lo, k_hi)
left, right = st.columns(2)
dims = left.slider(
    "PCA dimensions",
    dims_lo,
    dims_hi,
    key="dims",
    help="How many principal components K-means and the cluster search work in (the article uses 20).",
)
k = right.slider(
    "Clusters (K)",
    k_lo,
    k_hi,
    key="k",
    help="How many groups K-means makes. More clusters: fewer comparisons per search, more missed neighbours.",
)

try:
    model = model_for(fs.key, dims, k, fs.encodings)
except FaceCoreError as exc:
    st.error(str(exc))
    st.stop()

# ----------------------------------------------------------------- scatter + picked face
hover = hover_texts(fs, model.labels)
plot_col, face_col = st.columns([4, 1])
with plot_col:
    three_d = st.toggle("3-D (PC1, PC2, PC3)", key="scatter_3d", disabled=dims < 3)
    query = st.session_state.get("query_face")
    query = query if query is not None and 0 <= query < n else None
    pictures = hover_images_for(fs.key, fs)
    fig = scatter_figure(
        model.reduced, model.labels, model.centroids, hover, three_d and dims >= 3, query, hover_pictures=bool(pictures)
    )
    event = st.plotly_chart(
        fig,
        key="scatter",
        on_select="rerun",
        selection_mode="points",
        config={"displaylogo": False},
    )
    if pictures:
        hover_faces("scatter", pictures)
    picked = [p.get("customdata") for p in event.selection.points] if event else []
    picked = [p[0] if isinstance(p, list) else p for p in picked if p is not None]
    pick = int(picked[0]) if picked and 0 <= int(picked[0]) < n else None
    if pick is not None and pick != st.session_state.get("scatter_last_pick"):
        st.session_state["scatter_last_pick"] = pick
        st.session_state["query_face"] = pick
        st.rerun()  # draw the star and the side panel for the new query
    st.caption(
        ("Hover a point to see the face, its file, person and cluster" if pictures
         else "Hover a point for its file, person and cluster")
        + "; click one to make it the query of the Similar faces page. Hollow circles are the centroids."
        + (" Clicking works in the 2-D view." if three_d else "")
    )  # fmt: skip
with face_col:
    st.markdown("**Query face**")
    if query is None:
        st.caption("Click a point in the scatter to pick a face.")
    else:
        face = fs.faces[query]
        st.image(crops(fs, [query])[0], width=140)
        st.caption(f"`{face.name}`  \nperson: {face.person or '-'}  \ncluster: {int(model.labels[query])}")
        st.page_link(SIMILAR.path, label="Find similar faces", icon=":material/person_search:")

# ----------------------------------------------------------------- variance and sizes
ratio, cumulative = explained_variance(model.pca)
var_col, size_col = st.columns(2)
with var_col:
    st.subheader("Explained variance")
    st.plotly_chart(variance_figure(ratio, cumulative, dims), key="variance", config={"displaylogo": False})
    st.caption(
        f"PC1–PC{dims} keep {cumulative[dims - 1]:.0%} of the variance of the encodings; "
        f"90% needs {dims_for_variance(model.pca, 0.9)} components."
    )
with size_col:
    st.subheader("Cluster sizes")
    st.plotly_chart(sizes_figure(model.index.sizes()), key="sizes", config={"displaylogo": False})
    st.caption(f"{n:,} faces in {k} clusters; a search compares with {k} centroids plus one cluster's faces.")

# ----------------------------------------------------------------- K hint
with st.expander("Which K? A hint from the silhouette score"):
    st.caption(
        "The silhouette score (−1 … 1, higher is better) says how well separated the clusters are. "
        "Faces of many people rarely form clean blobs, so treat it as a hint, not a rule."
    )
    if st.button(f"Score K = 2 … {S.K_HINT_MAX}", key="k_hint", icon=":material/query_stats:"):
        st.session_state["k_hint_for"] = (fs.key, dims)
    if st.session_state.get("k_hint_for") == (fs.key, dims):
        scores = k_hint_for(fs.key, dims, k_hi, model.reduced)
        best_k, best_score = max(scores, key=lambda ks: ks[1])
        st.plotly_chart(silhouette_figure(scores, k), key="silhouette", config={"displaylogo": False})
        st.button(
            f"Use K = {best_k} (silhouette {best_score:.3f})",
            key="use_k_hint",
            disabled=best_k == k,
            on_click=st.session_state.update,
            kwargs={"k": best_k},
        )

# ----------------------------------------------------------------- per cluster
st.subheader("Faces per cluster")
summary = cluster_table_for(fs.key, dims, k, fs, model)
st.dataframe(
    summary,
    hide_index=True,
    key="cluster_table",
    column_config={
        "share": st.column_config.ProgressColumn("share of main person", min_value=0, max_value=1, format="percent")
    },
)
sizes = model.index.sizes()
chosen = state.get("gallery_cluster")
if not (isinstance(chosen, int) and 0 <= chosen < k):  # K changed: the old choice may not exist (or is a label)
    state["gallery_cluster"] = 0
cluster = st.selectbox(
    "Show the faces of",
    range(k),
    key="gallery_cluster",
    format_func=lambda c: f"cluster {c} · {sizes[c]} faces",
)
members = members_by_centroid(model, cluster)[:GALLERY_MAX]
st.caption(f"Nearest the centroid first; {min(len(members), GALLERY_MAX)} of {sizes[cluster]} shown.")
gallery(fs, members, captions(fs, members), width=88)

# ----------------------------------------------------------------- downloads
st.subheader("Downloads", divider="gray")
d1, d2, d3 = st.columns(3)
d1.download_button(
    "Clusters (CSV)",
    lambda: clusters_frame(fs, model).to_csv(index=False),
    f"clusters_k{k}_d{dims}.csv",
    "text/csv",
    key="dl_clusters",
    icon=":material/table:",
    help=f"path, person, cluster and PC1…PC{dims} per face",
)
d2.download_button(
    "Encodings (.npz)",
    lambda: encodings_npz(fs),
    "encodings.npz",
    "application/octet-stream",
    key="dl_cluster_encodings",
    icon=":material/data_array:",
)
d3.download_button(
    "Scatter (HTML)",
    lambda: fig.to_html(include_plotlyjs=True, full_html=True),
    f"scatter_k{k}_d{dims}.html",
    "text/html",
    key="dl_scatter",
    icon=":material/scatter_plot:",
    help="Interactive, works offline (plotly.js inside).",
)
