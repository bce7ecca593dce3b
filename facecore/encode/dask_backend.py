"""Encoding on a Dask cluster: the ``EncodeBackend`` protocol of :mod:`.workers`, with Dask workers doing the work.

:class:`DaskBackend` sends the batches that :func:`~facecore.faceset.encode_images`
hands it to the workers of a Dask scheduler (``tcp://HOST:8786``) or of a
:class:`~distributed.LocalCluster` it starts (``local:N``: N processes, one
thread each, on 127.0.0.1 only), keeps a bounded number of batches in flight,
and yields each batch's results as it finishes (``distributed.as_completed``).
The workers only return results: the calling process alone writes the SQLite
cache, and photos already cached are never sent (both as with the local pool).

What a worker receives: by default only the photo's path, read by the worker
from a folder that every machine mounts at the same place; with
``ship_bytes=True`` the bytes the client already read (they travel through the
scheduler). A photo a worker cannot read at its path is sent again with its
bytes, so a cluster without the shared folder is slower, never wrong. A worker
that dies mid-batch (killed, out of memory) has its batches run again on
another worker by the scheduler; ``retries`` covers a task that raised.

``distributed`` is an optional dependency (``requirements-cluster.txt``),
imported only when a cluster is used; without it, one :class:`ClusterError`
line says how to install it.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from ..errors import ClusterError, WorkerCrashedError
from ..photos.refs import ImageRef
from ..settings import EncoderSettings
from .workers import Results, WorkItem, encode_batch

log = logging.getLogger(__name__)

#: Environment variable naming the scheduler the app encodes on (``tcp://HOST:8786`` or ``local:N``).
SCHEDULER_ENV = "FACECORE_DASK_SCHEDULER"
#: Environment variable: ``1`` sends the photos' bytes to the workers instead of their paths.
SHIP_BYTES_ENV = "FACECORE_DASK_SHIP_BYTES"
#: Seconds to wait for the scheduler before giving up with one clear error.
CONNECT_TIMEOUT_S = 5.0
#: Times Dask runs a batch again when it raised (a dead worker's batches are rescheduled anyway).
RETRIES = 2
#: Seconds between two questions to the scheduler about how many worker threads there are.
THREADS_REFRESH_S = 2.0
#: Most worker processes ``local:N`` may start.
MAX_LOCAL_WORKERS = 256
#: Reasons a worker gives for a photo it could not read at its path; such photos are sent again with their bytes.
_NOT_READ = frozenset({"unreadable", "not a file"})
_INSTALL = "pip install -r requirements-cluster.txt"


def _distributed() -> ModuleType:
    """The ``distributed`` module, or :class:`ClusterError` with the install command."""
    try:
        import distributed
    except ImportError as exc:
        raise ClusterError(
            f"Encoding on a Dask cluster needs the optional package 'distributed': run `{_INSTALL}`."
        ) from exc
    return distributed


def parse_scheduler(text: str) -> tuple[str, str | int]:
    """``("local", N)`` for ``local:N``, else ``("address", text)`` for a scheduler address.

    Raises ``ValueError`` naming both forms for anything else (empty, spaces, ``local:0``).
    """
    text = str(text).strip()
    if text.startswith("local:"):
        n = text[len("local:"):]
        if not n.isdigit() or not 1 <= int(n) <= MAX_LOCAL_WORKERS:
            raise ValueError(f"scheduler 'local:N' needs 1 <= N <= {MAX_LOCAL_WORKERS} worker processes, got {text!r}")
        return "local", int(n)
    if not text or any(c.isspace() for c in text) or ":" not in text:
        raise ValueError(f"scheduler must be 'local:N' or an address like tcp://HOST:8786, got {text!r}")
    return "address", text


_clients: dict[str, Any] = {}  # scheduler text -> connected Client, kept for the life of the process
_clusters: dict[str, Any] = {}  # 'local:N' -> the LocalCluster this process started
_lock = threading.Lock()


def connect(scheduler: str, timeout: float = CONNECT_TIMEOUT_S) -> Any:
    """The ``distributed.Client`` for ``scheduler`` (``local:N`` or an address), connected once per process.

    ``local:N`` starts a LocalCluster of N worker processes with one thread
    each, listening on 127.0.0.1 only. Raises :class:`ClusterError` when
    ``distributed`` is missing or the scheduler does not answer within
    ``timeout`` seconds, ``ValueError`` for a malformed ``scheduler``.
    """
    kind, value = parse_scheduler(scheduler)
    d = _distributed()
    key = str(scheduler).strip()
    with _lock:
        client = _clients.get(key)
        if client is not None and client.status == "running":
            return client
        if kind == "local":
            cluster = _clusters.get(key)
            if cluster is None:
                try:
                    cluster = d.LocalCluster(
                        n_workers=int(value), threads_per_worker=1, processes=True, host="127.0.0.1",
                        scheduler_port=0, dashboard_address=None, silence_logs=logging.ERROR,
                        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},  # its HTTP server: a free port
                    )
                except (RuntimeError, OSError, TimeoutError) as exc:
                    raise ClusterError(
                        f"Could not start a local Dask cluster of {value} workers ({type(exc).__name__}: {exc})."
                    ) from exc
                _clusters[key] = cluster
            client = d.Client(cluster, timeout=timeout, set_as_default=False)
        else:
            _probe(d, str(value), timeout)
            client = d.Client(value, timeout=timeout, set_as_default=False)
        _clients[key] = client
        return client


def _probe(d: ModuleType, address: str, timeout: float) -> None:
    """Raise :class:`ClusterError` unless a Dask scheduler answers at ``address`` within ``timeout`` seconds.

    Asked before a Client is made: a Client that fails to connect lingers and
    prints a second traceback when it is collected.
    """

    async def identity() -> dict:
        comm = await d.comm.connect(address, timeout=timeout)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await asyncio.wait_for(comm.read(), timeout)
        finally:
            comm.abort()

    try:
        reply = asyncio.run(asyncio.wait_for(identity(), 2 * timeout))
    except Exception as exc:  # noqa: BLE001 - refused, timed out, or something else answering: all one message
        raise ClusterError(
            f"Cannot reach a Dask scheduler at {address} within {timeout:g} s ({type(exc).__name__}): start it "
            "with `dask scheduler` (and `dask worker ADDRESS --nthreads 1` on each machine), or check the address."
        ) from exc
    if not isinstance(reply, dict) or reply.get("type") != "Scheduler":
        raise ClusterError(f"{address} answered, but not as a Dask scheduler: check the address and port.")


def _not_cancelled(record: logging.LogRecord) -> bool:
    """False for a log record whose exception is a cancelled asyncio task (nothing went wrong)."""
    return not (record.exc_info and isinstance(record.exc_info[1], asyncio.CancelledError))


@contextmanager
def _quiet_distributed() -> Iterator[None]:
    logger = logging.getLogger("distributed")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def _drop(client: Any) -> None:
    """Close ``client`` (its scheduler is lost) and forget it, so the next :func:`connect` makes a new one."""
    # Closing it cancels its attempts to reconnect, which distributed logs as an
    # error with a 35-line traceback, from its own thread: noise after facecore's one line.
    logger = logging.getLogger("distributed.client")
    if _not_cancelled not in logger.filters:
        logger.addFilter(_not_cancelled)
    with _quiet_distributed(), _lock:
        for key in [k for k, c in _clients.items() if c is client]:
            del _clients[key]
        client.close()


@atexit.register
def close_clusters() -> None:
    """Close the clients this process opened and stop the local clusters it started."""
    with _quiet_distributed(), _lock:
        for client in _clients.values():
            client.close()
        for cluster in _clusters.values():
            cluster.close()
        _clients.clear()
        _clusters.clear()


_worker_ready = False


def _encode_on_worker(items: list[WorkItem], settings: EncoderSettings) -> Results:
    """What a Dask worker runs: :func:`~.workers.encode_batch`, with the models loaded once per process."""
    global _worker_ready
    if not _worker_ready:
        # Once per worker process, as the local pool's initializer does: one BLAS
        # thread (the worker is one process with one thread), no bomb warnings
        # (decode_image reports those photos), and the models loaded (about 1 s).
        from ..photos.imaging import silence_bomb_warnings
        from .detection import load_models

        os.environ.setdefault("OMP_NUM_THREADS", "1")
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
        silence_bomb_warnings()
        load_models()
        _worker_ready = True
    return encode_batch(items, settings)


class DaskBackend:
    """Encode on a Dask cluster: ``scheduler`` is ``local:N``, an address, or a connected ``distributed.Client``.

    ``paths`` maps a photo's name (as in :class:`~facecore.photos.refs.ImageRef`)
    to the file a worker reads it from; without ``ship_bytes`` only that path
    is sent. At most ``2 * threads + 2`` batches are in flight (threads: all
    the workers' threads, read again as workers come and go).
    """

    def __init__(
        self,
        scheduler: Any,
        *,
        ship_bytes: bool = False,
        paths: Mapping[str, str] | None = None,
        timeout: float = CONNECT_TIMEOUT_S,
        retries: int = RETRIES,
    ) -> None:
        self.client = connect(scheduler, timeout) if isinstance(scheduler, str) else scheduler
        self.ship_bytes = ship_bytes
        self.paths = dict(paths or {})
        self.retries = retries
        self.resent = 0  # photos sent again with their bytes because a worker could not read their path
        self._threads, self._threads_at, self._warned = 1, float("-inf"), False

    @classmethod
    def for_refs(cls, scheduler: Any, refs: Iterable[ImageRef], **kwargs: Any) -> DaskBackend:
        """A backend whose workers read ``refs`` from their paths (refs held in memory travel as bytes)."""
        return cls(scheduler, paths={r.name: r.path for r in refs if r.path is not None}, **kwargs)

    def threads(self) -> int:
        """Threads of all the workers connected now (at least 1); asks the scheduler at most every few seconds."""
        now = time.monotonic()
        if now - self._threads_at > THREADS_REFRESH_S:
            workers = self.client.scheduler_info().get("workers", {})
            self._threads = max(1, sum(int(w.get("nthreads", 1)) for w in workers.values()))
            self._threads_at = now
            if any(int(w.get("nthreads", 1)) > 1 for w in workers.values()) and not self._warned:
                self._warned = True
                log.warning("Some Dask workers run several threads: start them with `--nthreads 1` "
                            "(one encoding per process; more threads only compete for the same core)")
        return self._threads

    def _outgoing(self, item: WorkItem) -> WorkItem:
        name, path, data = item
        if not self.ship_bytes and data is not None and name in self.paths:
            return (name, self.paths[name], None)
        return item

    def run(
        self, batches: Iterator[list[WorkItem]], settings: EncoderSettings, should_stop: Callable[[], bool]
    ) -> Iterator[Results]:
        """Submit batches as slots free up; yield each batch's results as it finishes (any order).

        Stops taking work once ``should_stop()`` is true (batches already
        finished are still yielded, the others cancelled). Raises
        :class:`WorkerCrashedError` when a batch killed its workers
        ``distributed.scheduler.allowed-failures`` times, :class:`ClusterError`
        when the workers cannot run facecore; losing the scheduler is a
        :class:`WorkerCrashedError` too (what finished is cached).
        """
        d = _distributed()
        source = iter(batches)
        pending = d.as_completed(loop=self.client.loop)
        sent: dict[Any, tuple[list[WorkItem], bool]] = {}  # future -> (its batch as the client holds it, by path?)

        def submit(batch: list[WorkItem], by_path: bool = True) -> None:
            items = [self._outgoing(i) for i in batch] if by_path else batch
            try:
                fut = self.client.submit(_encode_on_worker, items, settings, pure=False, retries=self.retries)
            except (d.client.ClosedClientError, OSError) as exc:  # the scheduler went away and took the client
                raise self._lost(exc) from exc
            sent[fut] = (batch, by_path)
            pending.add(fut)

        def fill() -> None:
            limit = 2 * self.threads() + 2
            while len(sent) < limit and not should_stop():
                batch = next(source, None)
                if batch is None:
                    return
                submit(batch)

        try:
            fill()
            for fut in pending:
                results, again = self._finish(fut, *sent.pop(fut))
                if again:
                    submit(again, by_path=False)
                yield results
                if should_stop():
                    for other in [f for f in sent if f.status == "finished"]:
                        yield self._finish(other, *sent.pop(other))[0]  # photos to send again stay undone
                    return
                fill()
        finally:
            if sent and self.client.status == "running":  # not after _drop closed it
                self.client.cancel(list(sent))

    def _result(self, fut: Any) -> Results:
        d = _distributed()
        try:
            return fut.result()
        except d.KilledWorker as exc:
            raise WorkerCrashedError(
                "A batch of photos stopped its Dask worker several times (out of memory, or a file that crashes "
                "a decoder). Finished photos are cached: run again to continue, with fewer or smaller photos."
            ) from exc
        except (OSError, TimeoutError, d.client.FutureCancelledError, d.client.ClosedClientError) as exc:
            raise self._lost(exc) from exc
        except Exception as exc:  # noqa: BLE001 - whatever a worker raised arrives here; one line, with its type
            first = " ".join(str(exc).split())[:160]
            raise ClusterError(
                f"The Dask cluster could not run facecore's encoder ({type(exc).__name__}: {first}): start "
                "`dask scheduler` and every `dask worker` with this project on PYTHONPATH and its requirements "
                "installed (requirements.txt, requirements-nodeps.txt, requirements-cluster.txt)."
            ) from exc

    def _lost(self, exc: BaseException) -> WorkerCrashedError:
        """The error for a scheduler lost mid-run; the client is closed and forgotten."""
        _drop(self.client)
        # a WorkerCrashedError: encode_images then writes what finished before re-raising
        return WorkerCrashedError(
            f"Lost the Dask scheduler mid-run ({type(exc).__name__}). Finished photos are cached: run again "
            "once the scheduler is back."
        )

    def _finish(self, fut: Any, batch: list[WorkItem], by_path: bool) -> tuple[Results, list[WorkItem]]:
        """A finished batch's results, less the photos a worker could not read at their path; those, with bytes.

        ``batch`` is the batch as the client holds it; a photo it holds the
        bytes of but sent by path is sent once more, with the bytes (never twice).
        """
        results = self._result(fut)
        failed = {name for name, r in results if r.reason in _NOT_READ} if by_path else set()
        again = [(name, None, data) for name, path, data in batch
                 if name in failed and data is not None and self._outgoing((name, path, data))[2] is None]
        if not again:
            return results, []
        if self.resent == 0:
            log.warning("A Dask worker cannot read %s at its path: sending such photos' bytes "
                        "(mount the photos at the same path on every worker, or use --ship-bytes)", again[0][0])
        self.resent += len(again)
        names = {name for name, _, _ in again}
        return [(name, r) for name, r in results if name not in names], again


def backend_from_env(refs: Iterable[ImageRef] = (), environ: Mapping[str, str] | None = None) -> DaskBackend | None:
    """The Dask backend the app encodes ``refs`` on when ``$FACECORE_DASK_SCHEDULER`` is set, else None.

    ``$FACECORE_DASK_SHIP_BYTES=1`` sends the photos' bytes instead of their
    paths. Raises :class:`ClusterError` (malformed value, scheduler unreachable,
    ``distributed`` missing), one line for the page.
    """
    env = os.environ if environ is None else environ
    scheduler = env.get(SCHEDULER_ENV, "").strip()
    if not scheduler:
        return None
    ship = env.get(SHIP_BYTES_ENV, "").strip().lower() in {"1", "true", "yes"}
    try:
        parse_scheduler(scheduler)
    except ValueError as exc:  # a FaceCoreError, so the app shows it like any other
        raise ClusterError(f"{SCHEDULER_ENV}: {exc}") from exc
    return DaskBackend.for_refs(scheduler, refs, ship_bytes=ship)
