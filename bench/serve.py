"""The app on a free localhost port for a benchmark: started here, its memory read from /proc, stopped after."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``with Server(cache, root) as s:`` runs the app (``python app.py``, as make app does) on localhost with
    ``cache`` as its cache file and ``root`` as the only allowed folder; ``s.url`` is its address, ``s.rss_mib()``
    its memory."""

    def __init__(self, cache: Path, root: Path, log: Path | None = None, app_dir: Path = ROOT,
                 env: dict[str, str] | None = None) -> None:  # fmt: skip
        """``app_dir``: the folder holding app.py (another checkout); ``env``: more environment for the app."""
        self.port = free_port()
        self.url = f"http://localhost:{self.port}/"
        self.log = log or Path(f"/tmp/bench-server-{self.port}.log")
        env = dict(os.environ, FACECORE_CACHE=str(cache), FACECORE_ALLOWED_ROOTS=str(root), PYTHONUNBUFFERED="1",
                   **(env or {}))  # fmt: skip
        # As make app starts it; an older checkout's app.py (without _serve) only runs under streamlit run.
        starts_itself = "def _serve" in (app_dir / "app.py").read_text()
        start = [sys.executable, "app.py"] if starts_itself else [str(Path(sys.executable).parent / "streamlit"),
                                                                   "run", "app.py"]  # fmt: skip
        cmd = [*start, "--server.port", str(self.port), "--server.headless", "true", "--server.fileWatcherType",
               "none"]  # fmt: skip
        self.started = time.perf_counter()
        self.ready_s = float("nan")  #: seconds from the start until the server answered its health check
        self.proc = subprocess.Popen(cmd, cwd=app_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)  # fmt: skip
        self._ready = threading.Event()
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        with open(self.log, "w") as fh:
            for line in self.proc.stdout:
                fh.write(line)
                fh.flush()
                if "URL: http" in line:
                    self._ready.set()
        self._ready.set()

    def __enter__(self) -> Server:
        """Wait until the server prints its address and answers ``/_stcore/health`` (what a browser waits for)."""
        if not self._ready.wait(120) or self.proc.poll() is not None:
            raise RuntimeError(f"streamlit did not start: see {self.log}")
        while time.perf_counter() - self.started < 120 and self.proc.poll() is None:
            try:
                with urllib.request.urlopen(f"{self.url}_stcore/health", timeout=5) as answer:
                    if answer.status == 200:
                        self.ready_s = round(time.perf_counter() - self.started, 2)
                        return self
            except OSError:  # not listening yet, or 503 while the runtime starts
                pass
            time.sleep(0.02)
        raise RuntimeError(f"streamlit did not answer its health check: see {self.log}")

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def rss_mib(self) -> float:
        """Resident memory of the server process (not its encoding workers), MiB."""
        time.sleep(1.0)  # let the last rerun settle
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
        return float("nan")
