"""A whole set of photos encoded into a :class:`FaceSet`, through the cache and the worker processes.

:func:`encode_images` reads each photo once: its bytes are hashed, looked up in
the :class:`~facecore.storage.encodings.EncodingStore` a window at a time, and the misses
are handed, with those bytes, to a backend of :mod:`facecore.encode.workers` while the
next photos are being read. Results are written to the store every few dozen
photos, so a stopped or killed run keeps what it finished. Progress (done,
total, the recent rate and time left) goes to a callback, and ``should_stop``
ends the run early at any point, the reading included.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from .encode.encoding import EncodedImage
from .encode.workers import EncodeBackend, InProcess, LocalPool, Results, WorkItem
from .errors import UnreadableImageError, WorkerCrashedError
from .photos.imaging import Box
from .photos.refs import ImageRef, Skipped, content_digest, person_of
from .settings import EncoderSettings
from .storage.encodings import CachedImage, EncodingStore

#: Reason given to a file whose bytes are the same as an earlier file's.
DUPLICATE = "duplicate"
#: Skip reasons that are not about a photo at all (the file is something else).
NOT_A_PHOTO = frozenset({"unsupported type"})
#: Photos hashed and looked up in the cache together.
_WINDOW = 64
#: Encoded results written to the cache together.
_FLUSH_EVERY = 32
#: The rate behind "time left" is measured over this many recent seconds, from the moment this many photos were
#: encoded (the first ones carry the workers' start and model loading: counted from the start, the first estimate
#: was 5x too long), and given once this many more were encoded since (before: None, "estimating").
_RATE_WINDOW_S = 20.0
_RATE_WARMUP = 4
_RATE_MIN_PHOTOS = 8


@dataclass(frozen=True)
class Face:
    """One face of the set: the photo it comes from (by content and by name), its place in it and its box."""

    digest: str
    #: the photo's display name (path relative to the folder or archive, or the upload's name)
    name: str
    #: 0 for the largest face of its photo, 1 for the next, ...
    in_photo: int
    box: Box
    #: the photo's parent folder, taken as the person's name; None without a folder
    person: str | None


@dataclass(frozen=True)
class Progress:
    """Encoding progress: photos done of total, how many came from the cache, faces so far, time.

    ``rate`` is photos encoded per second over the last ``_RATE_WINDOW_S``
    seconds, after a warm-up (None before it can be measured: say "estimating");
    ``eta`` the seconds left at that rate.
    """

    done: int
    total: int
    cached: int
    faces: int
    elapsed: float
    eta: float | None
    rate: float | None = None


@dataclass(frozen=True)
class FaceSet:
    """The encoded faces of a set of photos.

    ``encodings`` is ``(len(faces), 128)`` float32, row i belonging to
    ``faces[i]``. ``images`` counts the photo files looked at; ``skipped``
    says why the others gave no face. ``key`` is a content digest of the whole
    set, cheap to hash, for caches that depend on it.
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
    #: ``(name, content digest)`` of every photo read, with or without a face,
    #: in order: what the cache holds for this set (to delete it, or reopen it)
    read: tuple[tuple[str, str], ...] = ()
    #: content digests of this set's photos hidden from it (:meth:`without`): still in :attr:`read` (the cache
    #: holds them, and deleting the set deletes them), no longer among :attr:`faces`
    hidden: frozenset[str] = frozenset()
    #: photos in which the detector found two faces or more (group photos), whether or not all are kept
    photos_with_several_faces: int = 0
    #: True for the view keeping the largest face of each photo (:meth:`largest`): the same rows, nothing encoded
    largest_only: bool = False
    #: the set a view was derived from (every face), whose rows :attr:`source_rows` are this view's; else None
    source: FaceSet | None = field(default=None, repr=False, compare=False)

    @property
    def digests(self) -> tuple[str, ...]:
        """The content digest of every distinct photo read: what the cache holds for this set."""
        return tuple(dict.fromkeys(d for _, d in self.read))

    @property
    def persons(self) -> list[str | None]:
        """The person (parent folder) of each face, None where the name has no folder."""
        return [f.person for f in self.faces]

    @property
    def photos_with_face(self) -> int:
        """Photos in which at least one face was found."""
        return len({f.digest for f in self.faces})

    @property
    def other_files(self) -> int:
        """Files that are not photos at all (other extensions), left out of :attr:`images`."""
        return sum(1 for s in self.skipped if s.reason in NOT_A_PHOTO)

    @property
    def photos_hidden(self) -> int:
        """Photos of this set hidden from it (see :meth:`without`)."""
        return len(self.hidden)

    def without(self, digests: Iterable[str]) -> FaceSet:
        """This set without the photos whose content digest is among ``digests`` (photos the user hid): their
        faces and encoding rows are left out, :attr:`key` names the faces kept, and :attr:`hidden` lists every
        digest of this set hidden so far. Digests of photos not in this set are ignored; nothing hidden gives
        ``self``. Files are never touched, and :attr:`read` still lists every photo read."""
        gone = set(digests).intersection(d for _, d in self.read) - self.hidden
        if not gone:
            return self
        keep = np.array([f.digest not in gone for f in self.faces], dtype=bool)
        faces = tuple(f for f, k in zip(self.faces, keep, strict=True) if k)
        return replace(
            self,
            faces=faces,
            encodings=np.ascontiguousarray(self.encodings[keep]),
            key=faceset_key(faces, self.settings_key),
            hidden=self.hidden | gone,
            source=None if self.source is None else self.source.without(gone),
        )

    def largest(self) -> FaceSet:
        """Face 0 of each photo (its largest), as the article kept: a view of this set's rows (its :attr:`source`),
        nothing encoded again; counts stay the encode's, :attr:`key` names the faces kept."""
        if self.largest_only:
            return self
        keep = np.fromiter((f.in_photo == 0 for f in self.faces), dtype=bool, count=len(self.faces))
        faces = tuple(f for f, k in zip(self.faces, keep, strict=True) if k)
        same = bool(keep.all())  # one face per photo already: the same faces, encodings and key
        enc, key = (self.encodings, self.key) if same else (self.encodings[keep], faceset_key(faces, self.settings_key))
        return replace(self, faces=faces, encodings=enc, key=key, largest_only=True, source=self)

    @property
    def source_rows(self) -> np.ndarray:
        """``(len(self),)`` int64: each face's row in :attr:`source` (``arange`` when this set is no view)."""
        faces = self.faces if self.source is None else self.source.faces
        return np.flatnonzero([f.in_photo == 0 or self.source is None for f in faces])

    def thumb_keys(self, rows: Sequence[int] | np.ndarray) -> list[tuple[str, int]]:
        """The ``(photo digest, face in photo)`` thumbnail keys of the faces at ``rows``, for the store."""
        return [(self.faces[int(i)].digest, self.faces[int(i)].in_photo) for i in rows]

    def skip_counts(self) -> Counter[str]:
        """How many files were skipped for each reason, most common first when iterated with ``most_common``."""
        return Counter(s.reason for s in self.skipped)

    def __len__(self) -> int:
        return len(self.faces)


def faceset_key(faces: Sequence[Face], settings_key: str) -> str:
    """A sha256 over the faces' content digests, places in their photo and names: names the set exactly."""
    h = hashlib.sha256(settings_key.encode())
    for f in faces:
        h.update(f"{f.digest}:{f.in_photo}:{f.name}\n".encode())
    return h.hexdigest()


def result_from_cache(c: CachedImage) -> EncodedImage:
    """What the encoder made of a photo, rebuilt from its cache row (no thumbnails)."""
    quality = c.quality if c.quality is not None else np.full((len(c.boxes), 4), np.nan, np.float32)
    return EncodedImage(c.digest, c.width, c.height, list(c.boxes), c.encodings, [], c.reason, c.detail, quality)


class _Run:
    """The state of one :func:`encode_images` call: results by photo name, counters, progress reports."""

    def __init__(self, total: int, on_progress: Callable[[Progress], None] | None) -> None:
        self.start = time.perf_counter()
        self.total = total
        self.results: dict[str, EncodedImage] = {}
        self.skips: list[Skipped] = []
        self.digests: dict[str, str] = {}  # photo name -> digest, for every photo read
        self.first_of: dict[str, str] = {}  # digest -> name of the first photo with those bytes
        self.cached = self.encoded = self.faces = self.other = 0
        self.stopped = False  # set at the end: photos left undone
        self.pending: list[EncodedImage] = []  # encoded, not yet in the store
        self._recent: deque[tuple[float, int]] = deque()
        self._on_progress = on_progress
        self._reported = -1

    @property
    def done(self) -> int:
        return self.cached + self.encoded + self.other

    def add(self, name: str, result: EncodedImage, from_cache: bool) -> None:
        self.results[name] = result
        self.faces += len(result.boxes)
        if from_cache:
            self.cached += 1
        else:
            self.encoded += 1
            if result.digest:
                self.pending.append(result)

    def report(self) -> None:
        if self._on_progress is None or self.done == self._reported:
            return
        self._reported = self.done
        now = time.perf_counter()
        if self.encoded >= _RATE_WARMUP:  # the warm-up's photos never enter the rate
            self._recent.append((now, self.encoded))
        while len(self._recent) > 2 and now - self._recent[1][0] > _RATE_WINDOW_S:
            self._recent.popleft()
        rate = None
        if self._recent:
            t0, n0 = self._recent[0]
            if now > t0 and self.encoded - n0 >= _RATE_MIN_PHOTOS:
                rate = (self.encoded - n0) / (now - t0)
        left = self.total - self.done
        eta = left / rate if rate else (0.0 if left == 0 else None)
        self._on_progress(Progress(self.done, self.total, self.cached, self.faces, now - self.start, eta, rate))


def _read(ref: ImageRef, run: _Run) -> tuple[str, bytes] | None:
    """The photo's digest and bytes; None when it cannot be read or repeats an earlier photo (both recorded)."""
    try:
        data = ref.read_bytes()
    except UnreadableImageError as exc:
        run.skips.append(Skipped(ref.name, exc.reason, exc.detail))
        run.other += 1
        return None
    digest = content_digest(data)
    run.digests[ref.name] = digest
    first = run.first_of.setdefault(digest, ref.name)
    if first != ref.name:
        run.skips.append(Skipped(ref.name, DUPLICATE, f"the same photo as {first}"))
        run.other += 1
        return None
    return digest, data


def _misses(
    refs: Sequence[ImageRef],
    settings: EncoderSettings,
    store: EncodingStore | None,
    run: _Run,
    should_stop: Callable[[], bool],
    chunk: int,
) -> Iterator[list[WorkItem]]:
    """Read and hash the photos a window at a time; record cache hits; yield batches of the misses, with bytes."""
    for start in range(0, len(refs), _WINDOW):
        window: list[tuple[str, str, bytes]] = []
        for ref in refs[start : start + _WINDOW]:
            if should_stop():
                break
            read = _read(ref, run)
            if read is not None:
                window.append((ref.name, *read))
        hits = store.get_many([d for _, d, _ in window], settings.key, settings.reuses) if store is not None else {}
        todo = []
        for name, digest, data in window:
            if digest in hits:
                run.add(name, result_from_cache(hits[digest]), from_cache=True)
            else:
                todo.append((name, None, data))
        run.report()
        for i in range(0, len(todo), chunk):
            yield todo[i : i + chunk]
        if should_stop():
            return


def _flush(store: EncodingStore | None, run: _Run, settings: EncoderSettings, at_least: int = 1) -> None:
    if len(run.pending) < at_least:
        return
    if store is not None:
        store.put_many(run.pending, settings.key)
    run.pending.clear()


def _absorb(batch: Results, run: _Run) -> None:
    for name, result in batch:
        run.add(name, result, from_cache=False)
    run.report()


def _assemble(refs: Sequence[ImageRef], run: _Run, settings: EncoderSettings, skipped: Sequence[Skipped]) -> FaceSet:
    """The FaceSet in the order of ``refs``: faces of the photos that have one, the others as skipped."""
    faces: list[Face] = []
    rows: list[np.ndarray] = []
    for ref in refs:
        res = run.results.get(ref.name)
        if res is None:
            continue
        if res.reason is not None:
            run.skips.append(Skipped(ref.name, res.reason, res.detail))
            continue
        keep = len(res.boxes) if settings.all_faces else 1
        person = person_of(ref.name)
        faces += [Face(res.digest, ref.name, i, tuple(res.boxes[i]), person) for i in range(keep)]
        rows.append(np.asarray(res.encodings[:keep], dtype=np.float32))
    skips = [*skipped, *run.skips]
    return FaceSet(
        faces=tuple(faces),
        encodings=np.concatenate(rows) if rows else np.empty((0, 128), np.float32),
        images=len(refs) + sum(1 for s in skipped if s.reason not in NOT_A_PHOTO),
        skipped=tuple(skips),
        settings_key=settings.key,
        seconds=time.perf_counter() - run.start,
        encoded=run.encoded,
        cached=run.cached,
        stopped=run.stopped,
        key=faceset_key(faces, settings.key),
        read=tuple(run.digests.items()),
        photos_with_several_faces=sum(1 for r in run.results.values() if r.reason is None and len(r.boxes) > 1),
    )


def encode_images(
    refs: Sequence[ImageRef],
    settings: EncoderSettings = EncoderSettings(),
    store: EncodingStore | None = None,
    *,
    workers: int | None = None,
    backend: EncodeBackend | None = None,
    skipped: Sequence[Skipped] = (),
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    chunk: int = 4,
) -> FaceSet:
    """Encode every face of ``refs``; return a :class:`FaceSet`.

    Cached photos (same bytes, same settings) cost one read and one hash; the
    rest go to ``backend`` (default: a :class:`~facecore.encode.workers.LocalPool`
    of ``workers`` processes, all CPUs by default; sets of two photos or
    ``workers=1`` run in this process) in batches of ``chunk`` photos, and are
    written to ``store``. ``skipped`` rows from discovery are carried into the
    result; unusable photos, repeats of a photo and photos without a face are
    listed in ``FaceSet.skipped`` with their reason.
    """
    stop = should_stop or (lambda: False)
    run = _Run(len(refs), on_progress)
    if backend is None:
        backend = InProcess() if len(refs) <= 2 or workers == 1 else LocalPool(workers)
    run.report()
    try:
        for batch in backend.run(_misses(refs, settings, store, run, stop, chunk), settings, stop):
            _absorb(batch, run)
            _flush(store, run, settings, at_least=_FLUSH_EVERY)
    except WorkerCrashedError as exc:
        _flush(store, run, settings)  # keep what finished and say what happened; the next run gets a new pool
        raise WorkerCrashedError(f"After {run.done} of {run.total} photos: {exc}") from exc
    _flush(store, run, settings)
    run.stopped = run.done < run.total  # only a stop leaves photos undone (a crash raised above)
    return _assemble(refs, run, settings, skipped)


def open_cached(
    photos: Sequence[tuple[str, str]],
    settings: EncoderSettings,
    store: EncodingStore,
    skipped: Sequence[Skipped] = (),
) -> FaceSet:
    """Rebuild the FaceSet of photos already in the cache from their ``(name, content digest)``, in order,
    without their bytes. A photo the cache no longer holds is skipped as ``not cached``."""
    run = _Run(len(photos), None)
    hits = store.get_many([d for _, d in photos], settings.key, settings.reuses)
    refs = []
    for name, digest in photos:
        refs.append(ImageRef(name))
        run.digests[name] = digest
        if digest in hits:
            run.add(name, result_from_cache(hits[digest]), from_cache=True)
        else:
            run.skips.append(Skipped(name, "not cached", "its encoding was deleted from the cache: add it again"))
    return _assemble(refs, run, settings, skipped)
