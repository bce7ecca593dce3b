"""Encoding on a Dask cluster (facecore.encode.dask_backend) on a LocalCluster of 2 worker processes started here.

Same encodings as the local pool, bit for bit; a worker killed mid-run loses no
photo and caches none twice; an unreachable scheduler is one clear error. The
cluster listens on 127.0.0.1 only. No timing asserts: waits are deadlines.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from facecore import EncoderSettings, EncodingStore, encode_images, scan_folder
from facecore.encode.dask_backend import ClusterError, DaskBackend, backend_from_env, close_clusters, parse_scheduler
from facecore.encode.workers import LocalPool

#: Photos encoded by each run: enough for several batches on each worker.
N_PHOTOS = 48


@pytest.fixture(scope="module")
def distributed():
    return pytest.importorskip("distributed", reason="encoding on a cluster needs requirements-cluster.txt")


@pytest.fixture(scope="module")
def refs(small_dataset: Path):
    found, _ = scan_folder(small_dataset)
    assert len(found) >= N_PHOTOS
    return found[:N_PHOTOS]


def _local_cluster(distributed, workers: int, session_cache: Path):
    """A LocalCluster on 127.0.0.1 whose workers keep the face model where the session's encodes do (not ~/.cache)."""
    env = {"FACECORE_MODEL_DIR": str(session_cache.parent), "FACECORE_CACHE": str(session_cache)}
    return distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                                    scheduler_port=0, dashboard_address=None, env=env,
                                    scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})  # fmt: skip


@pytest.fixture(scope="module")
def client(distributed, session_cache: Path):
    cluster = _local_cluster(distributed, 2, session_cache)
    client = distributed.Client(cluster, set_as_default=False)
    yield client
    close_clusters()  # clients that backend_from_env opened to this scheduler
    client.close()
    cluster.close()


class CountingStore(EncodingStore):
    """An encoding cache that counts how often each photo is written."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.writes: Counter[str] = Counter()

    def put_many(self, results, settings_key: str) -> None:
        results = list(results)
        self.writes.update(r.digest for r in results)
        super().put_many(results, settings_key)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_encodings_equal_the_local_pools_bit_for_bit(client, refs, tmp_path: Path) -> None:
    settings = EncoderSettings()
    pool = encode_images(refs, settings, EncodingStore(tmp_path / "pool.sqlite"), backend=LocalPool(2))
    backend = DaskBackend.for_refs(client, refs)
    dask = encode_images(refs, settings, EncodingStore(tmp_path / "dask.sqlite"), backend=backend)
    assert dask.encoded == len(refs) and dask.cached == 0
    assert [(f.name, f.digest, f.box) for f in dask.faces] == [(f.name, f.digest, f.box) for f in pool.faces]
    assert dask.encodings.dtype == np.float32 and np.array_equal(dask.encodings, pool.encodings)
    assert backend.resent == 0  # the workers read every photo at its path
    # resumable: a second run finds every photo in the cache and sends nothing
    again = encode_images(refs, settings, EncodingStore(tmp_path / "dask.sqlite"), backend=backend)
    assert again.cached == len(refs) and again.encoded == 0
    assert np.array_equal(again.encodings, pool.encodings)


def test_shipped_bytes_and_unreadable_paths_give_the_same_encodings(client, refs, tmp_path: Path) -> None:
    few = refs[:8]
    settings = EncoderSettings()
    local = encode_images(few, settings, None, backend=LocalPool(2))
    shipped = encode_images(few, settings, None, backend=DaskBackend.for_refs(client, few, ship_bytes=True))
    assert np.array_equal(shipped.encodings, local.encodings)
    # paths the workers cannot read: those photos are sent again with their bytes, not reported unreadable
    moved = {r.name: str(tmp_path / "not-mounted" / Path(r.path).name) for r in few[:3]}
    backend = DaskBackend(client, paths={**{r.name: r.path for r in few}, **moved})
    fs = encode_images(few, settings, None, backend=backend)
    assert backend.resent == 3
    assert not fs.skip_counts().get("unreadable")
    assert np.array_equal(fs.encodings, local.encodings)


def test_a_killed_worker_loses_no_photo_and_caches_none_twice(client, refs, tmp_path: Path) -> None:
    store = CountingStore(tmp_path / "kill.sqlite")
    killed: list[int] = []

    def kill_one_worker(p) -> None:
        if not killed and 8 <= p.done < p.total:
            # scheduler_info() no longer lists worker pids (distributed 2026.8): ask the workers
            pid = next(iter(client.run(os.getpid).values()))
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    fs = encode_images(refs, EncoderSettings(), store, backend=DaskBackend.for_refs(client, refs),
                       on_progress=kill_one_worker)  # fmt: skip
    assert killed, "the run ended before a worker could be killed"
    assert not fs.stopped and fs.encoded == len(refs) and fs.cached == 0
    # every photo has its result: a face, or a reason it has none
    assert {f.name for f in fs.faces} | {s.path for s in fs.skipped} == {r.name for r in refs}
    assert set(store.writes.values()) == {1}  # each photo written to the cache exactly once
    assert len(store.writes) == len(refs) == store.stats()["images"]
    assert store.integrity_ok()


def test_a_lost_scheduler_keeps_what_finished(distributed, refs, session_cache, tmp_path: Path) -> None:
    from facecore.errors import WorkerCrashedError

    cluster = _local_cluster(distributed, 1, session_cache)
    client = distributed.Client(cluster, set_as_default=False)
    store = CountingStore(tmp_path / "lost.sqlite")

    def lose_the_scheduler(p) -> None:
        if p.done >= 8 and cluster.status.name == "running":
            cluster.close()

    try:
        with pytest.raises(WorkerCrashedError, match="Lost the Dask scheduler mid-run") as err:
            encode_images(refs, EncoderSettings(), store, backend=DaskBackend(client), on_progress=lose_the_scheduler)
        assert "\n" not in str(err.value)
        assert 8 <= store.stats()["images"] < len(refs)  # what finished was written, once each
        assert set(store.writes.values()) == {1}
    finally:
        client.close()
        cluster.close()


def test_an_unreachable_scheduler_is_one_clear_error(distributed) -> None:
    with pytest.raises(ClusterError, match="Cannot reach a Dask scheduler") as err:
        DaskBackend(f"tcp://127.0.0.1:{_closed_port()}", timeout=2)
    assert "\n" not in str(err.value)


def test_a_server_that_never_answers_is_the_same_error(distributed) -> None:
    with socket.socket() as silent:  # accepts connections (backlog) but never speaks
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        with pytest.raises(ClusterError, match="Cannot reach a Dask scheduler"):
            DaskBackend(f"tcp://127.0.0.1:{silent.getsockname()[1]}", timeout=1)


def test_cli_encodes_on_a_scheduler_and_fails_in_one_line_without_one(client, refs, tmp_path: Path) -> None:
    folder = tmp_path / "few"
    folder.mkdir()
    for r in refs[:6]:
        (folder / Path(r.name).name).symlink_to(r.path)
    cache = tmp_path / "cli.sqlite"
    cmd = [sys.executable, "-m", "facecore", "encode", str(folder), "--cache", str(cache), "--json"]
    out = subprocess.run([*cmd, "--scheduler", client.scheduler.address], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["encoded"] == 6
    down = subprocess.run([*cmd, "--scheduler", f"tcp://127.0.0.1:{_closed_port()}"], capture_output=True,
                          text=True, timeout=600)  # fmt: skip
    assert down.returncode == 2
    assert down.stderr.count("\n") == 1 and down.stderr.startswith("error: Cannot reach a Dask scheduler")


def test_backend_from_env(client, refs, monkeypatch: pytest.MonkeyPatch) -> None:
    assert backend_from_env(refs, environ={}) is None
    backend = backend_from_env(refs, environ={"FACECORE_DASK_SCHEDULER": client.scheduler.address,
                                              "FACECORE_DASK_SHIP_BYTES": "1"})  # fmt: skip
    assert isinstance(backend, DaskBackend) and backend.ship_bytes and backend.threads() >= 1
    assert backend.paths == {r.name: r.path for r in refs}
    with pytest.raises(ClusterError, match="FACECORE_DASK_SCHEDULER: scheduler 'local:N' needs"):
        backend_from_env(refs, environ={"FACECORE_DASK_SCHEDULER": "local:0"})


@pytest.mark.parametrize("text", ["", "local:", "local:x", "local:0", "no port here", "tcp://a b:1"])
def test_malformed_scheduler_values_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="local:N"):
        parse_scheduler(text)


def test_missing_distributed_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    with pytest.raises(ClusterError, match="requirements-cluster.txt"):
        DaskBackend("local:1")


def test_local_n_listens_on_loopback_only(distributed) -> None:
    psutil = pytest.importorskip("psutil")  # a dependency of distributed
    from facecore.encode.dask_backend import connect

    client = connect("local:1")
    try:
        pids = [os.getpid(), *client.run(os.getpid).values()]
        listening = [c.laddr for pid in pids for c in psutil.Process(pid).net_connections(kind="inet")
                     if c.status == psutil.CONN_LISTEN]  # fmt: skip
        assert listening and {a.ip for a in listening} == {"127.0.0.1"}
    finally:
        close_clusters()
