"""Which faces each page uses. Every face of each photo is encoded, once: the People page groups them all, and
the Clusters and Similar faces pages use the largest face of each photo, as the article did (derived from the
same rows, :meth:`facecore.FaceSet.largest`), unless the Photos page's toggle gives them every face.
"""

from __future__ import annotations

import streamlit as st

#: The Photos page's toggle (session key): every face on the Clusters and Similar faces pages.
EVERY_FACE = "all_faces"


def every_face_view() -> bool:
    """Whether the Clusters and Similar faces pages use every face (the :data:`EVERY_FACE` toggle)."""
    return bool(st.session_state.get(EVERY_FACE, False))


def largest_face_only(ds) -> bool:
    """Whether the loaded set ``ds`` (a ``LoadedSet``) holds one face per photo: photos encoded before every face
    was kept (reopened from the cache, or uploads saved then). Imported encodings hold every face the file gave."""
    return not ds.settings.all_faces and not ds.imported


def article_view(ds):
    """The loaded set ``ds`` (a ``LoadedSet``) as the Clusters and Similar faces pages use it: every face, or the
    largest face of each photo."""
    return ds if every_face_view() else ds.largest


def keep_query_face() -> None:
    """The toggle was switched: the query face (a row of the Clusters and Similar pages' view) becomes the same
    face's row in the new view, or is dropped when that view lacks it."""
    ds, row = st.session_state.get("loaded"), st.session_state.get("query_face")
    st.session_state.pop("scatter_last_pick", None)
    if ds is None or not isinstance(row, int):
        return
    before = (ds.largest if every_face_view() else ds).faceset  # the toggle holds its new value already
    now = article_view(ds).faceset
    face = before.faces[row] if 0 <= row < len(before) else None
    found = None if face is None else next(
        (i for i, f in enumerate(now.faces) if (f.digest, f.in_photo) == (face.digest, face.in_photo)), None)
    if found is None:
        st.session_state.pop("query_face", None)
    else:
        st.session_state["query_face"] = found
