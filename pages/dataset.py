"""Photos: load them (a folder on this server, uploads or a zip, or the LFW sample), encode, review."""

import streamlit as st

from facecore import (
    IMAGE_EXTENSIONS,
    EncoderSettings,
    FaceCoreError,
    default_dataset_path,
    delete_set,
    from_uploads,
    lfw_sample,
    read_encodings,
    write_imported,
)
from pages._photos.duplicates import near_duplicates
from pages._photos.picker import folder_picker
from pages._photos.review import encoded_before_every_face, faces_found, faces_metric
from pages._photos.suspects import wrong_folder
from pages._photos.tables import skipped_frame
from pages._shared import state as _state
from pages._shared.cached import forget_all, store
from pages._shared.faces_view import EVERY_FACE, keep_query_face
from pages._shared.frame import frame
from pages._shared.jobs import (
    duration,
    forget_query,
    imported_in_session,
    progress_panel,
    shared,
    start_folder_job,
    start_job,
)
from pages._shared.roots import server_roots

UPLOAD_TYPES = sorted(ext.lstrip(".") for ext in IMAGE_EXTENSIONS)

frame("Photos")
st.title("Photos")
st.caption(
    ":material/lock: Face encodings (the 128 numbers that describe each face) are biometric data. Everything here "
    "runs on this server: photos are read "
    "and encoded locally, nothing is uploaded anywhere else, and the encodings stay in the cache file named "
    "in the sidebar until you delete them below."
)

try:
    cache = store()
except FaceCoreError as exc:  # an unusable cache file: nothing can be encoded until it is fixed
    st.error(str(exc))
    st.stop()

busy = st.session_state.get(_state.JOB) is not None

# ----------------------------------------------------------------- how to encode
with st.container(border=True):
    left, right = st.columns(2)
    detector = left.radio(
        "Face detector",
        ["hog", "cnn"],
        format_func={"hog": "HOG (fast)", "cnn": "CNN (finds more poses, much slower on CPU)"}.get,
        key="detector",
        horizontal=True,
        help="How faces are found in a photo. HOG (histogram of oriented gradients) looks for the outline of a "
        "frontal face: fast. CNN (a convolutional neural network) also finds turned and tilted faces, but takes "
        "many times longer without a graphics card.",
    )
    right.toggle(
        "Every face on the Clusters and Similar pages",
        key=EVERY_FACE,
        on_change=keep_query_face,
        help="Every face of each photo is encoded, small faces next to large ones included, and the People page "
        "groups them all. Off: the Clusters and Similar faces pages use the largest face of each photo, as the "
        "article did; on: every face. Switching only changes which faces those pages use: nothing is encoded "
        "again.",
    )
settings = EncoderSettings(detector=detector, all_faces=True)  # every face, once; the largest-face view is derived

# ----------------------------------------------------------------- three ways in
allowed = server_roots()
roots = list(allowed.roots)
if "folder_path" not in st.session_state:
    shared = default_dataset_path()
    st.session_state["folder_path"] = str(shared) if shared.is_dir() and any(shared.iterdir()) else ""

tab_folder, tab_upload, tab_import, tab_sample = st.tabs(
    [
        ":material/folder: Folder on this server",
        ":material/upload: Upload photos or a zip",
        ":material/data_array: Import encodings",
        ":material/science: Sample (LFW)",
    ]
)
with tab_folder:
    path = st.text_input(
        "Folder path",
        key="folder_path",
        placeholder="e.g. " + str(roots[0] / "Pictures" if allowed.home else "/path/to/photos"),
        help="Read with its sub-folders. Sub-folders name the person (person_1/a.jpg), which the pages use "
        "to check results.",
    )
    st.caption(f"Allowed folders ({allowed.why}): " + (", ".join(f"`{r}`" for r in roots) or "none")
               + ("" if allowed.home or roots else ". Set FACECORE_ALLOWED_ROOTS to the folders of your photos."))
    folder_picker(roots)
    if st.button("Encode this folder", key="encode_folder", type="primary", disabled=busy,
                 icon=":material/play_arrow:"):  # fmt: skip
        try:
            start_folder_job(path, settings)
        except FaceCoreError as exc:
            st.session_state[_state.ERROR] = str(exc)  # shown below, until the next encode
        st.rerun()

with tab_upload:
    files = st.file_uploader(
        "Photos or .zip archives",
        type=[*UPLOAD_TYPES, "zip"],
        accept_multiple_files=True,
        key="uploads",
        help="Select many files at once. Zips are opened in memory, a photo at a time; nothing is written to disk.",
    )
    # Streamlit returns a deep copy of the uploads on every run (a second 250 MB for a 250 MB zip): let it go
    # now, or this page's namespace, which the download button's callable keeps after the run, would hold it.
    have_files = bool(files)
    del files
    if st.button("Encode the uploads", key="encode_uploads", type="primary", disabled=busy or not have_files,
                 icon=":material/play_arrow:"):  # fmt: skip
        # The widget's own UploadedFile objects share the bytes Streamlit keeps (no copy); zips are read in
        # place and unpacked a photo at a time while they are encoded.
        uploaded = [(f.name, f) for f in st.session_state.get("uploads") or []]
        label = uploaded[0][0] if len(uploaded) == 1 else f"{len(uploaded):,} uploaded files"
        start_job(label, settings, lambda stop: from_uploads(uploaded), remember=True)
        st.rerun()

with tab_import:
    st.write(
        "Already have the 128 numbers of every face (from this app's download, or another tool)? Import them "
        "instead of encoding: a `.npz` (NumPy's array file) or `.parquet` (a table file) with `encodings` (one "
        "row of 128 per face) and `path` "
        "(each face's photo, inside the allowed folders); `person`, `box`, `digest` and `face` are optional."
    )
    encodings_file = st.file_uploader("Encodings file", type=["npz", "parquet"], key="import_file")
    if st.button("Import", key="import_encodings", type="primary", disabled=busy or encodings_file is None,
                 icon=":material/input:"):  # fmt: skip
        try:
            with st.spinner("Checking and importing the encodings…"):
                found = read_encodings(encodings_file.getvalue(), roots, name=encodings_file.name)
                imported = shared(write_imported(found, cache))
        except FaceCoreError as exc:
            st.session_state[_state.ERROR] = f"{encodings_file.name} was not imported: {exc}"
        else:
            st.session_state.pop(_state.ERROR, None)
            forget_query()
            st.session_state[_state.LOADED] = imported_in_session(imported)
        st.rerun()

with tab_sample:
    st.write(
        "A few people from **Labeled Faces in the Wild** (LFW, a public research set of celebrities' photos), "
        "fetched with scikit-learn "
        "(`fetch_lfw_people`). The first use downloads about 200 MB from the internet "
        "into `~/scikit_learn_data`; later uses read that copy."
    )
    if st.button("Fetch and encode the sample", key="encode_lfw", disabled=busy, icon=":material/download:"):
        start_job("LFW sample", settings, lambda stop: lfw_sample())
        st.rerun()

# ----------------------------------------------------------------- progress
if busy:
    with st.container(border=True):
        progress_panel()

if error := st.session_state.get(_state.ERROR):
    st.error(error)
if notice := st.session_state.pop("delete_notice", None):
    st.success(notice)

# ----------------------------------------------------------------- what was found
ds = _state.loaded()
if ds is None:
    if not busy:
        st.info("No photos loaded yet: choose a folder, upload photos or fetch the sample above.",
                icon=":material/info:")  # fmt: skip
    st.stop()

fs = ds.faceset
st.header(ds.label, divider="gray")
encoded_before_every_face(ds, busy)
if fs.stopped:
    st.warning(
        "Encoding was stopped: only the photos finished so far are in this set. Encode again to "
        "continue; the finished photos come from the cache.",
        icon=":material/pause_circle:",
    )
skips = fs.skip_counts()
unusable = sum(n for reason, n in skips.items() if reason not in ("no face", "duplicate", "unsupported type"))
n_skipped = len(fs.skipped) - fs.other_files  # files that are not photos are counted apart
m1, m2, m3, m4 = st.columns(4)
m1.metric("Photos with a face", f"{fs.photos_with_face:,}", f"of {fs.images:,} photo files", delta_color="off",
          delta_arrow="off")  # fmt: skip
faces_metric(m2, ds)
m3.metric(
    "Skipped",
    f"{n_skipped:,}",
    help=f"no face: {skips['no face']:,} · duplicates: {skips['duplicate']:,} · unusable files: {unusable:,}"
    + (f" · not photos (ignored): {fs.other_files:,}" if fs.other_files else ""),
)
waited = ds.waited or fs.seconds
m4.metric(
    "Encoded in" if fs.encoded else "Opened in",
    duration(waited) if waited >= 1 else f"{waited:.2f} s",
    help=(f"From the click to the result: {fs.encoded:,} photos encoded now, {fs.cached:,} read from the cache"
          if fs.encoded else f"Every photo read from the cache ({fs.cached:,}): nothing was encoded again"),
)

if fs.skipped:
    skipped = skipped_frame(fs.skipped)
    label = f"Skipped files ({n_skipped:,})" + (
        f" and {fs.other_files:,} other file{'s' if fs.other_files > 1 else ''}" if fs.other_files else "")
    with st.expander(f"{label}: why", expanded=len(fs) == 0):
        st.caption(" · ".join(f"{reason}: {n:,}" for reason, n in skips.most_common()))
        st.dataframe(skipped, hide_index=True, key="skipped_table")
        st.download_button("Skipped files (CSV)", skipped.to_csv(index=False), "skipped.csv", "text/csv",
                           key="dl_skipped", icon=":material/download:")  # fmt: skip

if len(fs):
    faces_found(fs)
near_duplicates(ds)
wrong_folder(ds.largest.faceset)  # a folder names its photos' main person, not the others in them

# ----------------------------------------------------------------- the cache
st.subheader("Cached encodings", divider="gray")
st.write(
    f"Encodings and face crops are kept in `{cache.path}` so that opening the same photos again, "
    f"even renamed or moved, is instant. These photos account for {len(ds.digests):,} of its entries."
)
if st.button("Delete these photos' cached encodings and face crops", key="delete_cache", icon=":material/delete:"):
    removed = delete_set(cache, ds.digests, ds.imported)
    st.session_state.pop(_state.LOADED, None)
    forget_query()
    _state.clear_url()  # a reload must not load it again
    forget_all()
    st.session_state["delete_notice"] = (
        f"Deleted the encodings and face crops of {removed:,} photos from {cache.path}. "
        "The photos are unloaded; encoding them again starts from scratch."
    )
    st.rerun()
