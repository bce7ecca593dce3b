"""The Photos page's review of what was found: the faces' quality spread, the faces (all, or those below or above
the quality bar, or of one size band), a page of crops at a time, and their encodings."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import streamlit as st

from facecore import (
    THUMB_SIDE,
    FaceCoreError,
    FaceSet,
    encodings_npz,
    faceset_quality,
    passes_bar,
    quality_bar,
    quality_spread,
)
from pages._shared import state as _state
from pages._shared.cached import derived, store
from pages._shared.faces_view import largest_face_only
from pages._shared.jobs import start_folder_job
from pages._shared.views import captions
from pages._shared.widgets import gallery

#: Face crops shown per page of the gallery.
PER_PAGE = 60
ALL, BELOW, ABOVE = "All faces", "Below the quality bar", "At or above the quality bar"


@derived
@st.cache_data(max_entries=8, show_spinner=False)
def quality_for(key: str, cache_path: str, _fs: FaceSet) -> np.ndarray:
    """``(len(fs), 4)`` float32 quality rows of the set ``key``'s faces as stored (NaN: not measured)."""
    return faceset_quality(store(), _fs)


def _shown_rows(fs: FaceSet, quality: np.ndarray) -> np.ndarray:
    """The quality spread (counts per size band, a bar chart) and the filter; return the face rows it keeps."""
    bar = quality_bar()
    spread = quality_spread(quality, bar)
    ok = passes_bar(quality, bar)
    bands = {b["label"]: b for b in spread["bands"]}
    counts = {ALL: len(fs), BELOW: spread["below_bar"], ABOVE: len(fs) - spread["below_bar"],
              **{label: b["faces"] for label, b in bands.items()}}  # fmt: skip
    with st.expander(f"Face quality: {spread['below_bar']:,} of {len(fs):,} faces below the bar", expanded=False,
                     key="photos_quality"):  # fmt: skip
        st.caption(
            f"The quality bar persons are built with: {bar.describe()}. Faces below it stay searchable "
            "and visible but join no person on their own (the People page lists them as *unsorted · low "
            "quality*). Face size is the side of the face's box in pixels"
            + (f"; {spread['unknown']:,} faces have no measured quality (imported or cached before)."
               if spread["unknown"] else "."))  # fmt: skip
        chart = pd.DataFrame({"face size": list(bands), "faces": [b["faces"] for b in bands.values()]})
        st.bar_chart(chart, x="face size", y="faces", height=180, sort=False)
    show = st.selectbox("Show", list(counts), key="photos_quality_filter",
                        format_func=lambda k: f"{k} ({counts[k]:,})")  # fmt: skip
    if show == BELOW:
        return np.flatnonzero(~ok)
    if show == ABOVE:
        return np.flatnonzero(ok)
    if show in bands:
        size = quality[:, 0]
        return np.flatnonzero((size >= bands[show]["low"]) & (size < bands[show]["high"]))
    return np.arange(len(fs))


def faces_found(fs: FaceSet) -> None:
    """The quality spread and filter, the faces kept PER_PAGE crops at a time with a page number, and the
    download of every encoding."""
    st.subheader("Faces found")
    rows = _shown_rows(fs, quality_for(fs.key, str(store().path), fs))
    pages = max(1, (len(rows) - 1) // PER_PAGE + 1)
    if pages > 1:
        st.session_state["faces_page"] = min(st.session_state.get("faces_page", 1), pages)
        page = st.number_input(f"Page (of {pages:,})", 1, pages, key="faces_page", width=180)
    else:
        page = 1
    first = (page - 1) * PER_PAGE
    shown = rows[first : first + PER_PAGE]
    if len(shown):
        st.caption(f"Faces {first + 1:,}–{first + len(shown):,} of {len(rows):,}"
                   + (f" (of {len(fs):,} in all)" if len(rows) < len(fs) else "")
                   + f", as the {THUMB_SIDE} px crops kept in the cache.")  # fmt: skip
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


def faces_metric(column, ds) -> None:
    """The summary's "Faces" figure: every face found, how many photos hold several, and which faces each page uses
    (the People page every face, the Clusters and Similar faces pages the largest of each photo unless asked)."""
    fs = ds.faceset
    if not largest_face_only(ds):
        pages = (f"The People page groups all {len(fs):,}; the Clusters and Similar faces pages use "
                 f"{len(ds.largest.faceset):,}, the largest of each photo, unless the toggle above asks for "
                 "every face.")
    else:
        pages = "These photos were encoded with the largest face of each photo only."
    hidden = (f" {fs.photos_hidden:,} photos are hidden from this set (near-duplicates): {len(ds.everything):,} faces "
              "with them." if fs.photos_hidden else "")
    column.metric("Faces", f"{len(fs):,}", f"{fs.photos_with_several_faces:,} photos hold several",
                  delta_color="off", delta_arrow="off",
                  help=f"Group photos: photos in which two faces or more were found. {pages}{hidden}")


def encoded_before_every_face(ds, busy: bool) -> None:
    """Photos reopened as they were encoded before every face was kept (one face per photo): say so, and offer to
    encode every face of a server folder (once; the largest-face rows stay in the cache)."""
    if not largest_face_only(ds):
        return
    st.info("These photos were encoded before every face was kept: each photo gives only its largest face, on the "
            "People page too." + (" Names and corrections made on the People page come along when every face is "
            "encoded." if ds.folder else " Upload them again to find every face."),
            icon=":material/info:")  # fmt: skip
    if ds.folder and st.button("Encode every face of these photos", key="encode_every_face", disabled=busy,
                               icon=":material/group:", help="Once: every photo is searched at full size again, "
                               "about 3 times as long as their first encoding."):  # fmt: skip
        try:
            start_folder_job(ds.folder, replace(ds.settings, all_faces=True), reopen_old=False)
        except FaceCoreError as exc:
            st.session_state[_state.ERROR] = str(exc)
        st.rerun()
