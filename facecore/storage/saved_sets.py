"""Sets of uploaded photos that can be opened again without the photos: names and content digests only.

Uploaded photos live in memory only; their encodings and face crops are in
the encoding cache already. :func:`save_set` records what the set was (each
file's name and sha256 digest, or why it was skipped) under a random token,
in the cache file; :func:`open_saved_set` rebuilds the same
:class:`~facecore.faceset.FaceSet` from the cache with that token (a reload
of the app's page). No photo is stored anywhere new. The token is a secret
of whoever uploaded the photos (it is the only way to name the set); deleting
the photos' encodings from the cache deletes the sets that list them.
"""

from __future__ import annotations

import secrets
import time

from ..errors import DatasetError
from ..faceset import FaceSet, open_cached
from ..photos.refs import Skipped
from ..settings import EncoderSettings
from .db import in_batches, transaction
from .encodings import EncodingStore

_SCHEMA = """
CREATE TABLE IF NOT EXISTS saved_sets (
    token    TEXT PRIMARY KEY,
    label    TEXT NOT NULL,
    settings TEXT NOT NULL,
    created  REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS saved_set_files (
    token  TEXT NOT NULL,
    seq    INTEGER NOT NULL,
    name   TEXT NOT NULL,
    digest TEXT,
    reason TEXT,
    detail TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (token, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS saved_set_files_digest ON saved_set_files (digest);
"""


def save_set(store: EncodingStore, faceset: FaceSet, label: str) -> str:
    """Record which photos ``faceset`` was made of (names and digests, in order) and the files it skipped
    before reading them; return the new token naming the set."""
    token = secrets.token_urlsafe(16)
    read = {name for name, _ in faceset.read}
    rows = [(name, digest, None, "") for name, digest in faceset.read]
    rows += [(s.path, None, s.reason, s.detail) for s in faceset.skipped if s.path not in read]
    with store.connect() as con:
        con.executescript(_SCHEMA)
        with transaction(con):
            con.execute("INSERT INTO saved_sets VALUES (?,?,?,?)", (token, label, faceset.settings_key, time.time()))
            con.executemany(
                "INSERT INTO saved_set_files VALUES (?,?,?,?,?,?)",
                [(token, i, name, digest, reason, detail) for i, (name, digest, reason, detail) in enumerate(rows)],
            )
    return token


def open_saved_set(store: EncodingStore, token: str, settings: EncoderSettings) -> tuple[str, FaceSet]:
    """The label and the FaceSet of the set saved as ``token``, rebuilt from the cache.

    A set saved in an older face mode (:meth:`EncoderSettings.reopenable`) opens in the mode it was saved in
    (``FaceSet.settings_key`` says which). Raises :class:`DatasetError` when no such set exists (deleted,
    or a mistyped token), or when it was encoded with other detector settings.
    """
    with store.connect() as con:
        con.executescript(_SCHEMA)
        head = con.execute("SELECT label, settings FROM saved_sets WHERE token=?", (token,)).fetchone()
        files = con.execute(
            "SELECT name, digest, reason, detail FROM saved_set_files WHERE token=? ORDER BY seq", (token,)
        ).fetchall()
    if head is None:
        raise DatasetError("Those uploaded photos are no longer known here: upload them again.")
    label, settings_key = head
    # a set saved in an older face mode (the largest face only, or every face version 1) opens as it was saved
    modes = {s.key: s for s in settings.reopenable()}
    if settings_key not in modes:
        raise DatasetError("Those uploaded photos were encoded with other settings: upload them again.")
    photos = [(name, digest) for name, digest, reason, _ in files if digest]
    skipped = [Skipped(name, reason, detail) for name, digest, reason, detail in files if not digest]
    return label, open_cached(photos, modes[settings_key], store, skipped)


def delete_sets_with(store: EncodingStore, digests: list[str]) -> int:
    """Forget every saved set that lists one of these photos (their encodings are being deleted); return
    how many sets were forgotten."""
    with store.connect() as con:
        con.executescript(_SCHEMA)
        tokens: set[str] = set()
        for chunk, marks in in_batches(digests):
            tokens |= {t for (t,) in con.execute(
                f"SELECT DISTINCT token FROM saved_set_files WHERE digest IN ({marks})", chunk)}  # fmt: skip
        with transaction(con):
            for token in tokens:
                con.execute("DELETE FROM saved_set_files WHERE token=?", (token,))
                con.execute("DELETE FROM saved_sets WHERE token=?", (token,))
    return len(tokens)
