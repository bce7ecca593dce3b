"""An operator's bad day, with the real processes: `kill -9` of the CLI or the server mid-encode, a full disk.

What must hold (issue 14): a killed CLI or server leaves no encoding worker
and no multiprocessing helper behind; the cache stays whole and a re-run
finishes with the photos that were missing; the app's workers never import
the app or Streamlit; a disk that refuses writes is named as the cause (exit 2,
one line), what was committed before stays, and the app keeps the set it had
loaded. Processes are found through ``/proc`` (parent pid, process group,
command line); the photos are links to the shared CelebA folder.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from facecore import EncodingStore

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
#: A worker checks every second that its parent is alive (encode.workers.PARENT_CHECK_S); margin for a busy machine.
GONE_WITHIN_S = 15.0
#: A worker's RSS once dlib's models are loaded (about 100 MB of weights): from then on it is encoding.
WORKING_RSS_KB = 150_000
#: Libraries that only the app's side maps into a process (the pages' pandas/pyarrow, Streamlit's psutil):
#: a worker that imported app.py or Streamlit has all of them, facecore's own workers none. charset_normalizer
#: (requests' 0.2 MB) is not among them: an app worker had it mapped, alone, in 2 of about 10 full runs (none of
#: the others with it, so that worker had imported neither the app nor Streamlit); its source was not found.
APP_ONLY_PACKAGES = {"pandas", "pyarrow", "psutil", "streamlit", "tornado"}
#: Waiting for an encode that has to finish (two busy cores), not a timing assert.
FINISH_S = 600


# ----------------------------------------------------------------- processes through /proc


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, parent pid, process group) of ``pid``, or None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], int(fields[1]), int(fields[2])


def _all_pids() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]


def descendants(pid: int) -> set[int]:
    """Every living process started (directly or not) by ``pid``."""
    children: dict[int, list[int]] = {}
    for p in _all_pids():
        st = _stat(p)
        if st is not None:
            children.setdefault(st[1], []).append(p)
    out, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.add(child)
            todo.append(child)
    return out


def in_group(pgid: int) -> set[int]:
    return {p for p in _all_pids() if (st := _stat(p)) is not None and st[2] == pgid}


def living(pids: set[int]) -> set[int]:
    """The pids still running (a zombie has exited: only its exit status is left for a parent to read)."""
    return {p for p in pids if (st := _stat(p)) is not None and st[0] != "Z"}


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def rss_kb(pid: int, field: str = "VmRSS") -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def mapped_packages(pid: int) -> set[str]:
    """Top-level site-packages folders with a file (shared library) mapped into ``pid``."""
    out = set()
    try:
        lines = Path(f"/proc/{pid}/maps").read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        path = line.split()[-1]
        if "site-packages/" in path:
            out.add(path.split("site-packages/", 1)[1].split("/", 1)[0])
    return out


def workers_of(pid: int) -> list[int]:
    """The encoding workers (multiprocessing spawn children) under ``pid``."""
    return sorted(p for p in living(descendants(pid)) if "spawn_main" in cmdline(p))


def helpers_of(pid: int) -> list[int]:
    return sorted(p for p in living(descendants(pid)) if "resource_tracker" in cmdline(p))


def wait_for(
    what: str, ready: Callable[[], bool], timeout: float, alive: subprocess.Popen | None = None, log: Path | None = None
) -> None:
    """Poll ``ready()`` until true; fail with ``what`` after ``timeout`` s or when ``alive`` exits first."""
    deadline = time.monotonic() + timeout
    while not ready():
        if alive is not None and alive.poll() is not None:
            said = log.read_text(errors="replace")[-3000:] if log is not None else ""
            pytest.fail(f"the process ended (exit {alive.returncode}) before {what}: {said}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {timeout:.0f} s")
        time.sleep(0.2)


def kill_and_check_nothing_is_left(proc: subprocess.Popen) -> None:
    """``kill -9`` ``proc`` (started in its own session) and wait until nothing it started runs any more."""
    started = living(descendants(proc.pid)) | living(in_group(proc.pid))
    started.discard(proc.pid)
    assert started, "nothing was running under the process to be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + GONE_WITHIN_S
    while (left := living(started) | living(in_group(proc.pid))) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left, f"left running {GONE_WITHIN_S:.0f} s after kill -9: " + "; ".join(
        f"{p}: {cmdline(p)[:120]}" for p in sorted(left)
    )


def committed(cache: Path) -> int:
    """Photos committed to ``cache`` so far, read without disturbing a writer."""
    if not cache.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{cache}?mode=ro", uri=True, timeout=5) as con:
            return con.execute("SELECT COUNT(*) FROM images").fetchone()[0]
    except sqlite3.OperationalError:  # the tables are not created yet
        return 0


def integrity(cache: Path) -> str:
    with sqlite3.connect(cache) as con:
        return con.execute("PRAGMA integrity_check").fetchone()[0]


def linked_folder(folder: Path, photos: list[Path]) -> Path:
    """A folder of links to ``photos`` (never copies of the shared photos)."""
    folder.mkdir(parents=True)
    for p in photos:
        (folder / f"{p.parent.name}_{p.name}").symlink_to(p)
    return folder


def cli(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "facecore", *args], cwd=ROOT, **kwargs)


def encode_json(folder: Path, cache: Path) -> dict:
    out = subprocess.run([sys.executable, "-m", "facecore", "encode", str(folder), "--cache", str(cache), "--json"],
                         cwd=ROOT, capture_output=True, text=True, timeout=FINISH_S)  # fmt: skip
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


# ----------------------------------------------------------------- kill -9 of the CLI


@pytest.mark.slow
def test_kill_9_of_the_cli_mid_encode_leaves_no_process_and_a_whole_cache(tmp_path: Path, small_dataset: Path) -> None:
    cache, err = tmp_path / "killed.sqlite", tmp_path / "stderr.txt"
    with open(err, "w") as stderr:
        proc = cli("encode", str(small_dataset), "--cache", str(cache), "--json", "--workers", "2",
                   stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True)  # fmt: skip
    try:
        # the first batch of photos is in the cache and the rest is being encoded
        wait_for("first committed batch", lambda: committed(cache) > 0, FINISH_S, alive=proc, log=err)
        assert len(workers_of(proc.pid)) == 2 and helpers_of(proc.pid), [cmdline(p) for p in descendants(proc.pid)]
        kill_and_check_nothing_is_left(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    kept = committed(cache)
    assert integrity(cache) == "ok"
    again = encode_json(small_dataset, cache)
    assert again["cached"] == kept and again["encoded"] > 0  # the re-run continues where the kill stopped it
    assert EncodingStore(cache).stats()["images"] == again["cached"] + again["encoded"]
    assert integrity(cache) == "ok"


# ----------------------------------------------------------------- kill -9 of the server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def browser_page() -> Iterator:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (`make browser`)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements-dev.txt)")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=os.fspath(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield browser.new_page()
        finally:
            browser.close()


def start_server(cache: Path, roots: Path, log: Path) -> tuple[subprocess.Popen, str]:
    """The app as ``make app`` starts it (``python app.py``) on a free localhost port, in its own session, its output
    in ``log``. (Under ``streamlit run``, a worker pool started from a background thread between script runs
    would re-import Streamlit's command-line script in its workers: ``__main__`` is that script then.)"""
    port = _free_port()
    env = dict(os.environ, FACECORE_CACHE=os.fspath(cache), FACECORE_ALLOWED_ROOTS=os.fspath(roots),
               PYTHONUNBUFFERED="1")  # fmt: skip
    cmd = [sys.executable, "app.py", "--server.port", str(port),
           "--server.headless", "true", "--server.address", "localhost"]  # fmt: skip
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://localhost:{port}/"

    def healthy() -> bool:
        try:
            with urllib.request.urlopen(url + "_stcore/health", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    wait_for("answer from the server", healthy, 120, alive=proc, log=log)
    return proc, url


@pytest.mark.slow
@pytest.mark.browser
def test_kill_9_of_the_server_mid_encode_leaves_no_worker(
    tmp_path: Path, small_people: list[Path], browser_page
) -> None:
    photos = sorted(p for person in small_people for p in sorted(person.glob("*.jpg"))[:7])[:40]
    folder = linked_folder(tmp_path / "photos", photos)
    cache, log = tmp_path / "app.sqlite", tmp_path / "streamlit.log"
    server, url = start_server(cache, folder, log)
    try:
        browser_page.goto(url + "?folder=" + quote(os.fspath(folder)))  # the address starts the encode
        wait_for("app worker with its models loaded",
                 lambda: any(rss_kb(p) > WORKING_RSS_KB for p in workers_of(server.pid)), FINISH_S, alive=server,
                 log=log)  # fmt: skip
        app_workers = workers_of(server.pid)
        app_cmdlines = [cmdline(p) for p in app_workers]
        app_packages = set().union(*(mapped_packages(p) for p in app_workers))
        app_rss = max(rss_kb(p, "VmHWM") for p in app_workers)
        assert helpers_of(server.pid), "no multiprocessing resource tracker under the server"
        kill_and_check_nothing_is_left(server)
    finally:
        if server.poll() is None:
            server.kill()
    committed_before = committed(cache)
    assert committed_before < len(photos), "the encode had finished before the kill"
    if cache.exists():
        assert integrity(cache) == "ok"
    text = log.read_text(errors="replace")
    assert "bare mode" not in text and "ScriptRunContext" not in text, text[-3000:]

    # The CLI finishes the folder from the same cache.
    done = cli("encode", str(folder), "--cache", str(cache), "--json", stdout=subprocess.PIPE,
               stderr=subprocess.PIPE, text=True)  # fmt: skip
    out, err = done.communicate(timeout=FINISH_S)
    assert done.returncode == 0, err
    assert json.loads(out)["cached"] == committed_before and json.loads(out)["encoded"] > 0
    # Its workers are the yardstick for the app's: 400 photos into a fresh cache, so they run long enough to be
    # measured however fast the machine is (40 photos took under two seconds); stopped once measured.
    many = sorted(small_people[0].parent.glob("person_*/*.jpg"))[:400]
    proc = cli("encode", str(linked_folder(tmp_path / "yardstick", many)), "--cache",
               str(tmp_path / "yardstick.sqlite"), "--json", stdout=subprocess.DEVNULL,
               stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        wait_for("CLI worker with its models loaded",
                 lambda: any(rss_kb(p) > WORKING_RSS_KB for p in workers_of(proc.pid)), FINISH_S,
                 alive=proc)  # fmt: skip
        cli_workers = workers_of(proc.pid)
        cli_packages = set().union(*(mapped_packages(p) for p in cli_workers))
        cli_rss = max(rss_kb(p, "VmHWM") for p in cli_workers)
    finally:
        proc.terminate()  # its workers follow their parent out (tested above)
        proc.wait(timeout=60)
    assert not cli_packages & APP_ONLY_PACKAGES, "facecore's own workers map app libraries: update APP_ONLY_PACKAGES"
    # the app's workers are facecore's workers: same command line, none of the app's libraries
    assert all("spawn_main" in c and "streamlit" not in c and "app.py" not in c for c in app_cmdlines), app_cmdlines
    assert not app_packages & APP_ONLY_PACKAGES, sorted(app_packages & APP_ONLY_PACKAGES)
    # measured at the same moment (models just loaded); the app's pages alone would add about 200 MB
    print(f"worker peak RSS: app {app_rss / 1024:.0f} MB, CLI {cli_rss / 1024:.0f} MB")
    assert app_rss < cli_rss + 100_000


# ----------------------------------------------------------------- a disk that refuses writes


def _limit_file_size(limit: int) -> Callable[[], None]:
    def preexec() -> None:  # in the child, before exec: like `ulimit -f` in a shell
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))

    return preexec


@pytest.mark.slow
def test_a_full_disk_stops_the_cli_with_one_line_naming_it_and_keeps_what_was_committed(
    tmp_path: Path, small_people: list[Path]
) -> None:
    first = sorted(small_people[0].glob("*.jpg"))
    rest = sorted(small_people[1].glob("*.jpg"))
    cache = tmp_path / "new.sqlite"
    before = encode_json(linked_folder(tmp_path / "first", first), cache)
    both = linked_folder(tmp_path / "both", first + rest)
    for extra in (["--json"], []):  # with and without the progress bar
        out = subprocess.run(
            [sys.executable, "-m", "facecore", "encode", str(both), "--cache", str(cache), *extra],
            cwd=ROOT, capture_output=True, text=True, timeout=FINISH_S, preexec_fn=_limit_file_size(32 * 1024),
        )  # fmt: skip
        assert out.returncode == 2, out.stderr  # not killed by SIGXFSZ (-25): the write fails with EFBIG
        # one error line, the last; before it only the redraws of the progress bar (text mode reads "\r" as a line end)
        *bars, line = out.stderr.splitlines()
        assert not bars if extra else all(b.startswith("[") for b in bars if b), bars
        assert "Traceback" not in out.stderr
        assert f"error: disk full or file too large: cannot write {str(cache)!r} (SQLite: disk I/O error" in line, line
        assert "files limited to 32.0 KiB for this process (ulimit -f)" in line
        assert integrity(cache) == "ok"
        assert committed(cache) == before["images"]  # what was committed before is all there
    after = encode_json(both, cache)
    assert after["cached"] == before["images"] and after["encoded"] == len(rest)


# In a subprocess (the file-size limit is per process): a session with one set
# loaded starts encoding a second folder while the disk refuses writes.
_APP_FULL_DISK = """
import json, resource, sys
from streamlit.testing.v1 import AppTest
from facecore import EncoderSettings, EncodingStore, encode_images, scan_folder
from pages._shared.state import LoadedSet

app, first, second, cache = sys.argv[1:5]
refs, skipped = scan_folder(first)
fs = encode_images(refs, EncoderSettings(), EncodingStore(cache), skipped=skipped)
at = AppTest.from_file(app, default_timeout=600).run()
at.session_state["loaded"] = LoadedSet(fs, "first", EncoderSettings(), first)
at.run()
resource.setrlimit(resource.RLIMIT_FSIZE, (32 * 1024, resource.RLIM_INFINITY))
at.text_input(key="folder_path").set_value(second)
at.button(key="encode_folder").click().run()
job = at.session_state["encode_job"] if "encode_job" in at.session_state else None
finished = job is None or job.wait(600)
at.run()
print(json.dumps({
    "finished": finished,
    "errors": [e.value for e in at.error],
    "exceptions": [str(e.value) for e in at.exception],
    "still_loaded": at.session_state["loaded"].faceset.key == fs.key,
}))
"""


@pytest.mark.slow
def test_a_full_disk_during_an_app_encode_shows_the_cause_and_keeps_the_loaded_set(
    tmp_path: Path, small_people: list[Path]
) -> None:
    first = linked_folder(tmp_path / "roots" / "first", sorted(small_people[0].glob("*.jpg")))
    second = linked_folder(tmp_path / "roots" / "second", sorted(small_people[1].glob("*.jpg")))
    cache = tmp_path / "app.sqlite"
    env = dict(os.environ, FACECORE_CACHE=os.fspath(cache), FACECORE_ALLOWED_ROOTS=os.fspath(tmp_path / "roots"))
    args = [str(ROOT / "app.py"), str(first), str(second), str(cache)]
    out = subprocess.run([sys.executable, "-c", _APP_FULL_DISK, *args],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=FINISH_S)  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["finished"] and not got["exceptions"], got
    assert any(e.startswith("disk full or file too large: cannot write") for e in got["errors"]), got["errors"]
    assert got["still_loaded"], "the set loaded before the failed encode must stay loaded"
    assert integrity(cache) == "ok"
