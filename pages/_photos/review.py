"""The Photos page's review of what was found: the faces, a page of crops at a time, and their encodings."""

from __future__ import annotations

import streamlit as st

from facecore import THUMB_SIDE, FaceSet, encodings_npz
from pages._shared.views import captions
from pages._shared.widgets import gallery

#: Face crops shown per page of the gallery.
PER_PAGE = 60


def faces_found(fs: FaceSet) -> None:
    """The faces found, PER_PAGE crops at a time with a page number, and the download of every encoding."""
    st.subheader("Faces found")
    pages = (len(fs) - 1) // PER_PAGE + 1
    if pages > 1:
        st.session_state["faces_page"] = min(st.session_state.get("faces_page", 1), pages)
        page = st.number_input(f"Page (of {pages:,})", 1, pages, key="faces_page", width=180)
    else:
        page = 1
    first = (page - 1) * PER_PAGE
    shown = range(first, min(first + PER_PAGE, len(fs)))
    st.caption(f"Faces {first + 1:,}–{shown[-1] + 1:,} of {len(fs):,}, as the {THUMB_SIDE} px crops kept in the cache.")
    gallery(fs, shown, captions(fs, shown), width=88)
    st.download_button(
        "Encodings (.npz)",
        lambda: encodings_npz(fs),
        "encodings.npz",
        "application/octet-stream",
        key="dl_encodings",
        icon=":material/download:",
        help="For other programs: the 128 numbers of every face (its encoding, float32) in a NumPy .npz file, "
        "with its file, person, photo hash, "
        "place in the photo (0 = largest face) and box.",
    )
