"""The Photos page's photos that may be filed under the wrong person: each suspect beside its folder's typical
faces and the typical faces of the folder it looks more like."""

from __future__ import annotations

import streamlit as st

from facecore import FaceSet
from pages._photos.cached import SUSPECTS_AUTO_UP_TO, suspects_for, typical_for
from pages._shared.cached import crops

#: Suspects shown before the user asks for more.
SHOWN = 5


def _named_folders(fs: FaceSet) -> int:
    """Folders that name the faces' people (sub-folders of the set)."""
    return len({f.person for f in fs.faces if f.person})


def _suspect(fs: FaceSet, row: int, suspect, typical: dict[str, list[int]]) -> None:
    """One suspect: its face, its folder's typical faces, the likely folder's typical faces."""
    face, own, other = st.columns([1, 2, 2])
    face.image(crops(fs, [row])[0], caption=f"{suspect.path}", width=112)
    face.caption(f"{suspect.score:.2f}× nearer {suspect.likely} than its own folder")
    own.caption(f"Filed under **{suspect.folder}**: its most typical faces")
    own.image(crops(fs, typical.get(suspect.folder, [])), width=72)
    other.caption(f"Looks more like **{suspect.likely}**:")
    other.image(crops(fs, typical.get(suspect.likely, [])), width=72)


def wrong_folder(fs: FaceSet) -> None:
    """The section, only when sub-folders name people: the most suspicious faces first, SHOWN at a time."""
    if _named_folders(fs) < 2:
        return
    st.subheader("Photos that may be filed under the wrong person", divider="gray")
    st.caption(
        "Each photo's face is compared with the average face of its own folder and of every other folder. These "
        "faces are nearer another folder's (the number says how much nearer): a photo filed under the wrong "
        "person, or an unusual photo of the right one. Moving files is up to you; nothing changes here."
    )
    if len(fs) > SUSPECTS_AUTO_UP_TO and st.session_state.get("suspects_asked") != fs.key:
        if st.button("Compare each face with its folder", key="suspects_look", icon=":material/search:"):
            st.session_state["suspects_asked"] = fs.key
            st.rerun()
        return
    found = suspects_for(fs.key, fs)
    if not found:
        st.write("Every face is nearer its own folder than any other.")
        return
    count = st.number_input(f"Suspects shown (of {len(found):,})", 1, len(found), min(SHOWN, len(found)),
                            key="suspects_shown", width=220)  # fmt: skip
    typical = typical_for(fs.key, fs)
    for row, suspect in found[: int(count)]:
        with st.container(border=True):
            _suspect(fs, row, suspect, typical)
