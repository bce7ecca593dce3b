"""Folders on the server: the allowed roots (``FACECORE_ALLOWED_ROOTS``), checking a typed folder and
scanning it for images, one :class:`~facecore.photos.refs.ImageRef` per file and one
:class:`~facecore.photos.refs.Skipped` per file that cannot be used. Nothing here writes to disk.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable
from pathlib import Path

from ..errors import DatasetError, UnsafeInputError
from .refs import ImageRef, Skipped, display_name, has_image_extension, unique_name
from .roots import roots_from_env

# --------------------------------------------------------------------------- folders


def allowed_roots_from_env(address: str | None = None, password_set: bool = False) -> list[Path]:
    """Return the folders the app may read (:func:`facecore.photos.roots.decide_roots`).

    ``address`` is the server's address (None: no server, e.g. the command line: only
    ``$FACECORE_ALLOWED_ROOTS``); a local address without ``password_set`` adds the home folder
    unless ``$FACECORE_ALLOWED_ROOTS`` is set. The shared dataset's parent is always included.
    """
    return list(roots_from_env(address, password_set).roots)


def _is_within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _resolve_roots(allowed_roots: Iterable[Path] | None) -> list[Path] | None:
    return None if allowed_roots is None else [Path(r).resolve() for r in allowed_roots]


def _inside(real: Path, roots: list[Path] | None) -> bool:
    """True when the resolved path ``real`` lies under one of the resolved ``roots`` (None: no limit)."""
    return roots is None or any(_is_within(real, r) for r in roots)


def refuse_outside(shown: str, real: Path, allowed_roots: Iterable[Path] | None, what: str = "folder") -> None:
    """Raise :class:`UnsafeInputError` when ``real`` lies under none of ``allowed_roots`` (None: no limit)."""
    roots = _resolve_roots(allowed_roots)
    if not _inside(real, roots):
        listed = ", ".join(str(r) for r in roots or ()) or "(none configured)"
        raise UnsafeInputError(
            f"{shown!r} is outside the allowed folders: {listed}. Choose a {what} under one of them, or let "
            "the app read your own photos by starting it with their folder in FACECORE_ALLOWED_ROOTS, e.g. "
            "FACECORE_ALLOWED_ROOTS=$HOME/Pictures make app (several folders joined with ':')."
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
    refuse_outside(shown, real, allowed_roots)
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
            if not has_image_extension(fn):
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
            images.append(ImageRef(name=unique_name(rel, used), path=str(real)))
    return images, skipped
