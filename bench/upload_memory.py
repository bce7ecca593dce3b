"""Server memory of one big zip upload, in a real browser: before, during and after the encode, and once removed.

Usage: .venv/bin/python -m bench.upload_memory [--mb 250] [--before REV] [--dataset DIR]

Builds a zip of the shared photos repeated up to ``--mb`` MB in /tmp (never in
the project), then for the code of git revision ``--before`` (extracted to
/tmp with ``git archive``) and for this working tree: starts the app with a
fresh empty cache, uploads the zip on the Photos page of headless chromium,
clicks "Encode the uploads", samples the server's RSS every 0.2 s until the
faces are shown, removes the file from the uploader, then clicks a toggle (one
more run of the page). A third run encodes the dataset folder itself (the same
photos, no upload): what the encode costs the server without any archive.
Prints the server's RSS (MiB) at each step and the load average.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import threading
import time
import zipfile
from pathlib import Path

from bench.serve import ROOT, Server
from facecore import default_dataset_path

STEPS = ("started", "uploaded", "peak", "encoded", "removed", "next run", "hwm")


def build_zip(dataset: Path, mb: int) -> Path:
    """``/tmp/facefind-upload-<mb>mb.zip``: the dataset's photos as ``copy<k>/<person>/<photo>``, stored, until
    at least ``mb`` MB (the repeats are the same photos: the encoder skips them as duplicates)."""
    out = Path(tempfile.gettempdir()) / f"facefind-upload-{mb}mb.zip"
    if out.exists() and out.stat().st_size >= mb * 1e6:
        return out
    photos = sorted(dataset.glob("person_*/*.jpg"))
    size, k = 0, 0
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
        while size < mb * 1e6:
            k += 1
            for p in photos:
                zf.write(p, f"copy{k}/{p.parent.name}/{p.name}")
                size += p.stat().st_size
                if size >= mb * 1e6:
                    break
    return out


def checkout(rev: str) -> Path:
    """The app as of ``rev`` in /tmp (``git archive``: the repository itself is left as it is)."""
    dest = Path(tempfile.mkdtemp(prefix=f"facefind-{rev[:12]}-"))
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def rss_mib(pid: int) -> float:
    """VmRSS of ``pid`` now, MiB."""
    return _status_kib(pid, "VmRSS:") / 1024


def _status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    return 0


class Sampler:
    """The highest RSS of a process, sampled every 0.2 s between ``start()`` and ``stop()``."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._done = pid, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._done.wait(0.2):
            self.peak = max(self.peak, rss_mib(self.pid))

    def start(self) -> Sampler:
        self._thread.start()
        return self

    def stop(self) -> float:
        self._done.set()
        self._thread.join()
        return self.peak


def settle(pid: int, seconds: float = 5.0) -> float:
    """RSS after ``seconds`` of quiet (reruns and garbage collection done)."""
    time.sleep(seconds)
    return rss_mib(pid)


def choose_upload(page, archive: Path):
    """Put ``archive`` in the uploader; return the button that encodes it, once the server holds the file."""
    page.get_by_role("tab", name="Upload photos or a zip").click()
    page.locator("input[data-testid=stFileUploaderDropzoneInput][accept*='.zip']").set_input_files(str(archive))
    page.locator(f"[data-testid=stFileChipName][title='{archive.name}']").wait_for()  # the chip shows it cut
    encode = page.get_by_role("button", name="Encode the uploads")
    while not encode.is_enabled():  # the upload is stored once the button is live
        page.wait_for_timeout(200)
    return encode


def choose_folder(page, folder: Path):
    """Type ``folder`` (the baseline: the same photos, no upload); return the button that encodes it."""
    box = page.get_by_role("textbox", name="Folder path")
    box.fill(str(folder))
    box.press("Enter")
    page.wait_for_timeout(1000)
    return page.get_by_role("button", name="Encode this folder")


def drive(page, pid: int, source: Path) -> dict[str, float]:
    """Upload ``source`` (a zip) or type it (a folder) on the Photos page, encode it, remove the upload;
    the server's RSS at each step (MiB; nan where the step does not apply)."""
    rss = dict.fromkeys(STEPS, float("nan"))
    rss["started"] = settle(pid)
    is_zip = source.suffix == ".zip"
    encode = choose_upload(page, source) if is_zip else choose_folder(page, source)
    rss["uploaded"] = settle(pid) if is_zip else rss["started"]
    sampler = Sampler(pid).start()
    t = time.perf_counter()
    encode.click()
    page.get_by_text("Faces found").wait_for()
    rss["peak"], seconds = sampler.stop(), time.perf_counter() - t
    rss["encoded"] = settle(pid)
    if is_zip:
        page.locator("[data-testid=stFileChipDeleteBtn] button").first.click()
        page.locator("[data-testid=stFileChip]").wait_for(state="detached")
        rss["removed"] = settle(pid, 10.0)
        # Streamlit's session state keeps the removed file's last value until one more run: any click does it.
        page.get_by_text("Every face of each photo").click()
        rss["next run"] = settle(pid, 10.0)
    rss["hwm"] = _status_kib(pid, "VmHWM:") / 1024
    faces = page.get_by_test_id("stMetricValue").nth(1).inner_text()
    print(f"  encoded in {seconds:.0f} s, {faces} faces")
    return rss


def measure(app_dir: Path, source: Path, root: Path) -> dict[str, float]:
    """One fresh server (empty cache) running the app in ``app_dir``, one browser, one encode of ``source``."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="upload-memory-") as tmp, \
            Server(Path(tmp) / "fresh.sqlite", root, app_dir=app_dir) as server, sync_playwright() as p:  # fmt: skip
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])  # fmt: skip
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(1_800_000)
        page.goto(server.url)
        page.get_by_role("tab", name="Upload photos or a zip").wait_for()
        rss = drive(page, server.proc.pid, source)
        browser.close()
    return rss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=int, default=250, help="size of the zip to upload, MB")
    ap.add_argument("--before", default="HEAD", help="git revision of the code to compare with (default HEAD)")
    ap.add_argument("--dataset", default=str(default_dataset_path()))
    a = ap.parse_args()
    dataset = Path(a.dataset).resolve()
    archive = build_zip(dataset, a.mb)
    print(f"{archive}: {archive.stat().st_size / 1e6:.0f} MB; load {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    rows, before = {}, checkout(a.before)
    try:
        runs = ((f"zip, before ({a.before})", before, archive), ("zip, after (working tree)", ROOT, archive),
                ("folder, no upload (working tree)", ROOT, dataset))  # fmt: skip
        for label, app_dir, source in runs:
            print(label)
            rows[label] = measure(app_dir, source, dataset.parent)
            print("  " + ", ".join(f"{k} {v:.0f}" for k, v in rows[label].items()))
    finally:
        shutil.rmtree(before)
    print(f"server RSS, MiB | {' | '.join(STEPS)}")
    for label, rss in rows.items():
        print(f"{label} | {' | '.join(f'{rss[s]:.0f}' for s in STEPS)}")
    print(f"load after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
