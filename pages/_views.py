"""Tables, captions and small pictures the pages show, built from a face set: presentation only.

Every function takes facecore results (a :class:`~facecore.faceset.FaceSet`,
a fitted :class:`~facecore.similarity.SimilarityModel`) and returns plain
data for a widget: pandas frames, strings, data URIs. No Streamlit calls, no
loops that decide anything: the numbers come from facecore.
"""

from __future__ import annotations

import base64
import io
import zipfile
from base64 import b64encode
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw, UnidentifiedImageError

from facecore import Face, FaceCoreError, FaceSet, ImageRef, SimilarityModel, Skipped
from facecore import settings as S
from facecore.evaluation import cluster_persons
from facecore.imaging import decode_image


def _placeholder() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (S.THUMB_SIDE, S.THUMB_SIDE), (226, 229, 235)).save(buf, format="JPEG")
    return buf.getvalue()


#: The grey square shown where the cache has no crop of a face.
PLACEHOLDER = _placeholder()


def face_label(face: Face) -> str:
    """A face's label: its photo's name, with ``#n`` for the second and later faces of a photo."""
    return face.name if face.in_photo == 0 else f"{face.name} #{face.in_photo + 1}"


def face_names(faceset: FaceSet) -> list[str]:
    """One label per face: its file name, with ``#n`` for the second and later faces of a photo."""
    return [face_label(f) for f in faceset.faces]


def matching_faces(names: Sequence[str], text: str, limit: int) -> tuple[list[int], int]:
    """The rows whose name contains ``text`` (any case), the first ``limit`` of them, and how many match in all."""
    needle = text.strip().lower()
    rows = [i for i, name in enumerate(names) if needle in name.lower()] if needle else list(range(len(names)))
    return rows[:limit], len(rows)


def hover_texts(faceset: FaceSet, labels: np.ndarray) -> list[str]:
    """Plotly hover text per face: file name, person (parent folder) and cluster, ``<br>``-separated."""
    names = face_names(faceset)
    return [
        f"{name}<br>person: {f.person or '-'}<br>cluster: {int(c)}"
        for name, f, c in zip(names, faceset.faces, labels, strict=True)
    ]


def clusters_frame(faceset: FaceSet, model: SimilarityModel) -> pd.DataFrame:
    """One row per face: path, face index, person, cluster and its ``dims`` PC coordinates (PC1, PC2, ...)."""
    frame = pd.DataFrame(
        {
            "path": [f.name for f in faceset.faces],
            "face": [f.in_photo for f in faceset.faces],
            "person": [f.person or "" for f in faceset.faces],
            "cluster": np.asarray(model.labels, dtype=np.int64),
        }
    )
    pcs = pd.DataFrame(model.reduced, columns=[f"PC{i + 1}" for i in range(model.dims)])
    return pd.concat([frame, pcs], axis=1)


def cluster_table(faceset: FaceSet, model: SimilarityModel) -> pd.DataFrame:
    """One row per cluster: size, its most common person and that person's share, how many people it holds."""
    return pd.DataFrame(cluster_persons(model.labels, faceset.persons, model.k))


def captions(
    faceset: FaceSet,
    indices: Sequence[int] | np.ndarray,
    distances: Sequence[float] | np.ndarray | None = None,
    threshold: float | None = None,
) -> list[str]:
    """Short captions for a thumbnail grid: ``distance (✓ if below threshold) · person or file name``."""
    out = []
    for n, i in enumerate(np.asarray(indices, dtype=np.int64)):
        f = faceset.faces[i]
        who = f.person or f.name.rsplit("/", 1)[-1]
        if distances is None:
            out.append(who)
            continue
        d = float(distances[n])
        mark = " ✓" if threshold is not None and d < threshold else ""
        out.append(f"{d:.2f}{mark} · {who}")
    return out


def same_person_share(faceset: FaceSet, query_person: str | None, indices: Sequence[int] | np.ndarray) -> float | None:
    """Share of the faces at ``indices`` whose person equals ``query_person`` (None when unknown or empty)."""
    idx = np.asarray(indices, dtype=np.int64)
    if query_person is None or len(idx) == 0:
        return None
    return float(np.mean([faceset.faces[i].person == query_person for i in idx]))


def result_frame(
    faceset: FaceSet,
    rows: Sequence[int] | np.ndarray,
    distances: np.ndarray,
    threshold: float,
    names: Sequence[str],
    pictures: Sequence[str] | None = None,
    people: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Ranked results as a table: face picture (data URI, when given), rank, distance, same-person tick
    (strictly below the threshold), file (``names`` of every face), folder, and the People page's person of
    each result (``people``, one per row, when given)."""
    idx = np.asarray(rows, dtype=np.int64)
    dist = np.asarray(distances, dtype=np.float64)
    columns = {} if pictures is None else {"face": list(pictures)}
    columns |= {
        "rank": np.arange(1, len(idx) + 1),
        "distance": np.round(dist, 3),
        "same person?": np.where(dist < threshold, "✓", ""),
        "file": [names[i] for i in idx],
        "folder": [faceset.faces[i].person or "" for i in idx],
    }
    if people is not None:
        columns["person"] = list(people)
    return pd.DataFrame(columns)


def point_row(customdata: object) -> int | None:
    """The face row a selected scatter point carries: its ``customdata`` is the row, or ``[row, group]``
    (a list, or the typed array the browser sends back as ``{"0": row, "1": group}`` or base64 ``bdata``)."""
    value = customdata
    if isinstance(value, dict) and "bdata" in value:
        value = np.frombuffer(base64.b64decode(value["bdata"]), dtype=value.get("dtype", "i4"))
    elif isinstance(value, dict):
        value = [value[k] for k in sorted(value, key=lambda k: int(k) if str(k).isdigit() else 0)]
    if isinstance(value, (list, tuple, np.ndarray)):
        value = value[0] if len(value) else None
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def selection_frame(faceset: FaceSet, rows: Sequence[int], labels: np.ndarray) -> pd.DataFrame:
    """Picked faces as a table: file, folder, group and box (top, right, bottom, left px)."""
    idx = np.asarray(rows, dtype=np.int64)
    return pd.DataFrame(
        {
            "file": [face_label(faceset.faces[i]) for i in idx],
            "folder": [faceset.faces[i].person or "" for i in idx],
            "group": np.asarray(labels, dtype=np.int64)[idx],
            "box": [" ".join(map(str, faceset.faces[i].box)) for i in idx],
        }
    )


def faces_zip(names: Sequence[str], jpegs: Sequence[bytes]) -> bytes:
    """A zip of face crops, one ``NNNN_<file name>.jpg`` per face (numbered: two faces may share a photo)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:  # JPEGs do not compress further
        for i, (name, data) in enumerate(zip(names, jpegs, strict=True)):
            stem = PurePosixPath(name).stem.replace("#", "face") or "face"
            zf.writestr(f"{i + 1:04d}_{stem}.jpg", data)
    return buf.getvalue()


def skipped_frame(skipped: Sequence[Skipped]) -> pd.DataFrame:
    """The skipped files as a table with columns path, reason, detail."""
    return pd.DataFrame(
        {
            "path": [s.path for s in skipped],
            "reason": [s.reason for s in skipped],
            "detail": [s.detail for s in skipped],
        }
    )


def face_uris(jpegs: Sequence[bytes], side: int = 64, quality: int = 75) -> list[str]:
    """Small ``data:image/jpeg;base64,…`` URIs of face crops, for showing a face where the mouse hovers.

    Each crop is shrunk to at most ``side`` px: about 2 KB per face, so the
    browser gets one page-sized payload for a few thousand faces. A crop
    Pillow cannot read becomes an empty string (no picture on hover).
    """
    uris = []
    for data in jpegs:
        try:
            with Image.open(io.BytesIO(data)) as im:
                im = im.convert("RGB")
                im.thumbnail((side, side), Image.Resampling.LANCZOS)
                buf = io.BytesIO()
                im.save(buf, format="JPEG", quality=quality)
        except (UnidentifiedImageError, OSError):
            uris.append("")
            continue
        uris.append("data:image/jpeg;base64," + b64encode(buf.getvalue()).decode("ascii"))
    return uris


def photo_with_box(folder: str, name: str, box: tuple[int, int, int, int], side: int = 900) -> bytes | None:
    """The photo ``name`` of the server ``folder`` as a JPEG (longest side ``side`` px) with the face ``box``
    drawn on it; None when the file is not a readable photo inside that folder any more."""
    root = Path(folder).resolve()
    path = (root / name).resolve()
    if root not in path.parents or not path.is_file():
        return None
    try:
        rgb = decode_image(ImageRef(name, path=str(path)).read_bytes())
    except FaceCoreError:
        return None
    im = Image.fromarray(rgb)
    top, right, bottom, left = box
    width = max(2, round(max(im.size) / 250))
    ImageDraw.Draw(im).rectangle((left, top, right, bottom), outline=(37, 99, 235), width=width)
    im.thumbnail((side, side), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=85)
    return buf.getvalue()


# ----------------------------------------------------------------- people (the People page, and others naming persons)


def person_label(person: int, names: Sequence[str | None]) -> str:
    """How a person is shown: its name, or "Person 7" (1-based) until named; "Unsorted" for ``-1``."""
    if person < 0:
        return "Unsorted"
    return names[person] or f"Person {person + 1}"


def typical_first(encodings: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Every face row with a person (``labels >= 0``), grouped by person and most typical first.

    "Typical" is near the person's mean encoding: the first row of each person
    is the face that shows it best. Persons come in label order (largest first).
    """
    labels = np.asarray(labels, dtype=np.int64)
    rows = np.flatnonzero(labels >= 0)
    if not len(rows):
        return rows
    x = np.asarray(encodings, dtype=np.float64)[rows]
    lab = labels[rows]
    counts = np.bincount(lab)
    means = np.zeros((len(counts), x.shape[1]))
    np.add.at(means, lab, x)
    means /= np.maximum(counts, 1)[:, None]
    dist = np.linalg.norm(x - means[lab], axis=1)
    return rows[np.lexsort((dist, lab))]


def representatives(encodings: np.ndarray, labels: np.ndarray, n_persons: int) -> np.ndarray:
    """``(n_persons,)`` the most typical face row of each person (nearest its mean encoding)."""
    order = typical_first(encodings, labels)
    lab = np.asarray(labels, dtype=np.int64)[order]
    first = np.flatnonzero(np.concatenate([[True], lab[1:] != lab[:-1]])) if len(order) else np.zeros(0, np.int64)
    reps = np.full(n_persons, -1, np.int64)
    reps[lab[first]] = order[first]
    return reps


def people_frame(faceset: FaceSet, labels: np.ndarray, names: Sequence[str | None]) -> pd.DataFrame:
    """One row per face, persons first (by number, most typical face first), then the unsorted faces.

    Columns: ``person`` (the number shown on the page, empty when unsorted),
    ``name``, ``photo`` (path as loaded), ``face`` (0 = the photo's largest
    face), ``top``/``right``/``bottom``/``left`` (the face box in px of the photo).
    """
    labels = np.asarray(labels, dtype=np.int64)
    rows = np.concatenate([typical_first(faceset.encodings, labels), np.flatnonzero(labels < 0)])
    faces = [faceset.faces[int(r)] for r in rows]
    lab = labels[rows]
    frame = pd.DataFrame(
        {
            "person": pd.array([int(p) + 1 if p >= 0 else None for p in lab], dtype="Int64"),
            "name": [(names[p] or "") if p >= 0 else "" for p in lab],
            "photo": [f.name for f in faces],
            "face": [f.in_photo for f in faces],
        }
    )
    boxes = np.asarray([f.box for f in faces], dtype=np.int64).reshape(-1, 4)
    for i, col in enumerate(("top", "right", "bottom", "left")):
        frame[col] = boxes[:, i]
    return frame


def _safe_entry(name: str) -> str:
    """A zip entry name for a photo's display name: its parts without empty, ``.`` or ``..``."""
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".", "..")]
    return "/".join(parts) or "photo"


def photo_in_folder(folder: str, name: str, digest: str, allowed: Sequence[Path] = ()) -> bytes | None:
    """The bytes of photo ``name`` of the server ``folder``, or None when it is not safely the same photo.

    Refused: a name that leaves the folder (``..``, absolute), a file whose
    real path (after links) lies neither inside the folder nor under one of
    the ``allowed`` roots (the rule the folder was read with), and a file whose
    content no longer has ``digest`` (replaced since it was encoded).
    """
    from facecore.sources import content_digest

    root = Path(folder).resolve()
    rel = Path(name)
    if rel.is_absolute() or ".." in rel.parts:
        return None
    path = (root / rel).resolve()
    inside = [root, *(Path(a).resolve() for a in allowed)]
    if not any(path == r or r in path.parents for r in inside) or not path.is_file():
        return None
    try:
        data = path.read_bytes()
    except OSError:
        return None
    return data if content_digest(data) == digest else None


def person_zip(
    faceset: FaceSet,
    rows: Sequence[int] | np.ndarray,
    crops: Sequence[bytes],
    folder: str | None = None,
    allowed: Sequence[Path] = (),
) -> tuple[bytes, int]:
    """A zip of one person: ``faces/NNN_<photo>.jpg`` (one crop per row, in order) and, for a server
    ``folder``, ``photos/<path>`` (each photo once, see :func:`photo_in_folder`). Returns ``(zip, photos added)``."""
    import zipfile

    buf = io.BytesIO()
    added: set[str] = set()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, (r, crop) in enumerate(zip(rows, crops, strict=True)):
            face = faceset.faces[int(r)]
            stem = _safe_entry(face.name).replace("/", "_").rsplit(".", 1)[0]
            zf.writestr(f"faces/{n + 1:03d}_{stem}_{face.in_photo}.jpg", crop)
            entry = f"photos/{_safe_entry(face.name)}"
            if folder is None or entry in added:
                continue
            data = photo_in_folder(folder, face.name, face.digest, allowed)
            if data is not None:
                zf.writestr(entry, data)
                added.add(entry)
    return buf.getvalue(), len(added)
