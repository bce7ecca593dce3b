"""Which folders the app may read, decided from how the server is reached, and a folder picker's listing.

The rule (:func:`decide_roots`, a pure function):

- ``FACECORE_ALLOWED_ROOTS`` set: exactly those folders (``os.pathsep``-separated), whatever the server.
  Set but empty (``FACECORE_ALLOWED_ROOTS=``) means none of the user's folders: the default below is closed.
- not set, the server listening on this machine only (``localhost``, ``127.0.0.1``, ``::1``) and no password:
  the user's home folder. Only this machine's accounts can reach such a server (SECURITY.md says what that
  opens on a machine shared with other accounts).
- not set, the server exposed (any other address, e.g. ``0.0.0.0``) or a password set for a shared demo:
  none of the user's folders, as before.

The shared dataset's parent folder (``FACECORE_DATASET``) is added in every case, when it exists.
Roots are resolved (symlinks followed, ``..`` collapsed); a path is then allowed when its resolved
form lies under one, so a link inside home that leads outside it is refused (``folders.check_folder``).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from .. import settings as S
from .refs import has_image_extension

#: Addresses at which only this machine can reach the server (Streamlit's ``server.address``).
LOCAL_ADDRESSES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})

ENV = "FACECORE_ALLOWED_ROOTS"


@dataclass(frozen=True)
class AllowedRoots:
    """The folders the app may read (resolved, each once) and why: ``home`` is True when the home
    folder is among them by default, ``why`` one sentence for the Photos page."""

    roots: tuple[Path, ...]
    home: bool
    why: str


def is_local_address(address: str | None) -> bool:
    """True for an address only this machine can reach; None or "" (Streamlit binds every interface) is not."""
    return (address or "").strip().lower() in LOCAL_ADDRESSES


def _unique_resolved(paths: list[Path]) -> tuple[Path, ...]:
    return tuple(dict.fromkeys(p.expanduser().resolve() for p in paths))


def decide_roots(
    address: str | None,
    password_set: bool,
    configured: str | None,
    home: Path | None = None,
    shared: Path | None = None,
) -> AllowedRoots:
    """The allowed roots for a server at ``address`` (None: unknown, e.g. the command line).

    ``configured`` is ``$FACECORE_ALLOWED_ROOTS`` (None: not set; "": set empty, which closes the
    home default); ``home`` the user's home folder; ``shared`` the shared dataset's folder, whose
    parent is added when it exists. Pure but for resolving the paths.
    """
    extra = [shared.parent] if shared is not None and shared.is_dir() else []
    if configured is not None:
        mine = [Path(p) for p in configured.split(os.pathsep) if p.strip()]
        why = f"set by {ENV}" if mine else f"{ENV} is set empty: none of your folders"
        return AllowedRoots(_unique_resolved(mine + extra), False, why)
    if is_local_address(address) and not password_set and home is not None:
        return AllowedRoots(_unique_resolved([home] + extra), True,
                            "your home folder, because the app listens on this machine only and has no password")
    if address is None:
        why = f"set {ENV} to read your own folders"
    elif password_set:
        why = f"a password is set (a shared demo): only folders in {ENV}, none set"
    else:
        why = f"the app is open to the network ({address}): only folders in {ENV}, none set"
    return AllowedRoots(_unique_resolved(extra), False, why)


def roots_from_env(address: str | None = None, password_set: bool = False) -> AllowedRoots:
    """:func:`decide_roots` with ``$FACECORE_ALLOWED_ROOTS``, ``$HOME`` and ``$FACECORE_DATASET``."""
    home = Path(os.environ["HOME"]) if os.environ.get("HOME") else None
    return decide_roots(address, password_set, os.environ.get(ENV), home, S.default_dataset_path())


# --------------------------------------------------------------------------- folder picker

#: The picker counts at most this many photos per subfolder, this many entries per folder, for this long.
PICKER_COUNT_CAP = 500
PICKER_MAX_ENTRIES = 5000
PICKER_TIME_LIMIT_S = 2.0


@dataclass(frozen=True)
class SubFolder:
    """One subfolder of a listed folder: ``photos`` images found in it and its own subfolders, up to the
    cap; ``capped`` True when the count stopped at the cap or the time limit (there may be more)."""

    path: Path
    photos: int
    capped: bool


def _count_photos(folder: Path, cap: int, deadline: float) -> tuple[int, bool]:
    """Images under ``folder`` (hidden entries and links to folders skipped), stopping at ``cap`` or ``deadline``."""
    count, stack = 0, [folder]
    while stack:
        if time.monotonic() > deadline:
            return count, True
        try:
            with os.scandir(stack.pop()) as it:
                for entry in it:
                    if entry.name.startswith("."):
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(Path(entry.path))
                    elif has_image_extension(entry.name):
                        count += 1
                        if count >= cap:
                            return count, True
        except OSError:
            continue
    return count, False


def list_subfolders(
    folder: Path,
    cap: int = PICKER_COUNT_CAP,
    time_limit_s: float = PICKER_TIME_LIMIT_S,
    max_entries: int = PICKER_MAX_ENTRIES,
) -> list[SubFolder]:
    """The visible subfolders of ``folder`` (already checked with ``check_folder``), sorted by name, each
    with its photo count capped at ``cap``; the whole listing stops counting after ``time_limit_s`` s
    (later folders then say 0, capped). Links to folders and hidden folders are left out."""
    deadline = time.monotonic() + time_limit_s
    subs: list[Path] = []
    with os.scandir(folder) as it:
        for i, entry in enumerate(it):
            if i >= max_entries:
                break
            if not entry.name.startswith(".") and entry.is_dir(follow_symlinks=False):
                subs.append(Path(entry.path))
    out = []
    for sub in sorted(subs, key=lambda p: p.name.lower()):
        photos, capped = _count_photos(sub, cap, deadline)
        out.append(SubFolder(sub, photos, capped))
    return out
