"""The Similar faces page's query: a face of the set or an uploaded photo; in a photo with several faces they are
shown boxed and numbered (1 = the largest) and the user picks the one to search with."""

from __future__ import annotations

import numpy as np
import streamlit as st

from facecore import FaceCoreError, FaceSet, content_digest
from facecore import settings as S
from pages._shared.cached import boxed_photo, crops
from pages._shared.widgets import face_picker
from pages._similar.cached import numbered_photo, numbered_upload, photo_rows_for, query_for

UPLOAD_TYPES = sorted(ext.lstrip(".") for ext in S.IMAGE_EXTENSIONS)
PICK_LABEL = "Face to search with"


def _face_word(i: int) -> str:
    return f"{i + 1} (largest)" if i == 0 else str(i + 1)


def _to_face(key: str) -> None:
    """A face of the same photo picked: it becomes the query face (before the face list is drawn again)."""
    st.session_state["query_face"] = int(st.session_state[key])


def dataset_query(ds, fs: FaceSet, model, names: list[str], state) -> tuple[np.ndarray, dict]:
    """Pick a face of the set (its photo's other faces one click away); return ``(encoding, find_similar kwargs)``:
    ``{"row": r}`` for a face of ``fs``; ``{"encoding": e}`` for another face of a photo when ``fs`` keeps the largest
    face of each photo (that face is encoded in the set it was derived from, but not among these rows)."""
    state["query_face"] = min(max(int(state.get("query_face", 0)), 0), len(fs) - 1)
    row = face_picker(names, state, fs.key)
    face = fs.faces[row]
    whole = fs.source  # the every-face set when fs is its largest-face view (FaceSet.largest), else None
    if whole is not None and (rows := photo_rows_for(whole.key, whole).get(face.digest)):
        return _other_face(ds, fs, row, whole, rows, int(model.labels[row]))
    st.caption(f"person (folder): {face.person or '-'}  \ngroup: {int(model.labels[row])}")
    st.image(crops(fs, [row])[0], width=150)
    siblings = photo_rows_for(fs.key, fs).get(face.digest)
    if siblings:  # a photo with several faces: show them numbered, any of them one click away
        key = f"photo_face_{row}"  # a new query face starts a new choice
        st.radio(PICK_LABEL, siblings, index=siblings.index(row), key=key, horizontal=True, on_change=_to_face,
                 args=(key,), format_func=lambda r: _face_word(fs.faces[r].in_photo),
                 help=f"This photo holds {len(siblings)} faces, numbered from the largest.")  # fmt: skip
        _numbered(ds, face.name, siblings.index(row), tuple(fs.faces[r].box for r in siblings))
    elif ds.folder and (photo := boxed_photo(ds.folder, face.name, tuple(face.box))) is not None:
        with st.expander("The whole photo"):
            st.image(photo, caption=face.name)
    return fs.encodings[row], {"row": row}


def _numbered(ds, name: str, chosen: int, boxes: tuple) -> None:
    photo = numbered_photo(ds.folder, name, chosen, boxes) if ds.folder else None
    if photo is not None:
        st.image(photo, caption=f"{name}: {len(boxes)} faces, the one searched with in orange")


def _other_face(
    ds, fs: FaceSet, row: int, whole: FaceSet, rows: tuple[int, ...], group: int
) -> tuple[np.ndarray, dict]:
    """A photo with several faces on a page that keeps each photo's largest face: any of its faces can be the
    query; face 1 is the row ``row`` of ``fs`` (in K-means group ``group``), another face is searched with its
    encoding from ``whole``."""
    st.caption(f"person (folder): {fs.faces[row].person or '-'}")
    pick = st.radio(PICK_LABEL, range(len(rows)), key=f"photo_face_{row}_whole", horizontal=True,
                    format_func=_face_word, help=f"This photo holds {len(rows)} faces, numbered from the largest.")
    _numbered(ds, fs.faces[row].name, pick, tuple(whole.faces[r].box for r in rows))
    st.image(crops(whole, [rows[pick]])[0], width=150)
    if pick == 0:
        st.caption(f"group: {group}")
        return fs.encodings[row], {"row": row}
    st.caption(f"Face {pick + 1} is not on the Clusters and Similar faces pages, which keep each photo's largest "
               "face as the article did: it is searched like a new photo, with these photos' PCA. The Photos "
               "page's switch puts every face on them.")  # fmt: skip
    encoding = whole.encodings[rows[pick]]
    return encoding, {"encoding": encoding}


def upload_query(ds) -> tuple[np.ndarray, dict]:
    """An uploaded photo's face (the largest, or the one picked when it holds several); return
    ``(encoding, find_similar kwargs)``. Stops the page until a usable photo is uploaded."""
    upload = st.file_uploader("A photo with a face", type=UPLOAD_TYPES, key="query_upload")
    if upload is None:
        st.info("Upload a photo: with several faces, pick the one to search with (the largest by default).",
                icon=":material/upload:")  # fmt: skip
        st.stop()
    data = upload.getvalue()
    digest = content_digest(data)
    try:
        encoded = query_for(digest, ds.settings.key, data, ds.settings)
    except FaceCoreError as exc:
        st.error(str(exc))
        st.stop()
    found = len(encoded.boxes)
    pick = 0
    if found > 1:
        pick = st.radio(PICK_LABEL, range(found), key=f"upload_face_{digest[:16]}", horizontal=True,
                        format_func=_face_word, help="Numbered from the largest face.")  # fmt: skip
        boxes = tuple(tuple(int(v) for v in b) for b in encoded.boxes)
        st.image(numbered_upload(digest, pick, data, boxes),
                 caption=f"{found} faces found; the one searched with in orange")  # fmt: skip
    st.image(encoded.thumbs[pick], width=150)
    st.caption("Projected with these photos' PCA.")
    return encoded.encodings[pick], {"encoding": encoded.encodings[pick]}
