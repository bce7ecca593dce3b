"""Widgets every page shares: the navigation and status sidebar, the "load photos first" pointer, face galleries."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import streamlit as st
from PIL import Image, ImageDraw

from facecore import FaceCoreError
from pages._shared import state as _state
from pages._shared.cached import boxed_photo, cache_stats, crops, matches_for, store
from pages._shared.faces_view import article_view, every_face_view, largest_face_only
from pages._shared.jobs import EncodeJob, progress_panel
from pages._shared.pictures import faces_zip


@dataclass(frozen=True)
class PageInfo:
    path: str
    title: str
    icon: str
    url: str


DATASET = PageInfo("pages/dataset.py", "Photos", ":material/photo_library:", "dataset")
CLUSTERS = PageInfo("pages/clusters.py", "Clusters", ":material/bubble_chart:", "clusters")
SIMILAR = PageInfo("pages/similar.py", "Similar faces", ":material/person_search:", "similar")
PEOPLE = PageInfo("pages/people.py", "People", ":material/groups:", "people")
#: The app's pages in menu order; the first is the home page.
PAGES = (DATASET, CLUSTERS, SIMILAR, PEOPLE)


def _favicon() -> Image.Image:
    """A small face drawn here: a ``:material/...:`` page icon would be fetched from Google's servers."""
    im = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    draw = ImageDraw.Draw(im)
    draw.rounded_rectangle((0, 0, 63, 63), radius=14, fill=(37, 99, 235, 255))
    draw.ellipse((12, 10, 52, 54), fill=(255, 255, 255, 255))
    for x in (23, 37):
        draw.ellipse((x, 24, x + 5, 30), fill=(37, 99, 235, 255))
    draw.arc((22, 28, 42, 44), start=20, end=160, fill=(37, 99, 235, 255), width=3)
    return im


#: The browser tab's icon (works offline).
FAVICON = _favicon()


def gallery(fs, rows: Sequence[int] | np.ndarray, captions: list[str], width: int = 96) -> None:
    """A wrapping grid of face crops with one caption each."""
    if len(rows) == 0:
        st.caption("No faces here.")
        return
    st.image(crops(fs, rows), caption=captions, width=width)


def face_photo(ds, rows: Sequence[int] | np.ndarray, labels: Sequence[str], key: str,
               title: str = "A face's whole photo, the face boxed") -> None:  # fmt: skip
    """An expander where one of the faces ``rows`` (``labels[i]`` names ``rows[i]``) is picked: its crop beside its
    whole photo with that face boxed. Only for server folders (uploaded photos are not kept)."""
    if not ds.folder or len(rows) == 0:
        return
    fs = ds.faceset
    with st.expander(title):
        at = st.selectbox("Face", range(len(rows)), key=key, format_func=lambda i: labels[i])
        row = int(rows[at])
        face = fs.faces[row]
        crop_col, photo_col = st.columns([1, 4])
        crop_col.image(crops(fs, [row])[0], width=120)
        photo = boxed_photo(ds.folder, face.name, tuple(face.box))
        if photo is None:
            photo_col.caption(f"{face.name} cannot be read from {ds.folder} any more.")
        else:
            photo_col.image(photo, caption=face.name)


def download_faces(fs, rows: Sequence[int], table, name: str, key: str) -> None:
    """Two download buttons for picked faces: their crops as a zip, and ``table`` (a DataFrame) as CSV."""
    left, right = st.columns(2)
    left.download_button(f"Face crops ({len(rows):,}, zip)", lambda: faces_zip(list(table["file"]), crops(fs, rows)),
                         f"{name}.zip", "application/zip", key=f"{key}_zip", icon=":material/folder_zip:")  # fmt: skip
    right.download_button("List (CSV)", table.to_csv(index=False), f"{name}.csv", "text/csv", key=f"{key}_csv",
                          icon=":material/table:")  # fmt: skip


def require_loaded(min_faces: int = 0, article: bool = False) -> _state.LoadedSet:
    """This session's photos; otherwise a friendly pointer to the Photos page, and the page ends here.
    ``article``: as the Clusters and Similar faces pages use them (:func:`~pages._shared.faces_view.article_view`:
    the largest face of each photo unless the Photos page's toggle asks for every face)."""
    ds = _state.loaded()
    if ds is None:
        job = st.session_state.get(_state.JOB)
        if job is not None and job.running:
            st.info("Your photos are still being encoded; this page fills in when they are ready.",
                    icon=":material/hourglass_top:")  # fmt: skip
        else:
            st.info(
                "No photos loaded yet. Start on the Photos page: pick a folder on this server, "
                "upload photos or a zip, or try the sample.",
                icon=":material/photo_library:",
            )
        st.page_link(DATASET.path, label="Go to the Photos page", icon=":material/arrow_forward:")
        st.stop()
    if article:
        ds = article_view(ds)
    if len(ds.faceset) < min_faces:
        st.info(
            f"The loaded photos have {len(ds.faceset)} face(s); this page needs at least {min_faces}. "
            "Load more photos on the Photos page.",
            icon=":material/group_add:",
        )
        st.page_link(DATASET.path, label="Go to the Photos page", icon=":material/arrow_forward:")
        st.stop()
    return ds


def _navigation() -> None:
    for page in PAGES:
        st.page_link(page.path, label=page.title, icon=page.icon)


def _loaded_status() -> None:
    ds = _state.loaded()
    if ds is None:
        st.caption("No photos loaded yet.")
        return
    fs = ds.faceset
    if largest_face_only(ds):
        mode = "largest face per photo"
    elif every_face_view():
        mode = "every face on every page"
    else:
        mode = f"every face; Clusters and Similar: the largest per photo ({len(ds.largest.faceset):,})"
    st.markdown(f"**{ds.label}**")
    st.caption(
        f"{fs.images:,} photos · {len(fs):,} faces · {len(fs.skipped) - fs.other_files:,} skipped  \n"
        f"{ds.settings.detector.upper()} detector, {mode}"
        + ("  \nStopped early: partial set" if fs.stopped else "")
    )


def _cache_status() -> None:
    try:
        cache = store()
        stats = cache_stats(str(cache.path), cache.stamp())
    except (FaceCoreError, sqlite3.Error, OSError) as exc:  # a damaged file must not hide the pages
        st.error(str(exc))
        return
    st.caption(f"{stats['images']:,} photos · {stats['faces']:,} detected faces · {stats['bytes'] / 1e6:.1f} MB",
               help="Everything encoded on this server: every folder, detector and face found in each photo. The "
               "Clusters and Similar pages may use one face per photo, so their count can be smaller.")  # fmt: skip
    # Inline code, not st.code: a code block loads Streamlit's syntax highlighter (1.5 MB of JavaScript, 0.3-0.6 s
    # of a first page load at 10^5 faces) for one line.
    st.caption(f"`{cache.path}`")


def sidebar(progress: bool = True) -> None:
    """The menu, the loaded photos and the running job (unless the page shows it: ``progress=False``), and the
    cache location, on every page."""
    with st.sidebar:
        _navigation()
        st.subheader("Photos", divider="gray")
        job: EncodeJob | None = st.session_state.get(_state.JOB)
        if progress and job is not None and job.running:
            progress_panel(with_stop=False)
        _loaded_status()
        st.subheader("Encoding cache", divider="gray")
        _cache_status()
        st.caption(
            ":material/lock: Processing is local: photos are read and encoded on this server and "
            "never sent anywhere. Face encodings are biometric data; delete them on the Photos page."
        )


#: Up to this many faces the Face box lists them all (typing filters the list in the browser); above it, a list of
#: 10^5 names would be megabytes sent at every click, so a search box finds the faces and the list holds matches.
FULL_LIST_MAX = 5_000
MATCHES_SHOWN = 200


def face_picker(names: list[str], state, set_key: str) -> int:
    """The query face's row: one list of every face for small sets, a search box and its matches for large ones
    (``set_key``: the set's ``FaceSet.key``, under which the matches of a search are kept)."""
    label = "Face (type a file or folder name to find one)"
    if len(names) <= FULL_LIST_MAX:
        return st.selectbox(label, range(len(names)), key="query_face", format_func=names.__getitem__)
    text = st.text_input("Find a face: part of its file or folder name", key="query_search",
                         placeholder="e.g. person_7203 or 007200.jpg")  # fmt: skip
    rows, total = matches_for(set_key, text, MATCHES_SHOWN, names)
    current = state["query_face"]
    if current not in rows:
        rows = [current, *rows]
    row = st.selectbox("Face", rows, key="query_face", format_func=names.__getitem__)
    if text.strip():
        st.caption(f"{total:,} faces match; the list holds the first {min(total, MATCHES_SHOWN):,}."
                   if total else "No face matches: the list holds the current face only.")  # fmt: skip
    return row
