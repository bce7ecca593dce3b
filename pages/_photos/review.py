"""The Photos page's review of what was found: the faces, a page of crops at a time, and their encodings."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from facecore import THUMB_SIDE, FaceCoreError, FaceSet, encodings_npz
from pages._shared import state as _state
from pages._shared.jobs import start_folder_job
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


def faces_metric(column, ds) -> None:
    """The summary's "Faces" figure: every face found, how many photos hold several, and which faces each page uses
    (the People page every face, the Clusters and Similar faces pages the largest of each photo unless asked)."""
    fs = ds.faceset
    if ds.settings.all_faces:
        pages = (f"The People page groups all {len(fs):,}; the Clusters and Similar faces pages use "
                 f"{len(ds.largest.faceset):,}, the largest of each photo, unless the toggle above asks for "
                 "every face.")
    else:  # uploads saved before every face was encoded
        pages = "These photos were encoded with the largest face of each photo only."
    hidden = (f" {fs.photos_hidden:,} photos are hidden from this set (near-duplicates): {len(ds.everything):,} faces "
              "with them." if fs.photos_hidden else "")
    column.metric("Faces", f"{len(fs):,}", f"{fs.photos_with_several_faces:,} photos hold several",
                  delta_color="off", delta_arrow="off",
                  help=f"Group photos: photos in which two faces or more were found. {pages}{hidden}")


def encoded_before_every_face(ds, busy: bool) -> None:
    """Photos reopened as they were encoded before every face was kept (one face per photo): say so, and offer to
    encode every face of a server folder (once; the largest-face rows stay in the cache)."""
    if ds.settings.all_faces or ds.imported:
        return
    st.info("These photos were encoded before every face was kept: each photo gives only its largest face, on the "
            "People page too." + ("" if ds.folder else " Upload them again to find every face."),
            icon=":material/info:")  # fmt: skip
    if ds.folder and st.button("Encode every face of these photos", key="encode_every_face", disabled=busy,
                               icon=":material/group:", help="Once: every photo is searched at full size again, "
                               "about 3 times as long as their first encoding."):  # fmt: skip
        try:
            start_folder_job(ds.folder, replace(ds.settings, all_faces=True), reopen_old=False)
        except FaceCoreError as exc:
            st.session_state[_state.ERROR] = str(exc)
        st.rerun()
