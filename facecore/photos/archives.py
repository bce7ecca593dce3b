"""Zip archives and uploads: every way in that is not a folder on the server.

A zip's members are checked up front (names, size, ratio and count limits) and each is unpacked into
memory only when its bytes are read, so zip-slip names cannot escape anywhere and an upload of a whole
collection is never held unpacked at once. Nothing here writes to disk.
"""

from __future__ import annotations

import io
import os
import stat
import threading
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import PurePosixPath
from typing import IO

from .. import settings as S
from ..errors import ArchiveLimitError, DatasetError, UnreadableImageError
from .refs import ImageRef, Skipped, display_name, has_image_extension, unique_name


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
    if not has_image_extension(clean):
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
        images.append(ImageRef(name=unique_name(shown, used), member=ZipMember(archive, info)))
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
            imgs, skip = _upload_zip(data, unique_name(name, used))
            images += [replace(r, name=unique_name(r.name, used)) for r in imgs]
            skipped += skip
        elif not has_image_extension(name):
            skipped.append(Skipped(name, "unsupported type", "not an image or zip file"))
        elif (size := _upload_size(data)) > S.MAX_FILE_BYTES:
            limit = f"{S.MAX_FILE_BYTES // 2**20} MiB"
            skipped.append(Skipped(name, "too large", f"{size / 1e6:.0f} MB is above the {limit} limit"))
        else:
            images.append(ImageRef(name=unique_name(name, used), data=_upload_bytes(data)))
    return images, skipped


def _upload_zip(data: bytes | IO[bytes], zip_name: str) -> tuple[list[ImageRef], list[Skipped]]:
    """The members of an uploaded zip, or the whole zip skipped (``zip bomb``, ``corrupt``) with the reason."""
    try:
        return read_zip(data, prefix=f"{zip_name}/")
    except ArchiveLimitError as exc:
        return [], [Skipped(zip_name, "zip bomb", str(exc))]
    except DatasetError as exc:
        return [], [Skipped(zip_name, "corrupt", str(exc))]
