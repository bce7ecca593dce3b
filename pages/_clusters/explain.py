"""How it works: the article's four steps drawn as a row of cards, with the numbers of the loaded photos."""

from __future__ import annotations

import streamlit as st

from facecore import FaceSet, SimilarityModel


def how_it_works(fs: FaceSet, model: SimilarityModel, kept: float) -> None:
    """Four cards: encode, keep the main directions, make groups, search one group; ``kept`` is the share
    of variation the chosen detail keeps (0..1)."""
    n, k, dims = len(fs), model.k, model.dims
    per_group = n / k
    search = k + per_group
    steps = (
        ("1 · Each face becomes 128 numbers", f"{n:,} faces",
         "A neural network (dlib's ResNet) turns each face into 128 numbers; similar faces get similar numbers."),
        ("2 · Keep the main directions", f"{dims} numbers",
         f"PCA keeps the {dims} directions in which faces differ most: {kept:.0%} of the variation."),
        ("3 · Sort into groups", f"{k} groups",
         f"K-means puts look-alike faces together: about {per_group:,.0f} faces per group. Groups are not people."),
        ("4 · Search one group only", f"≈ {search:,.0f} comparisons",
         f"A query is compared with the {k} group centres, then only with its group's faces, "
         f"instead of all {n - 1:,} faces."),
    )  # fmt: skip
    for col, (title, number, text) in zip(st.columns(4), steps, strict=True):
        with col.container(border=True, height="stretch"):
            st.markdown(f"**{title}**")
            st.markdown(f"### {number}")
            st.caption(text)
    st.caption(
        "This is the method of the article the app follows, [“Similar face image detection using face recognition "
        "and PCA and K-means clustering”](https://linuxtut.com/en/c29c8ff9abf645bcf588) (an English copy of Qiita "
        "item c29c8ff9abf645bcf588). Groups (clusters) gather faces that look alike "
        "(hair, pose, lighting), not people: to see who is in the photos, open the People page."
    )
