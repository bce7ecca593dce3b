"""The one delete rule, used by the app and the CLI alike: what goes when a set or the whole cache is deleted.

Encodings, face crops and everything said about those faces are biometric data, so deleting a set
deletes all of it: the photos' encodings, crops and face quality (every encoder setting), the person
facts, stable person ids and corrections about their faces, the saved upload sets and the imported sets
listing them, the maps drawn from them, the photos' perceptual hashes and whether they were hidden from
their set, every set's kept measurements, fits and groupings (storage.set_results, storage.set_fits,
storage.set_groupings: curves, histograms, PCA and K-means centres, persons' labels, made again when next
needed) and which set was opened last (storage.read_ahead). Clearing the cache leaves no row in
any table of the file (names included) and shrinks it.
"""

from __future__ import annotations

from collections.abc import Iterable

from .db import empty_table, tables, transaction
from .encodings import EncodingStore
from .hidden_photos import unhide_photos
from .imported import delete_imported, delete_imported_with
from .maps import delete_maps
from .person_facts import delete_corrections
from .person_ids import delete_id_rows
from .photo_hashes import delete_photo_hashes
from .read_ahead import TABLE as LAST_OPENED
from .saved_sets import delete_sets_with

#: What is kept for every set under its content key (storage.set_results: calibration and histograms,
#: storage.set_fits: PCA and K-means centres, storage.set_groupings: persons' labels). Deleting any photos
#: forgets all of it, for every set: each is measured, fitted or grouped again when next needed.
KEPT_FOR_EVERY_SET = ("set_results", "set_fits", "set_groupings")


def delete_set(store: EncodingStore, digests: Iterable[str], imported: str | None = None) -> int:
    """Delete a set of photos from the cache file: their encodings, face crops and face quality (all settings),
    every person fact and correction about their faces, every saved set and every imported set listing them,
    their perceptual hashes and their hidden marks.
    ``imported`` names the imported set being deleted (its key), whose photos are then the ones it lists.
    Returns how many cached results (one per photo and encoder settings) were removed."""
    wanted = list(dict.fromkeys(digests))
    removed = delete_imported(store, imported) if imported else store.delete(wanted)
    delete_corrections(store, wanted)
    delete_id_rows(store, wanted)  # their stable person ids, and the corrections on ids about them
    delete_sets_with(store, wanted)
    delete_imported_with(store, wanted)
    delete_photo_hashes(store, wanted)
    unhide_photos(store, wanted)
    delete_maps(store, wanted)
    with store.connect() as con:
        for table in (*KEPT_FOR_EVERY_SET, LAST_OPENED):  # the set opened last may have been one of these
            empty_table(con, table)
        # the deleted rows' old pages leave the write-ahead log too
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return removed


def clear_cache(store: EncodingStore) -> None:
    """Delete every row of every table in the cache file (encodings, crops, face quality, names, corrections,
    saved and imported sets, maps, photo hashes, hidden photos), then shrink the file (``VACUUM``) so no deleted
    page is left in it."""
    with store.connect() as con:
        with transaction(con):
            for table in tables(con):
                con.execute(f'DELETE FROM "{table}"')
            if con.execute("SELECT 1 FROM sqlite_master WHERE name='sqlite_sequence'").fetchone():
                con.execute("DELETE FROM sqlite_sequence")  # the AUTOINCREMENT counters start again
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.execute("VACUUM")
