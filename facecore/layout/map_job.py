"""A background map job: lay out one set's faces (:func:`~facecore.layout.face_map.faceset_map`) in a thread.

t-SNE on 10^5 faces takes a minute or two of one core. The thread never touches a
user interface: a caller reads :attr:`MapJob.fraction` while it runs, then
:attr:`MapJob.points` or :attr:`MapJob.error` once it ends, as with
:class:`~facecore.encode.job.EncodeJob`. A map already kept in the cache comes
back at once; a new one is kept there, so a job whose caller went away still
saves the next visit the work.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from ..background import BackgroundJob
from ..errors import FaceCoreError
from .face_map import faceset_map, kept_faceset_map, map_method

log = logging.getLogger(__name__)


class MapJob(BackgroundJob):
    """Compute the ``dims``-D map (``method``, ``seed``) of ``faceset`` in a background thread.

    ``store``: the EncodingStore that keeps maps (None: nothing kept); ``kept``: the map the caller already read
    from it (:func:`~facecore.layout.face_map.kept_faceset_map`), not read again. After
    :meth:`start`, :attr:`fraction` goes from 0.0 to 1.0; once :attr:`running` is
    False, :attr:`points` holds ``(n, dims)`` float32 coordinates, or :attr:`error` a
    sentence to show.
    """

    def __init__(self, faceset, dims: int = 2, method: str = "tsne", seed: int = 0, store=None,
                 kept: np.ndarray | None = None) -> None:  # fmt: skip
        self.dims = dims
        self.method = map_method(len(faceset.faces), method)
        self.n_faces = len(faceset.faces)
        self.fraction = 0.0
        self.points: np.ndarray | None = None
        self.error: str | None = None
        self._args = (faceset, method, dims, seed)
        self._store = store
        self._kept = kept
        super().__init__(f"map {self.n_faces} faces {dims}-D")

    def start(self) -> MapJob:
        """Start computing; a map kept in the cache is read here, at once and without a thread, so a caller's
        first look finds it ready (a fresh server drew the PCA axes, then the map a second later)."""
        faceset, method, dims, seed = self._args
        kept = self._kept
        if kept is None and self._store is not None:
            kept = kept_faceset_map(faceset, method, dims, seed, self._store)
        if kept is None:
            return super().start()
        self.points, self.fraction, self.ended, self._args, self._kept = kept, 1.0, time.monotonic(), None, None
        return self

    def _progress(self, fraction: float) -> None:
        self.fraction = float(fraction)

    def _run(self) -> None:
        faceset, method, dims, seed = self._args
        try:
            self.points, _ = faceset_map(faceset, method, dims, seed, self._progress, self._store)
        except FaceCoreError as exc:
            self.error = str(exc)
        except (MemoryError, ImportError, RuntimeError, ValueError) as exc:  # the library's own failures
            log.exception("map of %d faces failed", self.n_faces)
            self.error = f"The map could not be computed ({type(exc).__name__}: {exc}); the PCA axes are shown."
        finally:
            self.fraction = 1.0
            self.ended = time.monotonic()
            self._args = None  # do not keep the set alive through a finished job
