"""Dataset: load photos (a folder on this server, uploads or a zip, or the LFW sample), encode, review."""

import time

import streamlit as st

from facecore import EncoderSettings, FaceCoreError, from_uploads, scan_folder
from facecore.app_support import captions, encodings_npz, lfw_sample, skipped_frame
from facecore.settings import THUMB_SIDE, default_dataset_path
from facecore.sources import allowed_roots_from_env, check_folder
from pages._common import (
    UPLOAD_TYPES,
    adopt_finished_job,
    forget_dataset,
    gallery,
    progress_text,
    start_job,
    store,
)

PER_PAGE = 60

st.title("Dataset")
st.caption(
    ":material/lock: Face encodings are biometric data. Everything here runs on this server: photos are read "
    "and encoded locally, nothing is uploaded anywhere else, and the encodings stay in the cache file named "
    "in the sidebar until you delete them below."
)

try:
    cache = store()
except FaceCoreError as exc:  # an unusable cache file: nothing can be encoded until it is fixed
    st.error(str(exc))
    st.stop()

job = st.session_state.get("encode_job")
busy = job is not None and job.running

# ----------------------------------------------------------------- how to encode
with st.container(border=True):
    left, right = st.columns(2)
    detector = left.radio(
        "Face detector",
        ["hog", "cnn"],
        format_func={"hog": "HOG (fast)", "cnn": "CNN (finds more poses, much slower on CPU)"}.get,
        key="detector",
        horizontal=True,
    )
    all_faces = right.toggle(
        "Every face of each photo",
        key="all_faces",
        help="Off: only the largest face of each photo is kept. On: group photos give one face each. "
        "Both come from the same cached detection, so switching costs no re-encoding.",
    )
settings = EncoderSettings(detector=detector, all_faces=all_faces)

# ----------------------------------------------------------------- three ways in
roots = allowed_roots_from_env()
if "folder_path" not in st.session_state:
    shared = default_dataset_path()
    st.session_state["folder_path"] = str(shared) if shared.is_dir() else ""

tab_folder, tab_upload, tab_sample = st.tabs(
    [
        ":material/folder: Folder on this server",
        ":material/upload: Upload photos or a zip",
        ":material/science: Sample (LFW)",
    ]
)
with tab_folder:
    path = st.text_input(
        "Folder path",
        key="folder_path",
        help="Read recursively. Sub-folders name the person (person_1/a.jpg), which the pages use to check results.",
    )
    st.caption("Allowed folders: " + (", ".join(f"`{r}`" for r in roots) or "none (set FACECORE_ALLOWED_ROOTS)"))
    if st.button(
        "Encode this folder", key="encode_folder", type="primary", disabled=busy, icon=":material/play_arrow:"
    ):
        try:
            folder = check_folder(path, roots)
        except FaceCoreError as exc:
            st.error(str(exc))
        else:
            job = start_job(
                f"{folder.name} (folder)", settings, lambda stop: scan_folder(folder, roots, stop), str(folder)
            )

with tab_upload:
    files = st.file_uploader(
        "Photos or .zip archives",
        type=[*UPLOAD_TYPES, "zip"],
        accept_multiple_files=True,
        key="uploads",
        help="Select many files at once. Zips are opened in memory; nothing is written to disk.",
    )
    if st.button(
        "Encode the uploads",
        key="encode_uploads",
        type="primary",
        disabled=busy or not files,
        icon=":material/play_arrow:",
    ):
        uploaded = [(f.name, f.getvalue()) for f in files]
        job = start_job(f"{len(uploaded)} uploaded file(s)", settings, lambda stop: from_uploads(uploaded))

with tab_sample:
    st.write(
        "A few people from **Labeled Faces in the Wild**, fetched with scikit-learn "
        "(`fetch_lfw_people`). The first use downloads about 200 MB from the internet "
        "into `~/scikit_learn_data`; later uses read that copy."
    )
    if st.button("Fetch and encode the sample", key="encode_lfw", disabled=busy, icon=":material/download:"):
        job = start_job("LFW sample", settings, lambda stop: lfw_sample())

# ----------------------------------------------------------------- progress
if job is not None:  # running, or finished since app.py looked (a fast failure)
    with st.container(border=True):
        st.markdown(f"**Encoding {job.label}**")
        bar = st.progress(0.0, text=job.phase)
        st.button(
            "Stop",
            key="stop_encoding",
            on_click=job.stop,
            icon=":material/stop_circle:",
            help="Photos finished so far are kept and cached; encode again later to continue.",
        )
        while job.running:  # a click anywhere reruns the page; the job itself keeps going
            fraction, text = progress_text(job)
            bar.progress(fraction, text=text)
            time.sleep(0.3)
    adopt_finished_job()
    st.rerun()

if error := st.session_state.get("encode_error"):
    st.error(error)
if notice := st.session_state.pop("delete_notice", None):
    st.success(notice)

# ----------------------------------------------------------------- what was found
ds = st.session_state.get("dataset")
if ds is None:
    st.info("No dataset loaded yet: choose a folder, upload photos or fetch the sample above.", icon=":material/info:")
    st.stop()

fs = ds.faceset
st.header(ds.label, divider="gray")
if fs.stopped:
    st.warning(
        "Encoding was stopped: only the photos finished so far are in this set. Encode again to "
        "continue; the finished photos come from the cache.",
        icon=":material/pause_circle:",
    )
m1, m2, m3, m4 = st.columns(4)
m1.metric("Photos", f"{fs.encoded + fs.cached:,} of {fs.images:,}" if fs.stopped else f"{fs.images:,}")
m2.metric("Faces", f"{len(fs):,}")
m3.metric("Skipped", f"{len(fs.skipped):,}")
m4.metric(
    "Time",
    f"{fs.seconds:.1f} s" if fs.seconds >= 1 else f"{fs.seconds:.2f} s",
    help=f"{fs.encoded:,} photos encoded now, {fs.cached:,} read from the cache",
)

if fs.skipped:
    skipped = skipped_frame(fs.skipped)
    with st.expander(f"Skipped files ({len(skipped):,}) and why", expanded=len(fs) == 0):
        counts = skipped["reason"].value_counts()
        st.caption(" · ".join(f"{reason}: {n}" for reason, n in counts.items()))
        st.dataframe(skipped, hide_index=True, key="skipped_table")
        st.download_button(
            "Skipped files (CSV)",
            skipped.to_csv(index=False),
            "skipped.csv",
            "text/csv",
            key="dl_skipped",
            icon=":material/download:",
        )

if len(fs):
    st.subheader("Faces found")
    pages = (len(fs) - 1) // PER_PAGE + 1
    if pages > 1:
        st.session_state["faces_page"] = min(st.session_state.get("faces_page", 1), pages)
        page = st.number_input(f"Page (of {pages})", 1, pages, key="faces_page", width=180)
    else:
        page = 1
    first = (page - 1) * PER_PAGE
    shown = range(first, min(first + PER_PAGE, len(fs)))
    st.caption(f"Faces {first + 1}–{shown[-1] + 1} of {len(fs):,}, as the {THUMB_SIDE} px crops kept in the cache.")
    gallery(ds, shown, captions(fs, shown), width=88)
    st.download_button(
        "Encodings (.npz)",
        lambda: encodings_npz(fs),
        "encodings.npz",
        "application/octet-stream",
        key="dl_encodings",
        icon=":material/download:",
        help="encodings (n, 128) float32 with path, person, digest, face index and box per row",
    )

# ----------------------------------------------------------------- the cache
st.subheader("Cached encodings", divider="gray")
st.write(
    f"Encodings and face thumbnails are kept in `{cache.path}` so that opening the same photos again, "
    f"even renamed or moved, is instant. This dataset has {len(ds.digests):,} photos in it."
)
if st.button("Delete this dataset's cached encodings and thumbnails", key="delete_cache", icon=":material/delete:"):
    removed = cache.delete(ds.digests)
    forget_dataset()
    st.session_state["delete_notice"] = (
        f"Deleted the encodings and thumbnails of {removed:,} photos from {cache.path}. "
        "The dataset is unloaded; encoding it again starts from scratch."
    )
    st.rerun()
