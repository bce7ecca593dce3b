"""The Similar faces page's last section: how often searches return the same person, over every face."""

from __future__ import annotations

import streamlit as st

from facecore import FaceSet, NotEnoughFacesError, SimilarityModel
from facecore import settings as S
from pages._similar.cached import quality_for


def quality_section(fs: FaceSet, model: SimilarityModel, nprobe: int, top: int = S.DEFAULT_EVAL_TOP) -> None:
    """Leave-one-out search quality with folders as people: same-person share of exact and group search,
    exact top kept, comparisons, and the folders most often confused. A note instead when folders name nobody."""
    st.subheader(f"Over every face: how often the {top} nearest are the same person", divider="gray")
    try:
        quality = quality_for(fs.key, model.dims, model.k, nprobe, top, fs, model)
    except NotEnoughFacesError:
        st.caption(
            "This needs folders named by person (folder/person_name/photo.jpg) with at least two faces of "
            "someone: then every face is searched for and the results checked against the folder names."
        )
        return
    st.caption(
        f"Every one of the {quality.queries:,} faces whose person has another face is the query once, with "
        f"{nprobe} group(s) searched; a result counts when it comes from the query's folder. People with "
        f"{top} or fewer photos cannot fill the top {top}: the best reachable is {quality.precision_ceiling:.1%}."
    )
    q1, q2, q3, q4 = st.columns(4)
    q1.metric("Same person, exact", f"{quality.exact_precision_at_k:.1%}",
              help="Same-person share of the exact top results.")  # fmt: skip
    q2.metric(
        "Same person, group search",
        f"{quality.cluster_precision_at_k:.1%}",
        f"{quality.cluster_precision_at_k - quality.exact_precision_at_k:+.1%} vs exact",
        delta_color="off",
        delta_arrow="off",
        help="Same-person share of the faces found by searching only the nearest group(s) (the article's shortcut).",
    )
    q3.metric("Exact top kept", f"{quality.recall_of_exact:.1%}",
              help="How many of the exact top results the group search also returns (recall).")  # fmt: skip
    q4.metric("Comparisons per search", f"{quality.comparisons_per_query:,.0f}",
              f"vs {quality.exact_comparisons_per_query:,.0f} exact", delta_color="off", delta_arrow="off")  # fmt: skip
    if quality.confused_pairs:
        st.markdown("**Folders most often confused**")
        st.caption(
            "Pairs of folders whose faces fill each other's exact top results. A high share usually means the "
            "same person filed under two names (or twins); look at their photos before trusting the folder names."
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
