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
    """Pick a face of the set (its photo's other faces one click away); return ``(encoding, find_similar kwargs)``."""
    state["query_face"] = min(max(int(state.get("query_face", 0)), 0), len(fs) - 1)
    row = face_picker(names, state, fs.key)
    face = fs.faces[row]
    st.image(crops(fs, [row])[0], width=150)
    st.caption(f"person (folder): {face.person or '-'}  \ngroup: {int(model.labels[row])}")
    siblings = photo_rows_for(fs.key, fs).get(face.digest)
    if siblings:  # a photo with several faces: show them numbered, any of them one click away
        key = f"photo_face_{row}"  # a new query face starts a new choice
        st.radio(PICK_LABEL, siblings, index=siblings.index(row), key=key, horizontal=True, on_change=_to_face,
                 args=(key,), format_func=lambda r: _face_word(fs.faces[r].in_photo),
                 help=f"This photo holds {len(siblings)} faces, numbered from the largest.")  # fmt: skip
        boxes = tuple(fs.faces[r].box for r in siblings)
        photo = numbered_photo(ds.folder, face.name, siblings.index(row), boxes) if ds.folder else None
        if photo is not None:
            st.image(photo, caption=f"{face.name}: {len(siblings)} faces, the one searched with in orange")
    elif ds.folder and (photo := boxed_photo(ds.folder, face.name, tuple(face.box))) is not None:
        with st.expander("The whole photo"):
            st.image(photo, caption=face.name)
    return fs.encodings[row], {"row": row}


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
