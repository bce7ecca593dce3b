"""What every background job of facecore shares: one daemon thread running ``_run``, when it started and
ended, and waiting for it. The thread never touches a user interface; a caller polls the job's own fields
(:class:`facecore.encode.job.EncodeJob`, :class:`facecore.layout.map_job.MapJob`)."""

from __future__ import annotations

import threading
import time
from typing import TypeVar

J = TypeVar("J", bound="BackgroundJob")


class BackgroundJob:
    """A job run by :meth:`_run` in a daemon thread named ``name``; :meth:`_run` sets :attr:`ended` when done."""

    def __init__(self, name: str) -> None:
        self.started = time.monotonic()
        self.ended: float | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self) -> None:  # pragma: no cover - each job defines its work
        raise NotImplementedError

    def start(self: J) -> J:
        self._thread.start()
        return self

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    @property
    def waited(self) -> float:
        """Seconds from the start to the end of the job (or to now while it runs): what the user waited."""
        return (self.ended or time.monotonic()) - self.started

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job ends (or ``timeout`` seconds; None: until it ends); True if it ended."""
        if self._thread.ident is None:  # never started: done already (e.g. a kept map), or not begun
            return self.ended is not None
        self._thread.join(timeout)
        return not self._thread.is_alive()
