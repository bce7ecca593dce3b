"""Finding images: folders on the server (under allowed roots), uploads and zip archives.

Every way in produces :class:`ImageRef` rows (a display name plus the bytes,
the path or the zip member to read them from) and a list of :class:`Skipped`
rows for what could not be used, so one bad file never stops the rest.
Decoding the bytes is :mod:`facecore.imaging`'s job.

Nothing in this module writes to disk: a zip's members are checked up front
(names, size, ratio and count limits) and each is unpacked into memory only
when its bytes are read, so zip-slip names cannot escape anywhere and an
upload of a whole collection is never held unpacked at once.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import IO

from . import settings as S
from .errors import ArchiveLimitError, DatasetError, UnreadableImageError, UnsafeInputError


@dataclass(frozen=True)
class ImageRef:
    """One candidate image: ``name`` is what users see (relative path), and
    ``path`` (a file on disk), ``data`` (bytes in memory) or ``member`` (a zip
    member, unpacked when read) holds it."""

    name: str
    path: str | None = None
    data: bytes | None = None
    member: ZipMember | None = None

    def read_bytes(self) -> bytes:
        """Return the file's bytes; raise :class:`UnreadableImageError` if it cannot be read.

        A file is checked again at read time (it may have changed since the
        scan): a FIFO or device swapped in is refused without blocking, and at
        most ``settings.MAX_FILE_BYTES`` are read. A zip member is unpacked
        now, at most its declared size (``corrupt`` or ``zip bomb`` otherwise).
        """
        if self.data is not None:
            return self.data
        if self.member is not None:
            return self.member.read()
        assert self.path is not None
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
        try:
            fd = os.open(self.path, flags)
        except OSError as exc:
            raise UnreadableImageError("unreadable", exc.strerror or str(exc)) from exc
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise UnreadableImageError("not a file", "a device, pipe or socket, not a regular file")
            if st.st_size > S.MAX_FILE_BYTES:
                raise UnreadableImageError(
                    "too large", f"{st.st_size / 1e6:.0f} MB is above the {S.MAX_FILE_BYTES // 2**20} MiB limit"
                )
            with os.fdopen(fd, "rb", closefd=False) as fh:
                data = fh.read(S.MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise UnreadableImageError("unreadable", exc.strerror or str(exc)) from exc
        finally:
            os.close(fd)
        if len(data) > S.MAX_FILE_BYTES:  # grew while we read it
            raise UnreadableImageError("too large", f"above the {S.MAX_FILE_BYTES // 2**20} MiB limit")
        return data


@dataclass(frozen=True)
class Skipped:
    """A file that was not used, with a short ``reason`` tag and a human ``detail``."""

    path: str
    reason: str
    detail: str = ""


def content_digest(data: bytes) -> str:
    """Return the sha256 hex digest of ``data``: the identity of an image in the cache."""
    return hashlib.sha256(data).hexdigest()


def person_of(name: str) -> str | None:
    """Return the person a relative path names (``person_1/a.jpg`` -> ``person_1``), or None."""
    parts = PurePosixPath(name).parts
    return parts[-2] if len(parts) >= 2 else None


def _has_image_extension(name: str) -> bool:
    return PurePosixPath(name).suffix.lower() in S.IMAGE_EXTENSIONS


# --------------------------------------------------------------------------- folders


def allowed_roots_from_env() -> list[Path]:
    """Return the folders the app may read: ``$FACECORE_ALLOWED_ROOTS`` plus the shared dataset's parent."""
    roots = [Path(p) for p in os.environ.get("FACECORE_ALLOWED_ROOTS", "").split(os.pathsep) if p.strip()]
    shared = S.default_dataset_path()
    if shared.is_dir():
        roots.append(shared.parent)
    return list(dict.fromkeys(r.expanduser().resolve() for r in roots))  # each once, in order


def _is_within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _resolve_roots(allowed_roots: Iterable[Path] | None) -> list[Path] | None:
    return None if allowed_roots is None else [Path(r).resolve() for r in allowed_roots]


def _inside(real: Path, roots: list[Path] | None) -> bool:
    """True when the resolved path ``real`` lies under one of the resolved ``roots`` (None: no limit)."""
    return roots is None or any(_is_within(real, r) for r in roots)


def _refuse_outside(shown: str, real: Path, allowed_roots: Iterable[Path] | None, what: str = "folder") -> None:
    """Raise :class:`UnsafeInputError` when ``real`` lies under none of ``allowed_roots`` (None: no limit)."""
    roots = _resolve_roots(allowed_roots)
    if not _inside(real, roots):
        listed = ", ".join(str(r) for r in roots or ()) or "(none configured)"
        raise UnsafeInputError(
            f"{shown!r} is outside the allowed folders: {listed}. Choose a {what} under one of them."
        )


#: Longest folder path accepted from a user (Linux's PATH_MAX).
MAX_PATH_CHARS = 4096


def clean_folder_text(text: str) -> str:
    """A typed or pasted folder path without surrounding spaces and quotes ("/a b/" and '/a b/' -> /a b/)."""
    text = str(text).strip()
    while len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    return text


def check_folder(folder: str | os.PathLike[str], allowed_roots: Iterable[Path] | None = None) -> Path:
    """Resolve ``folder`` and check it may be read; return the resolved path.

    Surrounding spaces and quotes of a pasted path are dropped. With
    ``allowed_roots`` given, the real path (symlinks resolved, ``..``
    collapsed) must lie under one of them. Raises :class:`UnsafeInputError`
    for a path outside them and :class:`DatasetError` for one that is empty,
    too long, holds a NUL character, is missing, not a folder or not readable.
    """
    text = clean_folder_text(os.fspath(folder))
    shown = display_name(text if len(text) <= 200 else text[:200] + "…")
    if not text:
        raise DatasetError("Type a folder path first.")
    if "\x00" in text:
        raise DatasetError(f"{shown!r} is not a folder path: it holds a NUL character.")
    if len(text) > MAX_PATH_CHARS:
        raise DatasetError(f"That folder path is {len(text):,} characters long; the limit is {MAX_PATH_CHARS:,}.")
    try:
        # Non-strict first: a path outside the allowed folders is refused the
        # same way whether it exists or not, so the app cannot be used to
        # probe which files exist elsewhere on the server.
        real = Path(text).expanduser().resolve()
    except (OSError, RuntimeError, ValueError) as exc:
        raise DatasetError(f"Folder {shown!r} cannot be resolved ({exc}).") from exc
    _refuse_outside(shown, real, allowed_roots)
    try:
        exists, is_dir = real.exists(), real.is_dir()
    except OSError as exc:  # e.g. a name longer than the file system allows
        raise DatasetError(f"Folder {shown!r} cannot be used ({exc.strerror or exc}).") from exc
    if not exists:
        raise DatasetError(f"Folder {shown!r} does not exist.")
    if not is_dir:
        raise DatasetError(f"{shown!r} is not a folder: give the folder that holds the photos.")
    try:
        # Really try: os.access says yes to root even where reading would fail.
        with os.scandir(real):
            pass
    except OSError as exc:
        raise DatasetError(f"Folder {shown!r} is not readable ({exc.strerror or exc}).") from exc
    return real


def scan_folder(
    folder: str | os.PathLike[str],
    allowed_roots: Iterable[Path] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> tuple[list[ImageRef], list[Skipped]]:
    """List the images under ``folder`` recursively, in sorted order.

    Returns ``(images, skipped)``; names are paths relative to the folder with
    ``/`` separators. With ``allowed_roots``, files whose real path (after
    symlinks) leaves them are skipped; device files, FIFOs and unreadable
    entries are skipped with a reason; links to folders are not followed;
    files without an image extension are skipped as ``unsupported type``;
    hidden files and folders (``.name``) are ignored. ``should_stop`` is
    asked before each file and ends the scan early.
    """
    root = check_folder(folder, allowed_roots)
    roots = _resolve_roots(allowed_roots)
    images: list[ImageRef] = []
    skipped: list[Skipped] = []
    used: set[str] = set()  # names made printable may collide

    def on_error(exc: OSError) -> None:
        rel = os.path.relpath(exc.filename or str(root), root)
        skipped.append(Skipped(display_name(rel), "unreadable", exc.strerror or str(exc)))

    for dirpath, dirnames, filenames in os.walk(root, onerror=on_error, followlinks=False):
        if should_stop is not None and should_stop():
            break
        dirnames.sort()
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for d in dirnames:
            if os.path.islink(os.path.join(dirpath, d)):  # os.walk does not enter them; say so
                rel = display_name((Path(dirpath) / d).relative_to(root).as_posix())
                skipped.append(Skipped(rel, "symlinked folder", "links to folders are not followed; open the target"))
        for fn in sorted(filenames):
            if should_stop is not None and should_stop():
                break
            if fn.startswith("."):
                continue
            full = Path(dirpath) / fn
            rel = display_name(full.relative_to(root).as_posix())
            if not _has_image_extension(fn):
                kind = display_name(full.suffix) or "no extension"
                skipped.append(Skipped(rel, "unsupported type", f"{kind} is not an image type"))
                continue
            try:
                real = full.resolve(strict=True)
                mode = os.stat(real).st_mode
            except (OSError, RuntimeError) as exc:
                skipped.append(Skipped(rel, "unreadable", str(exc)))
                continue
            if not _inside(real, roots):
                skipped.append(Skipped(rel, "outside allowed folders", "a link that leads outside the allowed folders"))
                continue
            if not stat.S_ISREG(mode):
                skipped.append(Skipped(rel, "not a file", "a device, pipe or socket, not a regular file"))
                continue
            images.append(ImageRef(name=_unique(rel, used), path=str(real)))
    return images, skipped


# --------------------------------------------------------------------------- zips and uploads


_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def display_name(name: str) -> str:
    """Return ``name`` safe to print: control and bidi-override characters become ``?``.

    File and member names come from users; a newline or an ANSI escape in one
    must not rewrite the CLI's output, nor U+202E disguise an extension.
    """
    return "".join("?" if (ord(c) < 32 or 0x7F <= ord(c) < 0xA0 or c in _BIDI_CONTROLS) else c for c in name)


def _unique(name: str, used: set[str]) -> str:
    """Return ``name``, or ``name`` with `` (2)``, `` (3)``... before the suffix if already used."""
    suffix = PurePosixPath(name).suffix
    stem = name[: len(name) - len(suffix)]
    candidate, n = name, 1
    while candidate in used:
        n += 1
        candidate = f"{stem} ({n}){suffix}"
    used.add(candidate)
    return candidate


def _safe_member_name(name: str) -> str | None:
    """Return a clean relative name for a zip member, or None if it is unsafe."""
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return None
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if any(p == ".." for p in parts) or not parts:
        return None
    return display_name("/".join(p for p in parts if p != "."))


def _check_zip_directory(fh: IO[bytes], label: str, max_members: int) -> None:
    """Refuse an archive whose end record declares too many entries, before zipfile parses them all.

    zipfile builds one object per entry at open (a 200 MB upload of empty
    entries would take millions of them), so the count and the size of the
    central directory are checked first from the end-of-archive record.
    """
    end_record = getattr(zipfile, "_EndRecData", None)  # private but stable since Python 2
    if end_record is None:  # pragma: no cover - a future Python without it keeps the later check
        return
    try:
        rec = end_record(fh)
    except (OSError, ValueError, EOFError):
        rec = None
    finally:
        fh.seek(0)
    if not rec:
        return  # zipfile itself will say it is not a zip
    entries, dir_size = rec[4], rec[5]  # _ECD_ENTRIES_TOTAL, _ECD_SIZE
    if entries > max_members or dir_size > max_members * 1024:
        raise ArchiveLimitError(
            f"{label} has {entries} entries ({dir_size // 1024} KiB of directory); "
            f"the limit is {max_members}: split it into smaller archives."
        )


#: What a zip or an upload can be read from: its bytes, a seekable binary file object, or a path on disk.
ArchiveSource = bytes | IO[bytes] | str | os.PathLike[str]


class _MemberReader(zipfile.ZipFile):
    """A ZipFile that unpacks members by their ZipInfo without reading the archive's directory again.

    :func:`read_zip` read and checked the directory once; parsing it again for
    every member would cost ~50 ms per 5,000 entries per member. If a Python
    renames this private hook, the directory is parsed again: slower, same bytes.
    """

    def _RealGetContents(self) -> None:  # noqa: N802 - zipfile's name
        """Read nothing: the members come as the ZipInfo objects of the first reading."""


class _Archive:
    """One zip shared by the ImageRefs of its members, read by one of them at a time.

    ``source`` is a path (opened for each read: no file handle stays open) or a
    seekable binary file object such as Streamlit's ``UploadedFile`` (read in
    place, never copied whole). Reads may come from a background thread.
    """

    def __init__(self, source: IO[bytes] | str | os.PathLike[str]) -> None:
        self.source = source
        self._lock = threading.Lock()

    @contextmanager
    def opened(self) -> Iterator[IO[bytes]]:
        """The archive as a file positioned at its start, for this caller alone; raises OSError or ValueError."""
        with self._lock:
            if isinstance(self.source, (str, os.PathLike)):
                with open(self.source, "rb") as fh:
                    yield fh
            else:
                self.source.seek(0)
                yield self.source


class ZipMember:
    """One accepted member of a checked zip: unpacked by :meth:`read`, not before."""

    __slots__ = ("archive", "info")

    def __init__(self, archive: _Archive, info: zipfile.ZipInfo) -> None:
        self.archive = archive
        self.info = info

    def __repr__(self) -> str:
        return f"ZipMember({self.info.filename!r}, {self.info.file_size} bytes)"

    def read(self) -> bytes:
        """The member's bytes; raises UnreadableImageError (``unreadable``, ``corrupt``, ``zip bomb``)."""
        try:
            with self.archive.opened() as fh:
                with _MemberReader(fh) as zf:
                    return _unpack(zf, self.info)
        except zipfile.BadZipFile as exc:  # only where the directory had to be read again
            raise UnreadableImageError("corrupt", f"cannot unpack: {exc}") from exc
        except (OSError, ValueError) as exc:  # the file is gone, or the upload was closed
            detail = getattr(exc, "strerror", None) or str(exc)
            raise UnreadableImageError("unreadable", f"the archive cannot be read: {detail}") from exc


def _archive_of(source: ArchiveSource) -> _Archive:
    """The shared archive over ``source``; bytes are wrapped without a copy (BytesIO shares them)."""
    return _Archive(io.BytesIO(source) if isinstance(source, bytes) else source)


def read_zip(
    source: ArchiveSource,
    prefix: str = "",
    max_members: int = S.ZIP_MAX_MEMBERS,
    max_total_bytes: int = S.ZIP_MAX_TOTAL_BYTES,
    max_ratio: int = S.ZIP_MAX_RATIO,
) -> tuple[list[ImageRef], list[Skipped]]:
    """List the images of a zip archive (bytes, a seekable file object or a path); nothing is written to disk.

    Every member is checked now, none is unpacked: members with absolute or
    ``..`` names are skipped as ``unsafe path``, symbolic links as ``not a
    file``, encrypted ones as ``encrypted``, nested archives as ``nested
    archive``, members compressed more than ``max_ratio`` times (alone, or all
    accepted so far once past 64 MiB) or beyond ``max_total_bytes`` in total as
    ``zip bomb``, by the sizes the directory declares. Each accepted member is
    an :class:`ImageRef` whose ``read_bytes()`` unpacks it, at most its
    declared size (``corrupt`` or ``zip bomb`` then). Repeated names get
    `` (2)``, `` (3)``... Raises :class:`DatasetError` if the archive itself is
    unreadable, and :class:`~facecore.errors.ArchiveLimitError` (a
    DatasetError) if it has more than ``max_members`` entries.
    """
    is_path = isinstance(source, (str, os.PathLike))
    label = display_name(prefix.rstrip("/") or (os.fspath(source) if is_path else "archive"))
    archive = _archive_of(source)
    try:
        with archive.opened() as fh:
            _check_zip_directory(fh, label, max_members)
            try:
                zf = zipfile.ZipFile(fh)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
                raise DatasetError(f"{label} is not a readable zip archive ({exc}).") from exc
            with zf:
                return _list_members(zf, archive, label, prefix, max_members, max_total_bytes, max_ratio)
    except (OSError, ValueError) as exc:  # opening the path, or a closed file object
        raise DatasetError(f"{label} cannot be read ({getattr(exc, 'strerror', None) or exc}).") from exc


def _refusal(info: zipfile.ZipInfo, clean: str, unpacked: int, packed: int, max_ratio: int,
             max_total_bytes: int) -> tuple[str, str] | None:  # fmt: skip
    """Why a member must not be unpacked, as ``(reason, detail)``; None when it may be.

    ``unpacked``/``packed`` are the archive's bytes so far including this member.
    """
    if stat.S_ISLNK(info.external_attr >> 16):
        return "not a file", "a symbolic link inside the archive"
    if clean.lower().endswith(".zip"):
        return "nested archive", "archives inside archives are not opened"
    if not _has_image_extension(clean):
        return "unsupported type", "not an image type"
    if info.flag_bits & 0x1:
        return "encrypted", "password-protected member: unzip it yourself first"
    if info.file_size > S.MAX_FILE_BYTES:
        return "too large", f"{info.file_size / 1e6:.0f} MB unpacked"
    ratio = info.file_size / max(info.compress_size, 1)
    if ratio > max_ratio and info.file_size > 1_000_000:
        return "zip bomb", f"compressed {ratio:.0f}x (limit {max_ratio}x)"
    # Many small members each under the per-member rule still add up:
    # photos barely compress, so a whole archive that does is refused too.
    if unpacked > 64 * 2**20 and unpacked / max(packed, 1) > max_ratio:
        return "zip bomb", f"the archive unpacks more than {max_ratio}x its size"
    if unpacked > max_total_bytes:
        return "zip bomb", f"the archive unpacks to more than {max_total_bytes / 2**30:.1f} GiB"
    return None


def _unpack(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """A member's bytes; raises UnreadableImageError when it cannot be unpacked or is longer than declared."""
    try:
        # Read at most the declared size + 1: a header that lies about
        # the size cannot make us inflate more than that.
        with zf.open(info) as member:
            data = member.read(info.file_size + 1)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, RuntimeError, EOFError,
            NotImplementedError, zlib.error) as exc:  # fmt: skip
        raise UnreadableImageError("corrupt", f"cannot unpack: {exc}") from exc
    if len(data) > info.file_size:
        raise UnreadableImageError("zip bomb", "member is larger than its header says")
    return data


def _list_members(
    zf: zipfile.ZipFile, archive: _Archive, label: str, prefix: str, max_members: int, max_total_bytes: int,
    max_ratio: int,
) -> tuple[list[ImageRef], list[Skipped]]:  # fmt: skip
    """Check every member of ``zf``; the accepted ones become ImageRefs that unpack from ``archive`` when read."""
    images: list[ImageRef] = []
    skipped: list[Skipped] = []
    used: set[str] = set()
    total = packed = 0  # declared bytes of the members accepted so far, and their compressed size
    infos = zf.infolist()
    if len(infos) > max_members:
        raise ArchiveLimitError(
            f"{label} has {len(infos)} entries; the limit is {max_members}: split it into smaller archives."
        )
    for info in (i for i in infos if not i.is_dir()):
        clean = _safe_member_name(info.filename)
        if clean is None:
            skipped.append(Skipped(display_name(f"{prefix}{info.filename}"), "unsafe path",
                                   "absolute or '..' path inside the archive"))  # fmt: skip
            continue
        if PurePosixPath(clean).name.startswith(".") or clean.startswith("__MACOSX/"):
            continue
        shown = f"{prefix}{clean}"
        refused = _refusal(info, clean, total + info.file_size, packed + info.compress_size, max_ratio,
                           max_total_bytes)  # fmt: skip
        if refused:
            skipped.append(Skipped(shown, *refused))
            continue
        # Reading stops at the declared size, so the declared sizes bound what the members unpack to.
        total += info.file_size
        packed += info.compress_size
        images.append(ImageRef(name=_unique(shown, used), member=ZipMember(archive, info)))
    return images, skipped


def _upload_size(data: bytes | IO[bytes]) -> int:
    """Bytes in an upload, without reading it."""
    if isinstance(data, bytes):
        return len(data)
    return data.seek(0, io.SEEK_END)


def _upload_bytes(data: bytes | IO[bytes]) -> bytes:
    """An uploaded image's bytes. Reading a whole BytesIO from its start returns its buffer (no copy in CPython):
    an ``UploadedFile`` gives the very bytes Streamlit keeps."""
    if isinstance(data, bytes):
        return data
    data.seek(0)
    return data.read()


def from_uploads(files: Iterable[tuple[str, bytes | IO[bytes]]]) -> tuple[list[ImageRef], list[Skipped]]:
    """Turn uploaded ``(file name, bytes or seekable file object)`` pairs into images; zip uploads are expanded.

    A zip is read in place (pass the file object, e.g. Streamlit's
    ``UploadedFile``: no copy is made) and its members are unpacked one at a
    time as the encoder reads them (:func:`read_zip`). Only the base name of an
    upload is kept, so a crafted name cannot point anywhere; two uploads with
    the same name become ``a.jpg`` and ``a (2).jpg``. Images above
    ``settings.MAX_FILE_BYTES`` are skipped as ``too large``.
    """
    images: list[ImageRef] = []
    skipped: list[Skipped] = []
    used: set[str] = set()
    for raw_name, data in files:
        name = display_name(PurePosixPath(str(raw_name).replace("\\", "/")).name)
        if name in ("", ".", ".."):
            name = "upload"
        if name.lower().endswith(".zip"):
            imgs, skip = _upload_zip(data, _unique(name, used))
            images += [replace(r, name=_unique(r.name, used)) for r in imgs]
            skipped += skip
        elif not _has_image_extension(name):
            skipped.append(Skipped(name, "unsupported type", "not an image or zip file"))
        elif (size := _upload_size(data)) > S.MAX_FILE_BYTES:
            limit = f"{S.MAX_FILE_BYTES // 2**20} MiB"
            skipped.append(Skipped(name, "too large", f"{size / 1e6:.0f} MB is above the {limit} limit"))
        else:
            images.append(ImageRef(name=_unique(name, used), data=_upload_bytes(data)))
    return images, skipped


def _upload_zip(data: bytes | IO[bytes], zip_name: str) -> tuple[list[ImageRef], list[Skipped]]:
    """The members of an uploaded zip, or the whole zip skipped (``zip bomb``, ``corrupt``) with the reason."""
    try:
        return read_zip(data, prefix=f"{zip_name}/")
    except ArchiveLimitError as exc:
        return [], [Skipped(zip_name, "zip bomb", str(exc))]
    except DatasetError as exc:
        return [], [Skipped(zip_name, "corrupt", str(exc))]


def open_dataset(
    source: str | os.PathLike[str],
    allowed_roots: Iterable[Path] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> tuple[list[ImageRef], list[Skipped]]:
    """Open a folder or a ``.zip`` file on disk as a list of images (see :func:`scan_folder`)."""
    path = Path(source).expanduser()
    if path.suffix.lower() == ".zip" and path.is_file():
        real = path.resolve()  # the archive itself may be a link to somewhere else
        _refuse_outside(str(source), real, allowed_roots, what="zip")
        return read_zip(real, prefix="")
    return scan_folder(path, allowed_roots, should_stop)


def lfw_sample(
    min_faces_per_person: int = 30, max_people: int = 8, per_person: int = 15
) -> tuple[list[ImageRef], list[Skipped]]:
    """A small built-in sample: LFW photos through ``sklearn.datasets.fetch_lfw_people``, as in-memory JPEGs.

    Names are ``<person>/<n>.jpg`` so the identity-aware parts of the app work.
    The first call downloads about 200 MB from the internet; raises
    :class:`DatasetError` saying so when the download is impossible.
    """
    import numpy as np
    from PIL import Image
    from sklearn.datasets import fetch_lfw_people

    try:
        lfw = fetch_lfw_people(min_faces_per_person=min_faces_per_person, resize=1.0, color=True, slice_=None)
    except OSError as exc:  # URLError, socket errors, a read-only data folder
        reason = getattr(exc, "reason", None) or exc.strerror or type(exc).__name__
        raise DatasetError(
            "The LFW sample could not be downloaded: this server has no internet access "
            f"({display_name(str(reason))}). Load a folder on the server or upload photos instead."
        ) from exc
    images = np.asarray(lfw.images)
    if images.size and images.max() <= 1.0:  # some sklearn versions scale pixels to 0..1
        images = images * 255.0
    images = np.clip(images, 0, 255).astype(np.uint8)
    refs: list[ImageRef] = []
    taken: dict[int, int] = {}
    for img, target in zip(images, lfw.target, strict=True):
        person = int(target)
        if person >= max_people or taken.get(person, 0) >= per_person:
            continue
        taken[person] = taken.get(person, 0) + 1
        name = str(lfw.target_names[person]).replace(" ", "_")
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="JPEG", quality=92)
        refs.append(ImageRef(name=f"{name}/{taken[person]:03d}.jpg", data=buf.getvalue()))
    return refs, []
