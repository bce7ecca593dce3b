"""Perceptual hashes of photos kept in the cache file, by content digest, so near-duplicates are found once.

Hashing a photo means decoding it (about 3 ms a photo; 7 s for 2,444 photos on a busy 2-core machine), so
each photo's 128 hash bits, pixel count and file size are written here the first time and read back after
(a page reload, another session, the CLI). The bits depend only on the photo's bytes, not on the encoder
settings. Deleting a set deletes its rows here too (:mod:`facecore.storage.deletion`).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .db import delete_by_digest, in_batches, transaction
from .encodings import EncodingStore

_SCHEMA = """
CREATE TABLE IF NOT EXISTS photo_hashes (
    digest TEXT PRIMARY KEY,
    bits   BLOB NOT NULL,
    pixels INTEGER NOT NULL,
    nbytes INTEGER NOT NULL
) WITHOUT ROWID;
"""
#: Hash bits per photo (64 pHash + 64 dHash), stored packed in 16 bytes.
BITS = 128

#: One photo's hash as stored: ``(bits (128,) bool, pixels, bytes)``.
HashRow = tuple[np.ndarray, int, int]


def put_photo_hashes(store: EncodingStore, rows: dict[str, HashRow]) -> None:
    """Write ``{digest: (bits, pixels, nbytes)}`` (bits ``(128,)`` bool) in one transaction."""
    values = []
    for digest, (bits, pixels, nbytes) in rows.items():
        bits = np.asarray(bits, dtype=bool)
        if bits.shape != (BITS,):
            raise ValueError(f"hash of {digest[:12]}… has shape {bits.shape}, expected ({BITS},)")
        values.append((digest, np.packbits(bits).tobytes(), int(pixels), int(nbytes)))
    with store.connect() as con:
        con.executescript(_SCHEMA)
        with transaction(con):
            con.executemany("INSERT OR REPLACE INTO photo_hashes VALUES (?,?,?,?)", values)


def get_photo_hashes(store: EncodingStore, digests: Iterable[str]) -> dict[str, HashRow]:
    """The stored hashes of these photos, ``{digest: (bits (128,) bool, pixels, nbytes)}``; missing ones absent."""
    wanted = list(dict.fromkeys(digests))
    out: dict[str, HashRow] = {}
    with store.connect() as con:
        con.executescript(_SCHEMA)
        for chunk, marks in in_batches(wanted):
            for digest, blob, pixels, nbytes in con.execute(
                f"SELECT digest, bits, pixels, nbytes FROM photo_hashes WHERE digest IN ({marks})", chunk
            ):
                if len(blob) == BITS // 8:  # a damaged row is a miss: hashed again
                    bits = np.unpackbits(np.frombuffer(blob, dtype=np.uint8)).astype(bool)
                    out[digest] = (bits, int(pixels), int(nbytes))
    return out


def delete_photo_hashes(store: EncodingStore, digests: Iterable[str]) -> int:
    """Forget the hashes of these photos (they are being deleted); return how many rows were removed."""
    with store.connect() as con:
        con.executescript(_SCHEMA)
        with transaction(con):
            return delete_by_digest(con, "photo_hashes", list(dict.fromkeys(digests)))
