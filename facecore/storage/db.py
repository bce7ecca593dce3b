"""The cache file's one connection and transaction helper, shared by every storage module.

Every call opens its own short connection (:func:`connect`), so one store object is safe to share between
threads (Streamlit sessions); SQLite in WAL mode with a busy timeout lets several processes read and
write the same file. A write of several statements runs in :func:`transaction`, which rolls back on any
error (never relying on ``close()`` to do it). SQLite errors become :class:`CacheError` with a sentence
naming the file and what to do.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ..errors import CacheError

# SQLite's result codes for a write the disk refused: SQLITE_FULL (ENOSPC) and
# the extended I/O errors of writing, syncing or growing a file (EFBIG past a
# file-size limit, EDQUOT, ...). Read errors are left out: they are not a full disk.
_SQLITE_FULL = 13
_WRITE_ERRORS = {778, 1034, 1290, 1546, 4874}  # IOERR_WRITE, _FSYNC, _DIR_FSYNC, _TRUNCATE, _SHMSIZE
#: SQLite's default limit on host parameters is 999 (older builds): statements take at most this many.
BATCH = 500


def in_batches(values: Sequence[str]) -> Iterator[tuple[list[str], str]]:
    """``values`` in runs of at most :data:`BATCH`, each with its ``"?,?,..."`` placeholders for ``IN (...)``."""
    for i in range(0, len(values), BATCH):
        chunk = list(values[i : i + BATCH])
        yield chunk, ",".join("?" * len(chunk))


def delete_by_digest(con: sqlite3.Connection, table: str, digests: Sequence[str]) -> int:
    """Delete the rows of ``table`` whose ``digest`` is one of ``digests``; return how many were deleted."""
    return sum(
        con.execute(f'DELETE FROM "{table}" WHERE digest IN ({marks})', chunk).rowcount
        for chunk, marks in in_batches(digests)
    )


@contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    """A short-lived connection to the cache file at ``path`` (autocommit; use :func:`transaction` to write).

    SQLite errors inside the block become :class:`CacheError` with a sentence naming the file.
    """
    try:
        con = sqlite3.connect(path, timeout=60.0, isolation_level=None)
    except sqlite3.Error as exc:
        raise cache_error(path, exc) from exc
    try:
        con.execute("PRAGMA busy_timeout=60000")
        con.execute("PRAGMA synchronous=NORMAL")
        # Deleted rows are overwritten, so "delete my encodings" really
        # removes them from the file, not only from the index.
        con.execute("PRAGMA secure_delete=ON")
        yield con
    except sqlite3.DatabaseError as exc:
        raise cache_error(path, exc) from exc
    finally:
        con.close()


@contextmanager
def transaction(con: sqlite3.Connection) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``; on any error, roll back what SQLite has not already rolled back.

    After a full disk or an I/O error SQLite may have ended the transaction
    itself: an explicit ``ROLLBACK`` then fails with "no transaction is
    active", and that second error must not hide the first, which names the cause.
    """
    con.execute("BEGIN IMMEDIATE")
    try:
        yield
        con.execute("COMMIT")
    except BaseException:
        if con.in_transaction:
            try:
                con.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # closing the connection rolls back too; the first error is the one to report
        raise


def tables(con: sqlite3.Connection) -> list[str]:
    """Every table of the file (SQLite's own ``sqlite_*`` tables left out), by name."""
    rows = con.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    return [name for (name,) in rows]


def empty_table(con: sqlite3.Connection, table: str) -> int:
    """Delete every row of ``table`` in one transaction (a table never made: nothing, and no table added); return
    how many rows went."""
    if table not in tables(con):
        return 0
    with transaction(con):
        return con.execute(f'DELETE FROM "{table}"').rowcount


def why_not_created(path: Path, exc: OSError) -> str:
    """The reason a new cache file could not be made, naming a file that stands where a folder must be."""
    for parent in path.parents:
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                return f"{str(parent)!r} is a file, not a folder"
            break
    return exc.strerror or str(exc)


def size_text(n: float) -> str:
    """``n`` bytes as people read them: ``"512 bytes"``, ``"1.5 MiB"``."""
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} TiB"  # pragma: no cover


def _disk_refused(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)  # Python >= 3.11
    if code is None:
        return "database or disk is full" in str(exc) or "disk I/O error" in str(exc)
    return code == _SQLITE_FULL or code in _WRITE_ERRORS


def _disk_facts(path: Path) -> str:
    """What may explain a refused write: the free space on the cache's disk and this process's file-size limit."""
    facts = []
    try:
        facts.append(f"{size_text(shutil.disk_usage(path.parent).free)} free on its disk")
    except OSError:
        pass
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
        if soft != resource.RLIM_INFINITY:
            facts.append(f"files limited to {size_text(soft)} for this process (ulimit -f)")
    except (ImportError, OSError, ValueError):  # pragma: no cover - not Unix
        pass
    return "; ".join(facts)


def cache_error(path: Path, exc: sqlite3.Error) -> CacheError:
    """The :class:`CacheError` for a SQLite error on the file at ``path``: a full disk, a damaged file, or else."""
    msg = str(exc)
    if _disk_refused(exc):
        facts = "; ".join(f for f in (f"SQLite: {msg}", _disk_facts(path)) if f)
        return CacheError(
            f"disk full or file too large: cannot write {str(path)!r} ({facts}). Photos encoded "
            "before this are kept in the cache; free some space, or point --cache or FACECORE_CACHE "
            "to a file on another disk."
        )
    if "not a database" in msg or "malformed" in msg:
        return CacheError(
            f"{str(path)!r} is not a readable facecore cache ({exc}): point --cache or "
            "FACECORE_CACHE to another file, or delete this one if it is a damaged cache."
        )
    return CacheError(f"The encoding cache {str(path)!r} cannot be used ({exc}).")
