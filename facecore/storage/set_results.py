"""Results computed once per face set and kept with it in the cache file, measured in the background.

What a distance means on a set (its :class:`~facecore.verdict.calibration.Calibration`) and its
same/different-person distance histograms (:class:`~facecore.verdict.distances.DistanceDistributions`)
take 5-15 s at 100,000 faces; the first "same person?" answer must not wait for them. They are kept
in the table ``set_results`` of the cache file, keyed by the set's content (``FaceSet.key``, a digest
of its faces and encoder settings), the kind and the sampling parameters, as JSON (curves and counts,
no encodings). :func:`measure_in_background` computes the missing ones in a daemon thread, once per
set and process; :func:`stored_set_result` reads them back (None while being measured). Deleting any set or
clearing the cache forgets them all (``storage.deletion``): they are measured again when next needed.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Callable, Mapping

from ..errors import NotEnoughFacesError
from ..verdict.calibration import Calibration, calibrate
from ..verdict.distances import DistanceDistributions, distance_distributions
from .db import transaction
from .encodings import EncodingStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS set_results (
    set_key TEXT NOT NULL,
    kind    TEXT NOT NULL,
    params  TEXT NOT NULL,
    created REAL NOT NULL,
    body    TEXT NOT NULL,
    PRIMARY KEY (set_key, kind, params)
) WITHOUT ROWID;
"""

#: The kinds of result kept, each with its class (rebuilt from JSON) and how it is measured from
#: ``(encodings (n, 128) float32, persons (n,) folder names or None, sampling parameters)``.
KINDS: dict[str, tuple[type, Callable]] = {
    "calibration": (Calibration, lambda enc, persons, p: calibrate(enc, persons, **p)),
    "distributions": (DistanceDistributions, lambda enc, persons, p: distance_distributions(enc, persons, **p)),
}
_NONE = "null"  # measured: the set has too few named people (no result, and no need to measure again)


def _params_text(params: Mapping[str, int]) -> str:
    return json.dumps(dict(sorted(params.items())), separators=(",", ":"))


def _to_json(value: object | None) -> str:
    return _NONE if value is None else json.dumps(dataclasses.asdict(value))  # type: ignore[call-overload]


def _from_json(kind: str, body: str) -> object | None:
    if body == _NONE:
        return None
    cls = KINDS[kind][0]
    fields = {k: tuple(v) if isinstance(v, list) else v for k, v in json.loads(body).items()}
    return cls(**fields)


def put_result(store: EncodingStore, set_key: str, kind: str, params: Mapping[str, int], value: object | None) -> None:
    """Keep ``value`` (None: measured, nothing to show) for the set ``set_key``, replacing an older one."""
    with store.connect() as con:
        con.executescript(SCHEMA)
        with transaction(con):
            con.execute("INSERT OR REPLACE INTO set_results VALUES (?,?,?,?,?)",
                        (set_key, kind, _params_text(params), time.time(), _to_json(value)))  # fmt: skip


def get_result(store: EncodingStore, set_key: str, kind: str, params: Mapping[str, int]) -> tuple[bool, object | None]:
    """``(found, value)``: whether the result was measured for this set and parameters, and what it is."""
    with store.connect() as con:
        con.executescript(SCHEMA)
        row = con.execute("SELECT body FROM set_results WHERE set_key=? AND kind=? AND params=?",
                          (set_key, kind, _params_text(params))).fetchone()  # fmt: skip
    return (False, None) if row is None else (True, _from_json(kind, row[0]))


def measure(store: EncodingStore, faceset, kind: str, params: Mapping[str, int]) -> object | None:
    """Measure one result of ``faceset`` now, keep it and return it (None: too few named people)."""
    try:
        value = KINDS[kind][1](faceset.encodings, faceset.persons, dict(params))
    except NotEnoughFacesError:
        value = None
    put_result(store, faceset.key, kind, params, value)
    return value


# --------------------------------------------------------------------------- in the background

_lock = threading.Lock()
_threads: dict[tuple[str, str], threading.Thread] = {}
_errors: dict[tuple[str, str], str] = {}


def measure_in_background(store: EncodingStore, faceset, wanted: Mapping[str, Mapping[str, int]]) -> bool:
    """Start measuring the results of ``wanted`` (kind -> parameters) that the cache lacks for ``faceset``, in one
    daemon thread per set and process (not twice at once). Returns True when all of them are already kept."""
    missing = {k: p for k, p in wanted.items() if not get_result(store, faceset.key, k, p)[0]}
    if not missing:
        return True
    tag = (str(store.path), faceset.key)
    with _lock:
        running = _threads.get(tag)
        if running is not None and running.is_alive():
            return False

        def work() -> None:
            try:
                for kind, params in missing.items():
                    measure(store, faceset, kind, params)
            except Exception as exc:  # noqa: BLE001 - kept and shown by whoever asks (set_results_error)
                _errors[tag] = f"{type(exc).__name__}: {exc}"

        _errors.pop(tag, None)
        thread = threading.Thread(target=work, name=f"facecore-set-results-{faceset.key[:8]}", daemon=True)
        _threads[tag] = thread
        thread.start()
    return False


def set_results_error(store: EncodingStore, faceset) -> str | None:
    """Why the last background measuring of ``faceset`` failed, or None."""
    return _errors.get((str(store.path), faceset.key))


def wait_for_set_results(store: EncodingStore, faceset, timeout: float | None = None) -> bool:
    """Wait until the background measuring of ``faceset`` (if any) ends; True when none is running after."""
    thread = _threads.get((str(store.path), faceset.key))
    if thread is not None:
        thread.join(timeout)
        return not thread.is_alive()
    return True


def stored_set_result(
    store: EncodingStore, faceset, kind: str, params: Mapping[str, int]
) -> tuple[bool, object | None]:
    """``(ready, value)`` of one kept result; never measures (see :func:`measure_in_background`)."""
    return get_result(store, faceset.key, kind, params)
