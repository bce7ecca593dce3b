"""Encoding a whole set of images into a :class:`FaceSet`, in parallel and through the cache.

The caller hands over :class:`~facecore.sources.ImageRef` rows; each is hashed,
looked up in the :class:`~facecore.store.EncodingStore`, and only the misses
go to a pool of worker processes (models loaded once per worker, each image
decoded once). Progress (done, total, ETA) is reported through a callback and
a ``should_stop`` callable can end the run early, keeping what is done.
"""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

import numpy as np

from .encoding import Box, EncodedImage, encode_bytes, load_models
from .errors import UnreadableImageError, WorkerCrashedError
from .imaging import silence_bomb_warnings
from .settings import EncoderSettings
from .sources import ImageRef, Skipped, content_digest, person_of
from .store import CachedImage, EncodingStore


@dataclass(frozen=True)
class Face:
    """One face of the set: the image it comes from (by content and by name) and its box."""

    digest: str
    path: str
    index: int  # 0 = largest face of its image
    box: Box
    person: str | None


@dataclass(frozen=True)
class Progress:
    """Encoding progress: images done of total, how many came from the cache, seconds left."""

    done: int
    total: int
    cached: int
    faces: int
    elapsed: float
    eta: float | None


@dataclass(frozen=True)
class FaceSet:
    """The encoded faces of a dataset.

    ``encodings`` is ``(len(faces), 128)`` float32, row i belonging to
    ``faces[i]``. ``images`` counts image files looked at; ``skipped`` says why
    the others gave no face. ``key`` is a content digest of the whole set,
    cheap to hash, for caches that depend on it.
    """

    faces: tuple[Face, ...]
    encodings: np.ndarray
    images: int
    skipped: tuple[Skipped, ...]
    settings_key: str
    seconds: float = 0.0
    encoded: int = 0
    cached: int = 0
    stopped: bool = False
    key: str = field(default="")
    #: content digest of every image read (with or without a face): what the
    #: cache holds for this set, e.g. to delete it
    digests: tuple[str, ...] = ()

    @property
    def persons(self) -> list[str | None]:
        """The person (parent folder) of each face, None where the name has no folder."""
        return [f.person for f in self.faces]

    def __len__(self) -> int:
        return len(self.faces)


def faceset_key(faces: Sequence[Face], settings_key: str) -> str:
    """A sha256 over the faces' content digests, indices and names: names the set exactly."""
    h = hashlib.sha256(settings_key.encode())
    for f in faces:
        h.update(f"{f.digest}:{f.index}:{f.path}\n".encode())
    return h.hexdigest()


# --------------------------------------------------------------------------- worker pool

_pools: dict[int, ProcessPoolExecutor] = {}
_pool_lock = threading.Lock()


def _worker_init() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    silence_bomb_warnings()  # decode_image reports those images as "too many pixels"
    load_models()


def _work(
    items: list[tuple[str, str | None, bytes | None]], settings: EncoderSettings
) -> list[tuple[str, EncodedImage]]:
    out = []
    for name, path, data in items:
        try:
            raw = data if data is not None else ImageRef(name, path=path).read_bytes()
        except UnreadableImageError as exc:
            out.append((name, EncodedImage("", reason=exc.reason, detail=exc.detail)))
            continue
        out.append((name, encode_bytes(raw, settings)))
    return out


def default_workers() -> int:
    """Number of worker processes: the CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


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
            pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init)
            _pools[workers] = pool
        return pool


def shutdown_pools() -> None:
    """Stop the worker processes (they restart on the next encode)."""
    with _pool_lock:
        for pool in _pools.values():
            pool.shutdown(wait=True, cancel_futures=True)
        _pools.clear()


# --------------------------------------------------------------------------- encode a set


def _result_from_cache(c: CachedImage) -> EncodedImage:
    return EncodedImage(c.digest, c.width, c.height, list(c.boxes), c.encodings, [], c.reason, c.detail)


def encode_images(
    refs: Sequence[ImageRef],
    settings: EncoderSettings = EncoderSettings(),
    store: EncodingStore | None = None,
    *,
    workers: int | None = None,
    skipped: Sequence[Skipped] = (),
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    chunk: int = 4,
) -> FaceSet:
    """Encode every face of ``refs``; return a :class:`FaceSet`.

    Cached images (same bytes, same settings) cost one hash; the rest are
    encoded by ``workers`` processes (default: all CPUs; jobs of two images
    or fewer run in this process) and written to ``store``. ``skipped`` rows
    from discovery are carried into the result. Unusable images and images
    without a face are listed in ``FaceSet.skipped`` with their reason.
    """
    start = time.perf_counter()
    workers = workers or default_workers()
    results: dict[str, EncodedImage] = {}  # by ref name
    skips = list(skipped)

    # 1. hash everything and ask the cache
    digests: dict[str, str] = {}
    for ref in refs:
        try:
            digests[ref.name] = content_digest(ref.read_bytes())
        except UnreadableImageError as exc:
            skips.append(Skipped(ref.name, exc.reason, exc.detail))
    cached = store.get_many(digests.values(), settings.key) if store is not None else {}
    todo: list[ImageRef] = []
    seen_digest: dict[str, str] = {}
    for ref in refs:
        d = digests.get(ref.name)
        if d is None:
            continue
        if d in cached:
            results[ref.name] = _result_from_cache(cached[d])
        elif d in seen_digest:  # same bytes twice in this set: encode once
            continue
        else:
            seen_digest[d] = ref.name
            todo.append(ref)
    n_cached = len(results)
    total = len(digests)
    # Repeats of bytes already queued cost nothing: counted as done from the
    # start, so progress reaches total (a zip of 5,000 identical files did not).
    n_repeats = total - n_cached - len(todo)
    n_faces = sum(len(r.boxes) for r in results.values())

    def report() -> None:
        if on_progress is None:
            return
        done = len(results) + n_repeats
        elapsed = time.perf_counter() - start
        fresh = len(results) - n_cached
        eta = (elapsed / fresh) * (total - done) if fresh > 0 else None
        on_progress(Progress(done, total, n_cached, n_faces, elapsed, eta))

    report()
    stopped = False
    pending_store: list[EncodedImage] = []

    def absorb(batch: list[tuple[str, EncodedImage]]) -> None:
        nonlocal n_faces
        for name, res in batch:
            results[name] = res
            n_faces += len(res.boxes)
            if res.digest:
                pending_store.append(res)
        if store is not None and len(pending_store) >= 32:
            store.put_many(pending_store, settings.key)
            pending_store.clear()
        report()

    # 2. encode the misses
    items = [(r.name, r.path, r.data) for r in todo]
    if len(items) <= 2 or workers == 1:
        for item in items:
            if should_stop is not None and should_stop():
                stopped = True
                break
            absorb(_work([item], settings))
    elif items:
        pool = _pool(workers)
        futures: set[Future] = {
            pool.submit(_work, items[i : i + chunk], settings) for i in range(0, len(items), chunk)
        }
        try:
            while futures:
                done, futures = wait(futures, timeout=0.5, return_when=FIRST_COMPLETED)
                for fut in done:
                    absorb(fut.result())
                if should_stop is not None and should_stop():
                    stopped = True
                    for fut in futures:
                        fut.cancel()
                    break
        except BrokenProcessPool as exc:
            # Keep what finished and say what happened; the next run gets a new pool.
            if store is not None and pending_store:
                store.put_many(pending_store, settings.key)
            raise WorkerCrashedError(
                f"An encoding process stopped abruptly after {len(results)} of {total} images "
                "(out of memory, or a file that crashes a decoder). Finished images are cached: "
                "run again to continue, with fewer workers or fewer/smaller photos."
            ) from exc
        except BaseException:
            for fut in futures:
                fut.cancel()
            raise
    if store is not None and pending_store:
        store.put_many(pending_store, settings.key)

    n_encoded = len(results) - n_cached
    # 3. duplicates of an encoded image share its result
    for ref in refs:
        d = digests.get(ref.name)
        if ref.name not in results and d in seen_digest and seen_digest[d] in results:
            results[ref.name] = results[seen_digest[d]]

    # 4. assemble, in the order of refs
    faces: list[Face] = []
    rows: list[np.ndarray] = []
    for ref in refs:
        res = results.get(ref.name)
        if res is None:
            continue
        if res.reason is not None:
            skips.append(Skipped(ref.name, res.reason, res.detail))
            continue
        keep = len(res.boxes) if settings.all_faces else 1
        for i in range(keep):
            faces.append(Face(res.digest, ref.name, i, tuple(res.boxes[i]), person_of(ref.name)))
        rows.append(np.asarray(res.encodings[:keep], dtype=np.float32))
    encodings = np.concatenate(rows) if rows else np.empty((0, 128), np.float32)
    return FaceSet(
        faces=tuple(faces),
        encodings=encodings,
        images=len(refs) + sum(1 for s in skipped if s.reason not in ("unsupported type",)),
        skipped=tuple(skips),
        settings_key=settings.key,
        seconds=time.perf_counter() - start,
        encoded=n_encoded,
        cached=n_cached,
        stopped=stopped,
        key=faceset_key(faces, settings.key),
        digests=tuple(dict.fromkeys([*digests.values(), *(r.digest for r in results.values() if r.digest)])),
    )
