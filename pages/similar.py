"""Similar faces: the article's search (nearest centroid, then that cluster's faces) next to the exact ranking."""

import streamlit as st

from facecore import FaceCoreError, NotEnoughFacesError, find_similar
from facecore import settings as S
from facecore.similarity import distances_to
from facecore.sources import content_digest
from pages._cached import crops, model_for, quality_for, query_for
from pages._frame import frame
from pages._state import MIN_FACES, model_params, setting
from pages._views import captions, face_names, ranking_frame, same_person_share
from pages._widgets import CLUSTERS, gallery, require_loaded

UPLOAD_TYPES = sorted(ext.lstrip(".") for ext in S.IMAGE_EXTENSIONS)

frame("Similar faces")
st.title("Similar faces")
ds = require_loaded(MIN_FACES)
fs = ds.faceset
n = len(fs)
state = st.session_state
dims, k = model_params(n)
try:
    model = model_for(fs.key, dims, k, fs.encodings)
except FaceCoreError as exc:
    st.error(str(exc))
    st.stop()
st.caption(f"Model: PCA to {dims} dimensions, K = {k} clusters over {n:,} faces.")
st.page_link(CLUSTERS.path, label="Change dimensions and K on the Clusters page", icon=":material/tune:")

# ----------------------------------------------------------------- query and parameters
query_col, param_col = st.columns([1, 2], gap="large")
with param_col:
    setting("nprobe", 1, k)
    nprobe = st.slider(
        "Clusters to search (nprobe)",
        1,
        k,
        key="nprobe",
        help="1 is the article's method: only the nearest cluster. More clusters find more true neighbours "
        "and cost more comparisons; nprobe = K is an exact search.",
    )
    top_hi = min(50, n - 1)
    setting("top", 1, top_hi)
    top = st.slider("Faces to show", 1, top_hi, key="top")
    setting("threshold", 0.30, 1.00)
    threshold = st.slider(
        "Same-person distance threshold",
        0.30,
        1.00,
        step=0.01,
        key="threshold",
        help="Distances are Euclidean between 128-d face_recognition encodings. face_recognition calls two faces "
        "a match below 0.6, the value dlib's model was tuned for (99.38% on the LFW benchmark). "
        "Lower is stricter: fewer false matches, more missed ones.",
    )

with query_col:
    source = st.radio("Query", ["A face of the dataset", "A new photo"], key="query_source", horizontal=True)
    if source == "A face of the dataset":
        names = face_names(fs)
        # "query_face" may have been set by a click in the Clusters scatter.
        state["query_face"] = min(max(int(state.get("query_face", 0)), 0), n - 1)
        face = st.selectbox("Face", range(n), key="query_face", format_func=names.__getitem__)
        st.image(crops(fs, [face])[0], width=150)
        st.caption(f"person: {fs.faces[face].person or '-'}  \ncluster: {int(model.labels[face])}")
        query_vec, query_person, query = fs.encodings[face], fs.faces[face].person, {"row": face}
    else:
        upload = st.file_uploader("A photo with a face", type=UPLOAD_TYPES, key="query_upload")
        if upload is None:
            st.info("Upload a photo: its largest face becomes the query.", icon=":material/upload:")
            st.stop()
        data = upload.getvalue()
        try:
            encoded = query_for(content_digest(data), ds.settings.key, data, ds.settings)
        except FaceCoreError as exc:
            st.error(str(exc))
            st.stop()
        st.image(encoded.thumbs[0], width=150)
        more = f"{len(encoded.boxes)} faces found, the largest is used. " if len(encoded.boxes) > 1 else ""
        st.caption(f"{more}Projected with the dataset's PCA.")
        query_vec, query_person, query = encoded.encodings[0], None, {"encoding": encoded.encodings[0]}

try:
    result = find_similar(model, nprobe=nprobe, top=top, **query)
except FaceCoreError as exc:
    st.error(str(exc))
    st.stop()

# ----------------------------------------------------------------- what the shortcut cost
mates, exact = result.mates, result.exact
found = len(exact.indices) - result.missed
st.subheader("What the shortcut cost", divider="gray")
c1, c2, c3, c4 = st.columns(4)
probed = ", ".join(str(c) for c in mates.clusters)
c1.metric("Cluster searched" if nprobe == 1 else "Clusters searched", probed)
saved = result.comparisons_saved / exact.comparisons
c2.metric(
    "Comparisons",
    f"{mates.comparisons:,}",
    f"{saved:.0%} fewer than exact",
    delta_color="off",
    delta_arrow="off",
    help=f"{k} centroids + {mates.scanned:,} faces of the searched cluster(s)",
)
c3.metric("Exact search", f"{exact.comparisons:,}", help="The exact ranking compares the query with every face.")
c4.metric(
    "Exact top found",
    f"{found} of {len(exact.indices)}",
    help="How many of the exact nearest faces the cluster search also returned (recall).",
)

# ----------------------------------------------------------------- results


def result_block(title: str, note: str, indices, distances, key: str) -> None:
    st.markdown(f"**{title}**")
    below = int((distances < threshold).sum())
    share = same_person_share(fs, query_person, indices)
    same = f" · same person folder: {share:.0%}" if share is not None else ""
    st.caption(f"{note} {below} of {len(indices)} below {threshold:.2f}: likely the same person (✓){same}.")
    gallery(fs, indices, captions(fs, indices, distances, threshold), width=96)
    with st.expander("As a table"):
        table = ranking_frame(fs, indices, distances, threshold)
        st.dataframe(table, hide_index=True, key=f"{key}_table")
        st.download_button(
            f"{title} (CSV)",
            table.to_csv(index=False),
            f"{key}.csv",
            "text/csv",
            key=f"dl_{key}",
            icon=":material/download:",
        )


mates_col, exact_col = st.columns(2, gap="large")
with mates_col:
    result_block(
        "Cluster mates",
        f"Searched only cluster {probed} ({mates.scanned:,} faces), ranked by distance.",
        mates.indices,
        mates.distances,
        "mates",
    )
with exact_col:
    result_block(
        "Exact ranking over all faces",
        f"Compared with all {n - (1 if 'row' in query else 0):,} faces.",
        exact.indices,
        exact.distances,
        "exact",
    )

far = result.farthest[:top]
result_block(
    f"Farthest cluster ({result.farthest_cluster})",
    f"The cluster whose centroid is farthest from the query ({len(result.farthest):,} faces); its nearest shown.",
    far,
    distances_to(model, query_vec, far),
    "farthest",
)

# ----------------------------------------------------------------- over the whole dataset
QUALITY_TOP = S.DEFAULT_EVAL_TOP
st.subheader(f"Over every face: how often the top {QUALITY_TOP} are the same person", divider="gray")
try:
    quality = quality_for(fs.key, dims, k, nprobe, QUALITY_TOP, fs, model)
except NotEnoughFacesError:
    st.caption(
        "This needs folders named by person (folder/person_name/photo.jpg) with at least two faces of someone: "
        "then every face is searched for and the results checked against the folder names."
    )
    st.stop()
st.caption(
    f"Every one of the {quality.queries:,} faces whose person has another face is the query once (leave-one-out), "
    f"with nprobe = {nprobe}; a result counts when it comes from the query's folder. People with "
    f"{QUALITY_TOP} or fewer photos cannot fill the top {QUALITY_TOP}: the best reachable is "
    f"{quality.precision_ceiling:.1%}."
)
q1, q2, q3, q4 = st.columns(4)
q1.metric(
    "Same person, exact", f"{quality.exact_precision_at_k:.1%}", help="Same-person share of the exact top results."
)
q2.metric(
    "Same person, cluster search",
    f"{quality.cluster_precision_at_k:.1%}",
    f"{quality.cluster_precision_at_k - quality.exact_precision_at_k:+.1%} vs exact",
    delta_color="off",
    delta_arrow="off",
    help="Same-person share of the cluster mates (the article's shortcut).",
)
q3.metric(
    "Exact top kept",
    f"{quality.recall_of_exact:.1%}",
    help="How many of the exact top results the cluster search also returns.",
)
q4.metric(
    "Comparisons per query",
    f"{quality.comparisons_per_query:,.0f}",
    f"vs {quality.exact_comparisons_per_query:,.0f} exact",
    delta_color="off",
    delta_arrow="off",
)
if quality.confused_pairs:
    st.markdown("**Folders most often confused**")
    st.caption(
        "Pairs of folders whose faces fill each other's exact top results. A high share usually means the same "
        "person filed under two names (or twins); look at their photos before trusting the folder names."
    )
    st.dataframe(
        [
            {"folder": c.a, "and folder": c.b, "share of their results": 100 * c.share, "results": c.results}
            for c in quality.confused_pairs
        ],
        hide_index=True,
        key="confused_table",
        column_config={
            "share of their results": st.column_config.ProgressColumn(min_value=0, max_value=100, format="%.0f%%")
        },
    )
