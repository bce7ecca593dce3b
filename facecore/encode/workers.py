"""The processes that encode photos, and how batches of work reach them.

A backend takes batches of work lazily from an iterator and yields each
batch's results as soon as it is finished, with at most a few batches in
flight, so reading and hashing the next photos overlaps with encoding the
previous ones and memory stays bounded. :class:`LocalPool` runs a process
pool on this machine (models loaded once per worker and kept warm between
runs); :class:`InProcess` encodes in the calling process (tiny jobs, one
worker). A worker exits by itself when the process that started it is gone,
so a killed app or CLI leaves nothing behind.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Protocol

from ..errors import UnreadableImageError, WorkerCrashedError
from ..photos.imaging import silence_bomb_warnings
from ..photos.refs import ImageRef
from ..settings import EncoderSettings
from .encoding import EncodedImage, encode_many, warm_up

#: One photo's work: its name, and either its bytes or the path to read them from.
WorkItem = tuple[str, str | None, bytes | None]
#: What a batch gives back: each photo's name with what the encoder made of it.
Results = list[tuple[str, EncodedImage]]



class EncodeBackend(Protocol):
    """Where encoding runs: :class:`InProcess`, :class:`LocalPool` or :class:`~.dask_backend.DaskBackend`.

    ``run`` takes batches of :data:`WorkItem` lazily (it pulls the next batch only when it has room), the
    encoder settings and a ``should_stop()`` callback; it yields one :data:`Results` list per finished batch,
    in any order, and stops taking work once ``should_stop()`` is true.
    """

    def run(
        self, batches: Iterator[list[WorkItem]], settings: EncoderSettings, should_stop: Callable[[], bool]
    ) -> Iterator[Results]: ...


#: Seconds between a worker's checks that the process that started it is still there.
PARENT_CHECK_S = 1.0


def encode_batch(items: list[WorkItem], settings: EncoderSettings) -> Results:
    """Encode a batch of photos (the function every backend's workers run); never raises for a bad photo.

    The faces of the whole batch are encoded together (:func:`~facecore.encode.encoding.encode_many`).
    """
    out: list[tuple[str, EncodedImage | None]] = []
    datas = []
    for name, path, data in items:
        try:
            datas.append(data if data is not None else ImageRef(name, path=path).read_bytes())
            out.append((name, None))
        except UnreadableImageError as exc:
            out.append((name, EncodedImage("", reason=exc.reason, detail=exc.detail)))
    encoded = iter(encode_many(datas, settings))
    return [(name, result if result is not None else next(encoded)) for name, result in out]


def default_workers() -> int:
    """Number of worker processes: the CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def _exit_when_orphaned(parent: int) -> None:
    # A worker blocked on a pipe (writing a result nobody reads, waiting for a
    # task) never notices its parent died; this thread does, and ends the process.
    while True:
        time.sleep(PARENT_CHECK_S)
        if os.getppid() != parent:
            os._exit(0)


def watch_parent() -> None:
    """In a worker: exit within about a second once the process that started this one is gone."""
    threading.Thread(target=_exit_when_orphaned, args=(os.getppid(),), name="parent watch", daemon=True).start()


def init_worker() -> None:
    """Initializer of a worker process: one BLAS thread, no bomb warnings, parent watch, models loaded."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    silence_bomb_warnings()  # decode_image reports those images as "too many pixels"
    # A Ctrl-C reaches the whole process group: the parent decides what to do (its pool stops the workers);
    # a worker dying of it behind the pool's back would break the pool. The parent watch still ends orphans.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    watch_parent()
    warm_up()


class InProcess:
    """Encode in the calling process, one photo at a time (tiny jobs, or ``workers=1``)."""

    def run(
        self, batches: Iterator[list[WorkItem]], settings: EncoderSettings, should_stop: Callable[[], bool]
    ) -> Iterator[Results]:
        """Yield each photo's result as soon as it is encoded; stop before the next photo once asked."""
        for batch in batches:
            for item in batch:
                if should_stop():
                    return
                yield encode_batch([item], settings)


_pools: dict[int, ProcessPoolExecutor] = {}
_pool_lock = threading.Lock()


def _pool(workers: int) -> ProcessPoolExecutor:
    # One long-lived pool per size: the models (about 1 s to load) stay warm
    # between runs, which matters in the app where users encode repeatedly.
    with _pool_lock:
        pool = _pools.get(workers)
        if pool is not None and getattr(pool, "_broken", False):
            # A worker died (killed for memory, crashed in a decoder): a broken
            # pool refuses all later work, so start a fresh one.
            pool.shutdown(wait=False, cancel_futures=True)
            pool = None
        if pool is None:
            ctx = mp.get_context("spawn")  # fork is unsafe in threaded hosts such as Streamlit
            pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=init_worker)
            _pools[workers] = pool
        return pool


def worker_pids() -> list[int]:
    """Process ids of the running local encoding workers (for CPU-time and memory measurements)."""
    with _pool_lock:
        return [p.pid for pool in _pools.values() for p in list((getattr(pool, "_processes", None) or {}).values())]


def shutdown_pools() -> None:
    """Stop the local worker processes (they start again on the next encode)."""
    with _pool_lock:
        for pool in _pools.values():
            pool.shutdown(wait=True, cancel_futures=True)
        _pools.clear()


class LocalPool:
    """A process pool on this machine with ``workers`` processes; at most ``2 * workers + 2`` batches in flight."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or default_workers()

    def run(
        self, batches: Iterator[list[WorkItem]], settings: EncoderSettings, should_stop: Callable[[], bool]
    ) -> Iterator[Results]:
        """Submit batches as slots free up; yield each batch's results when it finishes.

        Stops taking work once ``should_stop()`` is true (batches already
        running still finish and are yielded). Raises
        :class:`WorkerCrashedError` when a worker process dies.
        """
        pool: ProcessPoolExecutor | None = None
        running: set[Future] = set()
        limit = 2 * self.workers + 2
        source = iter(batches)
        try:
            while True:
                while len(running) < limit and not should_stop():
                    batch = next(source, None)
                    if batch is None:
                        break
                    pool = pool or _pool(self.workers)
                    running.add(pool.submit(encode_batch, batch, settings))
                if not running:
                    return
                done, running = wait(running, timeout=0.5, return_when=FIRST_COMPLETED)
                for fut in done:
                    yield fut.result()
                if should_stop():
                    # The batches already given to the pool finish (a few seconds at most) rather than being
                    # cancelled: a cancelled future left in the long-lived pool's queue makes it fail with
                    # "InvalidStateError: CANCELLED" if a worker dies later (Python 3.11's terminate_broken).
                    yield from (f.result() for f in running)
                    return
        except BrokenProcessPool as exc:
            raise WorkerCrashedError(
                "An encoding process stopped abruptly (out of memory, or a file that crashes a decoder). "
                "Finished photos are cached: run again to continue, with fewer workers or fewer/smaller photos."
            ) from exc
