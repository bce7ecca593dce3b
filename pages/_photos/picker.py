"""The Photos page's folder picker: the subfolders of an allowed folder with their photo counts, to pick a folder
instead of typing its path. Counting is bounded (facecore.photos.roots.list_subfolders): at most a few hundred
photos per subfolder and two seconds per listing, hidden folders and links to folders left out."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from facecore import FaceCoreError, check_folder, list_subfolders

_AT = "picker_at"  # the folder whose subfolders are listed


@st.cache_data(ttl=30, max_entries=64, show_spinner="Counting photos…")
def _listing(folder: str) -> list[tuple[str, int, bool]]:
    """``(path, photos, capped)`` per subfolder of ``folder`` (already checked), kept half a minute."""
    return [(str(s.path), s.photos, s.capped) for s in list_subfolders(Path(folder))]


def _use(path: str) -> None:
    st.session_state["folder_path"] = path


def _go(path: str) -> None:
    st.session_state[_AT] = path


def _label(sub: tuple[str, int, bool]) -> str:
    path, photos, capped = sub
    count = f"{photos:,}+" if capped else f"{photos:,}"
    return f"{Path(path).name}  ({count} photo{'' if photos == 1 and not capped else 's'})"


def _where(roots: list[Path]) -> Path:
    """The folder being listed: the last one opened, if still allowed, else the first allowed folder."""
    try:
        return check_folder(st.session_state.get(_AT) or str(roots[0]), roots)
    except FaceCoreError:
        st.session_state[_AT] = str(roots[0])
        return roots[0]


def folder_picker(roots: list[Path]) -> None:
    """An expander listing the subfolders of an allowed folder; "Use" puts a folder into the folder box."""
    if not roots:
        return
    with st.expander(":material/folder_open: Pick a folder instead of typing it"):
        if len(roots) > 1:
            st.selectbox("Allowed folder", [str(r) for r in roots], key="picker_root",
                         on_change=lambda: _go(st.session_state["picker_root"]))  # fmt: skip
        at = _where(roots)
        subs = _listing(str(at))
        top = any(at == r for r in roots)
        c1, c2 = st.columns(2)
        c1.button("Use this folder", key="picker_use_here", on_click=_use, args=(str(at),),
                  icon=":material/check:", help=f"Put {at} into the folder box")  # fmt: skip
        c2.button("Up one folder", key="picker_up", on_click=_go, args=(str(at.parent),), disabled=top,
                  icon=":material/arrow_upward:")  # fmt: skip
        if not subs:
            st.caption(f"`{at}` has no subfolders.")
            return
        pick = st.selectbox(f"Subfolders of `{at}`", range(len(subs)), key=f"picker_sub_{at}",
                            format_func=lambda i: _label(subs[i]))  # fmt: skip
        c1, c2 = st.columns(2)
        c1.button("Use this subfolder", key="picker_use", on_click=_use, args=(subs[pick][0],), type="primary",
                  icon=":material/check:")  # fmt: skip
        c2.button("Open it", key="picker_open", on_click=_go, args=(subs[pick][0],),
                  icon=":material/subdirectory_arrow_right:")  # fmt: skip
        st.caption("Photo counts stop at 500 per folder (shown as 500+) and after two seconds of counting.")
