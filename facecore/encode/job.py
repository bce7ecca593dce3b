"""A background encode job: find one set of photos and encode it through the cache, in a thread.

The thread never touches a user interface: a page (or any caller) reads :attr:`EncodeJob.phase` and
:attr:`EncodeJob.progress` while it runs, then :attr:`EncodeJob.faceset` or :attr:`EncodeJob.error` once
it ends. A job whose caller goes away runs to the end, writing every photo into the encoding cache, so
the next visit to the same photos finds them there.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import replace

from ..background import BackgroundJob
from ..errors import FaceCoreError, UnreadableImageError
from ..faceset import FaceSet, Progress, encode_images
from ..photos.refs import ImageRef, Skipped, content_digest
from ..settings import EncoderSettings
from ..storage.encodings import EncodingStore
from ..storage.person_carry import carry_persons
from ..storage.saved_sets import save_set
from .dask_backend import backend_from_env

log = logging.getLogger(__name__)

#: ``collect(should_stop)``: the photos to encode and the files skipped (a folder scan, uploads, a download).
Collect = Callable[[Callable[[], bool]], tuple[list[ImageRef], list[Skipped]]]


class EncodeJob(BackgroundJob):
    """Find and encode one set of photos in a background thread.

    ``collect(should_stop)`` returns the photos to encode. With ``remember``, the set is recorded in the
    cache (:func:`~facecore.storage.saved_sets.save_set`) and :attr:`token` names it, so it can be
    reopened without the photos (uploads). ``folder`` is where the photos were read from, if anywhere.
    With ``reopen_old``, photos cached before every face was kept reopen in largest-face mode
    (:func:`settings_for`); :attr:`settings` then says so once the job has looked.
    """

    def __init__(
        self,
        label: str,
        settings: EncoderSettings,
        store: EncodingStore,
        collect: Collect,
        folder: str | None = None,
        remember: bool = False,
        reopen_old: bool = True,
    ) -> None:
        self.label = label
        self.folder = folder
        self.remember = remember
        self.settings = settings
        self.reopen_old = reopen_old
        self.phase = "Looking for photos…"
        self.progress: Progress | None = None
        self.faceset: FaceSet | None = None
        self.token: str | None = None
        self.error: str | None = None
        self._store = store
        self._collect: Collect | None = collect  # dropped once the job ends: it may hold the uploads
        self._stop = threading.Event()
        super().__init__(f"encode {label}")

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def stop(self) -> None:
        """Ask the job to stop; photos already encoded are kept (and cached)."""
        self._stop.set()

    def _run(self) -> None:
        try:
            assert self._collect is not None
            refs, skipped = self._collect(self._stop.is_set)
            if not refs:
                self.error = f"No photos found in {self.label}: {nothing_found(skipped)}"
                return
            if self.reopen_old:
                self.settings = settings_for(refs, self.settings, self._store)
            self.phase = f"Encoding {len(refs):,} photos…"
            backend = backend_from_env(refs)  # a Dask cluster when FACECORE_DASK_SCHEDULER names one
            fs = encode_images(refs, self.settings, self._store, skipped=skipped, backend=backend,
                               on_progress=self._on_progress, should_stop=self._stop.is_set)  # fmt: skip
            self.token = save_set(self._store, fs, self.label) if self.remember and len(fs) else None
            self._carry_persons(fs)
            self.faceset = fs
        except (FaceCoreError, ValueError) as exc:  # ValueError: a malformed FACECORE_DASK_SCHEDULER
            self.error = str(exc)
        except Exception as exc:  # a thread that dies silently would leave its caller waiting forever
            log.exception("encoding %s failed", self.label)
            self.error = f"Encoding failed unexpectedly ({type(exc).__name__}: {exc}). The server log has details."
        finally:
            self._collect = None  # a finished job holds no upload (nor its archive's bytes)
            self.ended = time.monotonic()

    def _carry_persons(self, fs: FaceSet) -> None:
        """Every face of photos first encoded with their largest face only: the persons named and corrected there
        come along (:func:`~facecore.storage.person_carry.carry_persons`); a cache that cannot be written only
        loses that."""
        if self.settings.every_pass != 2 or not len(fs):
            return
        try:
            carry_persons(self._store, fs.digests, replace(self.settings, all_faces=False).key, self.settings.key)
        except (sqlite3.Error, FaceCoreError):
            log.warning("the persons of %s were not carried to every-face mode", self.label, exc_info=True)

    def _on_progress(self, progress: Progress) -> None:
        self.progress = progress


#: Photos whose cached rows decide whether a set was encoded before every face was kept.
OLD_MODE_PROBE = 64


def settings_for(refs: list[ImageRef], settings: EncoderSettings, store: EncodingStore) -> EncoderSettings:
    """``settings``; or, for photos encoded before (every face found by the full-size pass alone, or the largest
    face only: :meth:`EncoderSettings.reopenable`), those older settings, so the photos reopen from the cache as
    they were instead of being encoded again: when none of the first OLD_MODE_PROBE readable photos is cached with
    ``settings`` and all of them are with an older mode (the first such, in that order)."""
    modes = settings.reopenable()
    if len(modes) == 1:
        return settings
    digests = []
    for ref in refs[:OLD_MODE_PROBE]:
        try:
            digests.append(content_digest(ref.read_bytes()))
        except UnreadableImageError:
            continue
    if not digests or store.get_many(digests, settings.key):
        return settings
    return next((m for m in modes[1:] if len(store.get_many(digests, m.key)) == len(set(digests))), settings)


def nothing_found(skipped: list[Skipped]) -> str:
    """Why a source gave no photo to encode, in one sentence: what was skipped, most frequent reason first."""
    if not skipped:
        return "it holds no files with a photo extension (.jpg, .png, …)."
    counts: dict[str, int] = {}
    for s in skipped:
        counts[s.reason] = counts.get(s.reason, 0) + 1
    shown = ", ".join(f"{n} {reason}" for reason, n in sorted(counts.items(), key=lambda kv: -kv[1]))
    return f"{len(skipped)} files skipped ({shown})."
