"""What the real-browser tests share: the app served on a free port (the ``server`` fixture), screenshots,
and small waits. Debian's chromium (/usr/bin/chromium) is driven by Playwright; Playwright's own browser
download is not used.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
#: First encoding of the six people (108 photos) on two busy cores, with margin.
ENCODE_TIMEOUT_MS = 600_000
#: Headless, no GPU, and no background traffic of chromium's own (the app must fetch nothing from elsewhere).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def launch(playwright):
    """Debian's chromium, headless, started by Playwright."""
    return playwright.chromium.launch(executable_path=os.fspath(CHROMIUM), args=CHROMIUM_ARGS)


def requests_outside(page, server: str) -> list[str]:
    """The list, filled as the page runs, of every request it makes anywhere but the app (data: and blob: are
    local): "processing is local" holds for the page itself too."""
    outside: list[str] = []
    local = (server, "data:", "blob:")
    page.on("request", lambda r: None if r.url.startswith(local) else outside.append(r.url))
    return outside


def encode_folder(page, folder: Path) -> None:
    """Type ``folder`` in the Photos page's folder box, encode it and wait for its faces."""
    from playwright.sync_api import expect

    box = page.get_by_role("textbox", name="Folder path")
    box.fill(os.fspath(folder))
    box.press("Enter")
    page.get_by_role("button", name="Encode this folder").click()
    expect(page.get_by_text("Faces found")).to_be_visible(timeout=ENCODE_TIMEOUT_MS)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(small_dataset: Path, session_cache: Path, tmp_path: Path) -> Iterator[str]:
    """The app on a free port, reading only the small dataset; killed afterwards."""
    yield from serve(small_dataset, session_cache, tmp_path)


def serve(dataset: Path, cache: Path, tmp_path: Path, env: dict[str, str | None] | None = None) -> Iterator[str]:
    """Run the app on a free port with ``cache`` as its cache file and ``dataset`` as the only allowed
    folder; yield its address, then stop it (the body of the ``server`` fixture, for variants of it).
    ``env``: more environment for the server (a None value removes that variable)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (`make browser`) for the browser test")
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements-dev.txt)")
    port = _free_port()
    server_env = dict(
        os.environ,
        FACECORE_CACHE=os.fspath(cache),
        FACECORE_ALLOWED_ROOTS=os.fspath(dataset),
        PYTHONUNBUFFERED="1",
    )
    for name, value in (env or {}).items():
        if value is None:
            server_env.pop(name, None)
        else:
            server_env[name] = value
    log = tmp_path / "streamlit.log"
    cmd = [
        sys.executable, "app.py",
        "--server.port", str(port), "--server.headless", "true", "--server.fileWatcherType", "none",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, env=server_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ready = threading.Event()

    def drain() -> None:  # keep the pipe empty (a full pipe would freeze the server) and spot readiness
        assert proc.stdout is not None
        with open(log, "w") as fh:
            for line in proc.stdout:
                fh.write(line)
                fh.flush()
                if "URL: http" in line:  # "Local URL: …" (tornado) or "URL: …" (Streamlit's uvicorn server)
                    ready.set()
        ready.set()  # the server exited: stop waiting

    threading.Thread(target=drain, daemon=True).start()
    try:
        if not ready.wait(120) or proc.poll() is not None:
            pytest.fail(f"streamlit did not start: {log.read_text()[-3000:]}")
        yield f"http://localhost:{port}/"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        print(f"server log: {log}")


def _shot(page, name: str) -> None:
    """A screenshot of the whole page: Streamlit scrolls inside its main block, so grow the viewport first."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    height = page.evaluate(
        "() => Math.max(...Array.from(document.querySelectorAll("
        "'[data-testid=stMain], [data-testid=stMainBlockContainer]')).map(e => e.scrollHeight))"
    )
    page.set_viewport_size({"width": 1400, "height": max(900, min(int(height) + 80, 12000))})
    page.wait_for_load_state("networkidle")
    page.screenshot(path=os.fspath(SHOTS / f"{name}.png"), full_page=True)
    page.set_viewport_size({"width": 1400, "height": 900})


def _images_load(images, timeout_s: float = 60.0) -> bool:
    """True once every image of the locator has been fetched and decoded (they load after the DOM)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if images.evaluate_all("imgs => imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0)"):
            return True
        time.sleep(0.2)
    return False


def _no_exception(page) -> None:
    errors = page.locator("[data-testid=stException]")
    assert errors.count() == 0, errors.all_inner_texts()


def isolated_point(page) -> dict:
    """Screen position and face index of the scatter's most isolated face point (away from other faces and the
    centre rings): on the similarity map a person's faces lie on top of each other, and the mouse must meet the
    face the test names."""
    page.locator(".st-key-scatter").scroll_into_view_if_needed()
    return page.evaluate(
        """() => {
          const gd = document.querySelector('.js-plotly-plot');
          const fl = gd._fullLayout, box = gd.getBoundingClientRect(), pts = [], all = [];
          for (const tr of gd._fullData) {  // faces, and the centre rings drawn over them
            const face = tr.customdata && (tr.name || '').startsWith('group ');
            for (let i = 0; i < tr.x.length; i++) {
              const p = {x: box.left + fl._size.l + fl.xaxis.l2p(tr.x[i]),
                         y: box.top + fl._size.t + fl.yaxis.l2p(tr.y[i]),
                         face: face ? Array.from(tr.customdata[i], Number)[0] : null};
              all.push(p);
              if (face && p.y > 10 && p.y < window.innerHeight - 10 && p.x > 10) pts.push(p);  // in view
            }
          }
          let best = pts[0], gap = -1;
          for (const p of pts) {
            let near = Infinity;
            for (const q of all) if (q !== p) near = Math.min(near, Math.hypot(p.x - q.x, p.y - q.y));
            if (near > gap) { gap = near; best = p; }
          }
          return best;
        }"""
    )
