"""One photo as the rest of facecore sees it: :class:`ImageRef` (a display name plus where to read the
bytes), :class:`Skipped` (what could not be used and why), its content digest, its person folder and a
name safe to display.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Protocol

from .. import settings as S
from ..errors import UnreadableImageError


class Member(Protocol):
    """Where an :class:`ImageRef` is unpacked from: a zip member (:class:`~facecore.photos.archives.ZipMember`)."""

    def read(self) -> bytes: ...


@dataclass(frozen=True)
class ImageRef:
    """One candidate image: ``name`` is what users see (relative path), and
    ``path`` (a file on disk), ``data`` (bytes in memory) or ``member`` (a zip
    member, unpacked when read) holds it."""

    name: str
    path: str | None = None
    data: bytes | None = None
    member: Member | None = None

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


def has_image_extension(name: str) -> bool:
    return PurePosixPath(name).suffix.lower() in S.IMAGE_EXTENSIONS


# --------------------------------------------------------------------------- zips and uploads


_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def display_name(name: str) -> str:
    """Return ``name`` safe to print: control and bidi-override characters become ``?``.

    File and member names come from users; a newline or an ANSI escape in one
    must not rewrite the CLI's output, nor U+202E disguise an extension.
    """
    return "".join("?" if (ord(c) < 32 or 0x7F <= ord(c) < 0xA0 or c in _BIDI_CONTROLS) else c for c in name)

def unique_name(name: str, used: set[str]) -> str:
    """Return ``name``, or ``name`` with `` (2)``, `` (3)``... before the suffix if already used."""
    suffix = PurePosixPath(name).suffix
    stem = name[: len(name) - len(suffix)]
    candidate, n = name, 1
    while candidate in used:
        n += 1
        candidate = f"{stem} ({n}){suffix}"
    used.add(candidate)
    return candidate

