"""The set opened last (facecore.storage.read_ahead): remembered, read ahead by a restarted app, taken by the page
that asks for it (waiting for a reading under way, never reading it twice), forgotten by any deletion."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

import facecore.storage.read_ahead as last
from facecore import EncodingStore, clear_cache, delete_set, encodings_npz
from facecore.errors import CacheError
from facecore.storage.imported import import_encodings, imported_key, imported_sets


@pytest.fixture()
def imported(small_faceset, small_dataset: Path, dataset_dir: Path, tmp_path: Path):
    store = EncodingStore(tmp_path / "c.sqlite")
    fs = import_encodings(encodings_npz(small_faceset), store, [small_dataset, dataset_dir], name="six people")
    return store, fs, imported_sets(store)[0].key


def test_the_set_opened_last_is_read_ahead_and_taken_once(imported, monkeypatch) -> None:
    store, fs, full = imported
    assert last.last_opened(store) is None and last.read_last_opened(store) is None  # nothing opened yet
    assert last.set_read_ahead(store, full) is None  # nothing read ahead: the page reads it itself
    last.remember_opened(store, "imported", imported_key(fs))
    assert last.last_opened(store) == ("imported", imported_key(fs))
    stamp = store.stamp()
    last.remember_opened(store, "imported", imported_key(fs))  # opened again: the file is not written
    assert store.stamp() == stamp
    with pytest.raises(ValueError, match="unknown kind"):
        last.remember_opened(store, "folder", "/somewhere")

    def busy():
        raise CacheError("The cache file is busy.")

    monkeypatch.setattr(store, "connect", busy)  # a cache that cannot be written now: the set opens all the same
    last.remember_opened(store, "imported", "a" * 32)
    monkeypatch.undo()
    assert last.last_opened(store) == ("imported", imported_key(fs))  # and nothing was recorded

    ahead = last.read_last_opened(store)
    assert ahead is not None and ahead.key == fs.key and np.array_equal(ahead.encodings, fs.encodings)
    assert ahead.faces == fs.faces
    assert last.set_read_ahead(store, full) is ahead  # the page takes the same object: nothing read twice
    assert last.set_read_ahead(store, "0" * 64) is None  # another set's key
    assert last.set_read_ahead(EncodingStore(store.path.with_name("other.sqlite")), full) is None  # another cache


def test_a_page_asking_while_the_set_is_read_waits_for_that_reading(imported, monkeypatch) -> None:
    store, fs, full = imported
    last.remember_opened(store, "imported", imported_key(fs))
    real, started, release, calls = last.load_imported, threading.Event(), threading.Event(), []

    def slow(store_, ref):
        calls.append(ref)
        started.set()
        release.wait(30)
        return real(store_, ref)

    monkeypatch.setattr(last, "load_imported", slow)
    reader = threading.Thread(target=last.read_last_opened, args=(store,))
    reader.start()
    assert started.wait(30)
    got: list = []
    asker = threading.Thread(target=lambda: got.append(last.set_read_ahead(store, full)))
    asker.start()
    asker.join(0.3)
    assert asker.is_alive()  # the page waits for the reading under way...
    release.set()
    reader.join(30)
    asker.join(30)
    assert got[0] is not None and got[0].key == fs.key and len(calls) == 1  # ...and gets it, read once


def test_a_set_that_is_gone_is_not_read_ahead_and_deleting_forgets_the_set_opened_last(imported) -> None:
    store, fs, _ = imported
    last.remember_opened(store, "imported", imported_key(fs))
    delete_set(store, [f.digest for f in fs.faces][:1])  # any deletion
    assert last.last_opened(store) is None
    last.remember_opened(store, "imported", "f" * 32)  # a set no longer in the cache
    with pytest.raises(Exception, match="no imported set"):
        last.read_last_opened(store)
    assert last.set_read_ahead(store, "f" * 64) is None  # the failed reading is not handed to a page
    last.remember_opened(store, "imported", imported_key(fs))
    clear_cache(store)
    assert last.last_opened(store) is None
