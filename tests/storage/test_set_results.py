"""facecore.storage.set_results: a set's calibration and distance histograms, measured once in the background
and kept with the set in the cache file, on the real six-person subset of the shared photos."""

from __future__ import annotations

import dataclasses
import math
import shutil
from pathlib import Path

import numpy as np

from facecore import (
    EncodingStore,
    calibrate,
    delete_set,
    distance_distributions,
    measure_in_background,
    set_results_error,
    stored_set_result,
    wait_for_set_results,
)
from facecore.faceset import FaceSet

WANTED = {"calibration": {"max_queries": 200}, "distributions": {"max_pairs": 5000}}


def _copy(session_cache: Path, tmp_path: Path) -> EncodingStore:
    dst = tmp_path / "cache.sqlite"
    shutil.copy(session_cache, dst)
    return EncodingStore(dst)


def _same(a, b) -> bool:
    """Two results equal field by field (nan equal to nan)."""
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, tuple):
            if not np.allclose(np.array(x, dtype=float), np.array(y, dtype=float), equal_nan=True, rtol=0, atol=0):
                return False
        elif x != y:
            return False
    return True


def test_measured_once_in_the_background_and_read_back_equal(small_faceset, session_cache, tmp_path) -> None:
    store = _copy(session_cache, tmp_path)
    fs = small_faceset
    assert stored_set_result(store, fs, "calibration", WANTED["calibration"]) == (False, None)
    assert measure_in_background(store, fs, WANTED) is False  # started
    assert wait_for_set_results(store, fs, timeout=300) and set_results_error(store, fs) is None
    ready, cal = stored_set_result(store, fs, "calibration", WANTED["calibration"])
    assert ready and _same(cal, calibrate(fs.encodings, fs.persons, max_queries=200))
    assert not math.isnan(cal.stranger_rate[-1])
    ready, dist = stored_set_result(store, fs, "distributions", WANTED["distributions"])
    assert ready and _same(dist, distance_distributions(fs.encodings, fs.persons, max_pairs=5000))
    # kept in the file: a new store object (a new server process) finds them without measuring
    again = EncodingStore(store.path)
    assert measure_in_background(again, fs, WANTED) is True
    # other sampling parameters are another result
    assert stored_set_result(again, fs, "calibration", {"max_queries": 100})[0] is False


def test_a_set_without_named_people_is_measured_once_as_nothing(small_faceset, session_cache, tmp_path) -> None:
    store = _copy(session_cache, tmp_path)
    fs = small_faceset
    nameless = FaceSet(faces=tuple(dataclasses.replace(f, person=None) for f in fs.faces), encodings=fs.encodings,
                       images=fs.images, skipped=fs.skipped, settings_key=fs.settings_key, key="nameless-" + fs.key,
                       read=fs.read)  # fmt: skip
    measure_in_background(store, nameless, WANTED)
    assert wait_for_set_results(store, nameless, timeout=60)
    assert stored_set_result(store, nameless, "calibration", WANTED["calibration"]) == (True, None)
    assert measure_in_background(store, nameless, WANTED) is True


def test_deleting_photos_forgets_the_kept_results(small_faceset, session_cache, tmp_path) -> None:
    store = _copy(session_cache, tmp_path)
    fs = small_faceset
    measure_in_background(store, fs, WANTED)
    wait_for_set_results(store, fs, timeout=300)
    assert stored_set_result(store, fs, "distributions", WANTED["distributions"])[0]
    delete_set(store, [fs.faces[0].digest])
    assert stored_set_result(store, fs, "distributions", WANTED["distributions"]) == (False, None)
