"""Encodings in and out of files: the ``.npz`` export, and reading encodings made elsewhere.

One home for the file format, so what :func:`encodings_npz` writes is what :func:`read_encodings`
reads back. A file is validated as a whole before anything is written (shape ``(n, 128)``, a float
dtype, finite values, every photo path inside the allowed folders, no row twice); a file that fails
any check raises one :class:`ImportRefusedError` line. Storing an imported set is
:mod:`facecore.storage.imported`'s job.
"""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ImportRefusedError, UnreadableImageError
from ..faceset import FaceSet
from .refs import ImageRef, content_digest, display_name, person_of

#: Prefix of the settings key under which imported encodings are cached.
IMPORT_SETTINGS_PREFIX = "import|"
#: Most faces one import may hold (about 0.6 GB of float32 encodings).
MAX_IMPORT_FACES = 5_000_000
#: Most bytes an import file may unpack to (npz members are zip entries).
MAX_IMPORT_BYTES = 4 * 1024**3


def encodings_npz(faceset: FaceSet) -> bytes:
    """The encodings with their names as a compressed ``.npz``.

    Arrays: ``encodings`` (n, 128) float32, ``path`` (the photo's name in
    the set), ``person``, ``digest`` (sha256 of the photo), ``face`` (0 for
    the largest face of its photo, 1 for the next...) and ``box`` (n, 4) int
    (top, right, bottom, left) px.
    """
    buf = io.BytesIO()
    np.savez_compressed(
        buf,
        encodings=np.asarray(faceset.encodings, dtype=np.float32),
        path=np.array([f.name for f in faceset.faces], dtype=str),
        person=np.array([f.person or "" for f in faceset.faces], dtype=str),
        digest=np.array([f.digest for f in faceset.faces], dtype=str),
        face=np.array([f.in_photo for f in faceset.faces], dtype=np.int64),
        box=np.array([f.box for f in faceset.faces], dtype=np.int64).reshape(-1, 4),
    )
    return buf.getvalue()


@dataclass(frozen=True)
class EncodingsFile:
    """A validated file of encodings, not yet written anywhere.

    ``encodings`` is ``(n, 128)`` float32; ``paths`` the photos' real paths
    (symlinks resolved, inside the allowed folders); ``digests`` each photo's
    sha256 (from the file, else of the photo when it can be read, else of its
    path); ``faces`` each row's place in its photo (0, 1, ... by the file's
    ``face`` numbers); ``boxes`` ``(n, 4)`` int (top, right, bottom, left) px,
    zeros where the file gives none. ``key`` is the sha256 of the file.
    """

    key: str
    name: str
    encodings: np.ndarray
    paths: tuple[str, ...]
    persons: tuple[str | None, ...]
    digests: tuple[str, ...]
    faces: tuple[int, ...]
    boxes: np.ndarray

    @property
    def settings_key(self) -> str:
        """The cache's settings key of this import."""
        return IMPORT_SETTINGS_PREFIX + self.key[:32]

    def __len__(self) -> int:
        return len(self.paths)


def _refuse(what: str, rule: str) -> ImportRefusedError:
    return ImportRefusedError(display_name(f"Cannot import {what}: {rule}. Nothing was imported."))


# --------------------------------------------------------------------------- reading


def _read_source(source: str | os.PathLike[str] | bytes) -> tuple[bytes, str]:
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source), "the uploaded file"
    path = Path(source)
    shown = path.name or str(path)
    try:
        size = path.stat().st_size
        if size > MAX_IMPORT_BYTES:
            raise _refuse(shown, f"{size / 1e9:.1f} GB is above the {MAX_IMPORT_BYTES / 1e9:.1f} GB limit")
        return path.read_bytes(), shown
    except OSError as exc:
        raise _refuse(shown, f"the file cannot be read ({exc.strerror or exc})") from exc


def _columns_npz(data: bytes, shown: str) -> dict[str, np.ndarray]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            total = sum(i.file_size for i in zf.infolist())
            if total > MAX_IMPORT_BYTES:
                limit = MAX_IMPORT_BYTES / 1e9
                raise _refuse(shown, f"it unpacks to {total / 1e9:.1f} GB, above the {limit:.1f} GB limit")
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            return {name: npz[name] for name in npz.files}
    except ImportRefusedError:
        raise
    except ValueError as exc:  # object arrays need pickle, which is never loaded from a user's file
        raise _refuse(shown, f"an array cannot be read without unpickling Python objects ({exc})") from exc
    except (OSError, EOFError, zipfile.BadZipFile, MemoryError) as exc:
        raise _refuse(shown, f"the .npz is damaged ({type(exc).__name__}: {exc})") from exc


def _columns_parquet(data: bytes, shown: str) -> dict[str, np.ndarray]:
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise _refuse(shown, "reading .parquet needs the package pyarrow (`pip install pyarrow`), or use .npz") from exc
    try:
        table = pq.read_table(pa.BufferReader(data))
    except (pa.ArrowException, OSError, MemoryError) as exc:
        raise _refuse(shown, f"the .parquet is damaged ({type(exc).__name__}: {exc})") from exc
    out: dict[str, np.ndarray] = {}
    for name in table.column_names:
        col = table.column(name).combine_chunks()
        if pa.types.is_list(col.type) or pa.types.is_fixed_size_list(col.type) or pa.types.is_large_list(col.type):
            lengths = pc.list_value_length(col).to_numpy(zero_copy_only=False)
            if col.null_count or len(set(lengths.tolist())) > 1:
                raise _refuse(shown, f"column {name!r} holds lists of different lengths or empty rows")
            width = int(lengths[0]) if len(lengths) else 0
            out[name] = col.flatten().to_numpy(zero_copy_only=False).reshape(len(col), width)
        else:
            out[name] = col.to_numpy(zero_copy_only=False)
    if "encodings" not in out and "encoding" in out:
        out["encodings"] = out.pop("encoding")
    return out


def _columns(data: bytes, shown: str) -> dict[str, np.ndarray]:
    if data[:4] == b"PK\x03\x04":
        return _columns_npz(data, shown)
    if data[:4] == b"PAR1" and data[-4:] == b"PAR1":
        return _columns_parquet(data, shown)
    raise _refuse(shown, "it is neither a .npz nor a .parquet file of encodings")


# --------------------------------------------------------------------------- validating


def _encodings(cols: dict[str, np.ndarray], shown: str) -> np.ndarray:
    if "encodings" not in cols or "path" not in cols:
        raise _refuse(shown, f"it needs the arrays 'encodings' (n, 128) and 'path' (n); it has {sorted(cols)}")
    enc = cols["encodings"]
    if enc.ndim != 2 or enc.shape[1] != 128 or enc.shape[0] == 0:
        raise _refuse(shown, f"'encodings' must have shape (n, 128) with n >= 1, got {tuple(enc.shape)}")
    if enc.shape[0] > MAX_IMPORT_FACES:
        raise _refuse(shown, f"{enc.shape[0]:,} faces is above the {MAX_IMPORT_FACES:,} limit")
    if not np.issubdtype(enc.dtype, np.floating):
        raise _refuse(shown, f"'encodings' must hold floats (float16/32/64), got {enc.dtype}")
    with np.errstate(over="ignore"):
        enc32 = enc.astype(np.float32)
    bad = np.flatnonzero(~np.isfinite(enc32).all(axis=1))
    if len(bad):
        raise _refuse(shown, f"{len(bad):,} rows of 'encodings' hold NaN or infinite values (first: row {bad[0]})")
    return enc32


def _strings(cols: dict[str, np.ndarray], name: str, n: int, shown: str) -> list[str] | None:
    if name not in cols:
        return None
    arr = cols[name]
    if arr.shape != (n,) or arr.dtype.kind not in "UO":
        raise _refuse(shown, f"'{name}' must be {n:,} strings, got {arr.dtype} of shape {tuple(arr.shape)}")
    values = arr.tolist()
    if not all(isinstance(v, str) or v is None for v in values):
        raise _refuse(shown, f"'{name}' must hold only strings")
    return ["" if v is None else v for v in values]


def inside_roots(real: Path, roots: Sequence[Path]) -> bool:
    return any(real == r or r in real.parents for r in roots)


def _paths(raw: list[str], roots: Sequence[Path], base: Path, shown: str) -> list[str]:
    """Each row's real path (relative ones taken from ``base``), refusing any outside ``roots``."""
    out: dict[str, str] = {}  # raw -> real: 100,000 rows often name a few thousand photos
    for i, p in enumerate(raw):
        if p in out:
            continue
        if not p or "\x00" in p:
            raise _refuse(shown, f"row {i} has an empty path or one with a NUL character")
        try:
            real = (base / Path(p).expanduser()).resolve()
        except (OSError, RuntimeError, ValueError) as exc:
            raise _refuse(shown, f"the path of row {i} ({p[:200]!r}) cannot be resolved ({exc})") from exc
        if not inside_roots(real, roots):
            listed = ", ".join(str(r) for r in roots)
            raise _refuse(shown, f"the photo {p[:200]!r} (row {i}) is outside the allowed folders ({listed})")
        out[p] = str(real)
    return [out[p] for p in raw]


def path_digest(path: str) -> str:
    """The stand-in digest of a photo that neither the file nor the disk gives the content of: sha256 of its path."""
    return hashlib.sha256(b"facecore-import-path\x00" + path.encode("utf-8", "surrogateescape")).hexdigest()


def _digests(given: list[str] | None, paths: list[str], shown: str) -> list[str]:
    if given is not None:
        for i, d in enumerate(given):
            if d and (len(d) != 64 or d.strip("0123456789abcdef")):
                raise _refuse(shown, f"'digest' of row {i} is not a sha256 hex digest: {d[:80]!r}")
    known: dict[str, str] = {}
    out = []
    for i, path in enumerate(paths):
        if given is not None and given[i]:
            out.append(given[i])
            continue
        if path not in known:
            try:
                known[path] = content_digest(ImageRef(path, path=path).read_bytes())
            except UnreadableImageError:
                known[path] = path_digest(path)
        out.append(known[path])
    return out


def _faces(cols: dict[str, np.ndarray], digests: list[str], enc: np.ndarray, shown: str) -> list[int]:
    """Each row's place among its photo's rows (0, 1, ...); refuses a photo's face given twice."""
    n = len(digests)
    if "face" in cols:
        face = cols["face"]
        if face.shape != (n,) or face.dtype.kind not in "iu" or (len(face) and face.min() < 0):
            raise _refuse(shown, f"'face' must be {n:,} integers >= 0, got {face.dtype} of shape {tuple(face.shape)}")
        ident = [f"{d}:{int(k)}" for d, k in zip(digests, face.tolist(), strict=True)]
        order_key = face.astype(np.int64)
    else:  # no face numbers: the same photo with the very same encoding is the repeat
        ident = [d + ":" + hashlib.sha1(row.tobytes()).hexdigest() for d, row in zip(digests, enc, strict=True)]
        order_key = np.arange(n)
    seen: dict[str, int] = {}
    for i, key in enumerate(ident):
        j = seen.setdefault(key, i)
        if j != i:
            raise _refuse(shown, f"rows {j} and {i} are the same face of the same photo (duplicate rows)")
    # rank of each row among its photo's rows, by face number
    order = sorted(range(n), key=lambda i: (digests[i], int(order_key[i])))
    ranks = [0] * n
    for pos, i in enumerate(order):
        ranks[i] = ranks[order[pos - 1]] + 1 if pos and digests[order[pos - 1]] == digests[i] else 0
    return ranks


def _boxes(cols: dict[str, np.ndarray], n: int, shown: str) -> np.ndarray:
    if "box" not in cols:
        return np.zeros((n, 4), dtype=np.int64)
    box = cols["box"]
    if box.shape != (n, 4) or box.dtype.kind not in "iu":
        raise _refuse(shown, f"'box' must be ({n:,}, 4) integers (top, right, bottom, left), got {box.dtype} "
                             f"of shape {tuple(box.shape)}")  # fmt: skip
    box = box.astype(np.int64)
    t, r, b, lf = box.T
    bad = np.flatnonzero((t < 0) | (lf < 0) | (b <= t) | (r <= lf))
    if len(bad):
        raise _refuse(shown, f"{len(bad):,} boxes are not (top, right, bottom, left) with top < bottom and "
                             f"left < right (first: row {bad[0]}: {box[bad[0]].tolist()})")  # fmt: skip
    return box


def read_encodings(
    source: str | os.PathLike[str] | bytes,
    allowed_roots: Iterable[str | os.PathLike[str]],
    *,
    base: str | os.PathLike[str] | None = None,
    name: str | None = None,
) -> EncodingsFile:
    """Read and validate a ``.npz`` or ``.parquet`` file of encodings (a path, or the bytes of an upload).

    Arrays/columns: ``encodings`` (n, 128) floats and ``path`` (n strings) are
    required; ``person``, ``digest`` (sha256 of each photo), ``face`` (its
    number in the photo) and ``box`` (n, 4) are optional, as
    :func:`encodings_npz` writes them. Relative paths are taken from ``base``
    (default: the first allowed root). Reads photos only to hash those
    without a digest. Raises :class:`ImportRefusedError` (one line) for any
    malformed file; writes nothing.
    """
    roots = [Path(r).expanduser().resolve() for r in allowed_roots]
    data, shown = _read_source(source)
    if not roots:
        raise _refuse(shown, "no allowed folder was given for its photos (--root DIR, or FACECORE_ALLOWED_ROOTS)")
    cols = _columns(data, shown)
    enc = _encodings(cols, shown)
    n = len(enc)
    raw_paths = _strings(cols, "path", n, shown)
    assert raw_paths is not None
    persons = _strings(cols, "person", n, shown)
    given = _strings(cols, "digest", n, shown)
    boxes = _boxes(cols, n, shown)
    paths = _paths(raw_paths, roots, Path(base).expanduser().resolve() if base is not None else roots[0], shown)
    digests = _digests(given, paths, shown)
    faces = _faces(cols, digests, enc, shown)
    return EncodingsFile(
        key=content_digest(data),
        name=name or (Path(source).stem if not isinstance(source, bytes | bytearray | memoryview) else "imported"),
        encodings=enc,
        paths=tuple(paths),
        persons=tuple((p or None) if persons is not None else person_of(path) for p, path in
                      zip(persons or [""] * n, paths, strict=True)),  # fmt: skip
        digests=tuple(digests),
        faces=tuple(faces),
        boxes=boxes,
    )
