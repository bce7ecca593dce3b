"""The machine a benchmark ran on, and what its processes cost: CPU model, library versions, peak memory, CPU seconds.

Everything is read from /proc (Linux); a value that cannot be read comes back
as 0 or "unknown" rather than failing the run.
"""

from __future__ import annotations

import os
import platform
import resource
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

from facecore import worker_pids

from .report import load_avg

#: Distributions whose versions every result records.
DISTRIBUTIONS = ("numpy", "scikit-learn", "scipy", "pillow", "plotly", "matplotlib", "face_recognition",
                 "dlib-bin", "dlib", "onnx", "onnxruntime")


def _proc_field(path: str, prefix: str) -> str | None:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(prefix):
                return line
    except OSError:
        pass
    return None


def hwm_mib(pid: int | str = "self") -> float:
    """Peak resident set (VmHWM) of a process in MiB.

    Unlike ``ru_maxrss``, which Linux carries over fork and exec (a probe started by a big process
    would report the parent's size), VmHWM belongs to the process's own address space.
    """
    line = _proc_field(f"/proc/{pid}/status", "VmHWM:")
    if line is not None:
        return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 if pid == "self" else 0.0


def cpu_seconds(pids: Iterable[int]) -> float:
    """User + system CPU seconds used so far by the processes ``pids`` (0 for any that is gone)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            continue
    return total


def workers_cpu_seconds() -> float:
    """CPU seconds used so far by the live local encoding workers (:func:`facecore.encode.workers.worker_pids`)."""
    return cpu_seconds(worker_pids())


def _versions() -> dict:
    versions: dict[str, object] = {"python": platform.python_version()}
    for dist in DISTRIBUTIONS:
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    try:
        import dlib

        versions["dlib_blas"] = bool(getattr(dlib, "DLIB_USE_BLAS", False))
        versions["dlib_avx"] = bool(getattr(dlib, "USE_AVX_INSTRUCTIONS", False))
        versions["dlib_path"] = str(Path(dlib.__file__).parent)
    except ImportError:
        pass
    return versions


def machine_info() -> dict:
    """CPU model, cores, RAM, load average and library versions of this run."""
    cpu_line = _proc_field("/proc/cpuinfo", "model name")
    ram_line = _proc_field("/proc/meminfo", "MemTotal")
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        usable = os.cpu_count() or 1
    return {
        "cpu": cpu_line.split(":", 1)[1].strip() if cpu_line else "unknown",
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "ram_gib": round(int(ram_line.split()[1]) * 1024 / 2**30, 1) if ram_line else 0,
        "load_avg": load_avg(),
        "versions": _versions(),
    }
