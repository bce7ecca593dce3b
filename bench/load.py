"""Load benchmark: N real browser sessions against one `streamlit run app.py` on localhost.

Starts the app on a free port of 127.0.0.1 (nothing else is contacted), opens
the shared folder in every session through the page address (from the
encoding cache), then measures, at 1, 3 and 6 sessions at once:

- a K-slider move: the key press in the browser until the last change of
  the page once the app has finished its run (the chart redrawn; the page
  must then stay still for 0.4 s, which is not counted);
- a query: picking another face on the Similar faces page until its results
  are drawn;
- the server's RSS after each phase;

then a soak: a few sessions alternate slider moves and queries for a fixed
time, and the RSS growth per 100 actions is the slope of RSS over actions.
Every wait is bounded and the whole run stops at ``--max-seconds``.

    python -m bench.load --out docs/bench/load.json           # full run (about 15 min)
    python -m bench.load --sessions 1 --moves 3 --queries 2 --soak-seconds 0   # a smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import quote

from playwright.async_api import TimeoutError as PlaywrightTimeout

from bench.serve import Server

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
#: Longest wait for one action or one page load, and for the first load of the folder (hashing every photo).
ACTION_TIMEOUT_MS = 120_000
LOAD_TIMEOUT_MS = 600_000

# Marks the start of an action; records Streamlit's script-state changes (stApp's data-test-script-state)
# and the time of the last change anywhere in the page (the chart or tables being redrawn). A fast run may
# go from "running" back to "notRunning" within one render, so a redraw also counts as a run seen.
_MARK_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  window.__states = [];
  window.__last = 0;
  window.__t0 = performance.now();
  if (!window.__observers) {
    const state = new MutationObserver(() => {
      window.__states.push(app.dataset.testScriptState);
      window.__last = performance.now();
    });
    state.observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
    const redraw = new MutationObserver(() => { window.__last = performance.now(); });
    redraw.observe(app, {subtree: true, childList: true, attributes: true, characterData: true});
    window.__observers = [state, redraw];
  }
}"""
#: The run is over when the script is not running, something was redrawn, and the page has been still this long.
QUIET_MS = 400
_DONE_JS = """(quiet) => {
  const app = document.querySelector('[data-testid="stApp"]');
  const now = performance.now();
  return app.dataset.testScriptState === 'notRunning' && window.__last > window.__t0 && now - window.__last > quiet;
}"""
_ELAPSED_JS = """() => window.__last - window.__t0"""


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its children (encoding workers, if any), in MB."""
    total = 0
    pids = [pid] + [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def load_averages() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


async def timed(page, action) -> float:
    """Seconds from the start of ``action`` until the app's run ends and the page has drawn it."""
    await page.evaluate(_MARK_JS)
    await action()
    await page.wait_for_function(_DONE_JS, arg=QUIET_MS, timeout=ACTION_TIMEOUT_MS, polling=50)
    return await page.evaluate(_ELAPSED_JS) / 1000


class Session:
    """One browser context (one Streamlit session) with the shared folder loaded."""

    def __init__(self, browser, url: str, dataset: Path, rng: random.Random) -> None:
        self.browser, self.url, self.dataset, self.rng = browser, url, dataset, rng
        self.people = sorted(p.name for p in dataset.iterdir() if p.is_dir())
        self.moves: list[float] = []
        self.queries: list[float] = []
        self.failed = 0  # actions that timed out
        self.right = True

    async def open(self) -> None:
        self.context = await self.browser.new_context(viewport={"width": 1400, "height": 1000})
        self.page = await self.context.new_page()
        await self.page.goto(f"{self.url}clusters?folder={quote(os.fspath(self.dataset))}")
        await self.page.get_by_role("slider", name="Number of groups").wait_for(timeout=LOAD_TIMEOUT_MS)

    async def to(self, title: str, ready) -> None:
        await self.page.get_by_role("link", name=title, exact=True).first.click()
        await ready.wait_for(timeout=ACTION_TIMEOUT_MS)

    async def move_k(self) -> float | None:
        slider = self.page.get_by_role("slider", name="Number of groups")
        await slider.focus()
        key = "ArrowRight" if self.right else "ArrowLeft"
        self.right = not self.right
        return await self._measure(self.moves, lambda: timed(self.page, lambda: slider.press(key)))

    async def query(self) -> float | None:
        async def pick() -> float:
            box = self.page.get_by_role("combobox", name="Face")
            await box.click()
            await box.fill(self.rng.choice(self.people) + "/")
            option = self.page.get_by_role("option").first
            await option.wait_for(timeout=ACTION_TIMEOUT_MS)
            return await timed(self.page, option.click)

        return await self._measure(self.queries, pick)

    async def _measure(self, into: list[float], action) -> float | None:
        """Run one timed action; a timed-out one is counted in ``failed`` instead of ending the whole run."""
        try:
            seconds = await action()
        except PlaywrightTimeout:
            self.failed += 1
            return None
        into.append(seconds)
        return seconds

    async def close(self) -> None:
        await self.context.close()


async def phase(browser, url: str, dataset: Path, n: int, moves: int, queries: int, seed: int) -> dict:
    sessions = [Session(browser, url, dataset, random.Random(seed + i)) for i in range(n)]
    t0 = time.monotonic()
    await asyncio.gather(*(s.open() for s in sessions))
    opened = time.monotonic() - t0

    async def work(s: Session) -> None:
        for _ in range(moves):
            await s.move_k()
        await s.to("Similar faces", s.page.get_by_role("combobox", name="Face"))
        for _ in range(queries):
            await s.query()

    await asyncio.gather(*(work(s) for s in sessions))
    out = {"sessions": n, "open_s": round(opened, 2), "k_move": summary([x for s in sessions for x in s.moves]),
           "query": summary([x for s in sessions for x in s.queries]),
           "timed_out": sum(s.failed for s in sessions)}  # fmt: skip
    await asyncio.gather(*(s.close() for s in sessions))
    return out


async def soak(browser, url: str, dataset: Path, n: int, seconds: float, server_pid: int) -> dict:
    sessions = [Session(browser, url, dataset, random.Random(1000 + i)) for i in range(n)]
    await asyncio.gather(*(s.open() for s in sessions))
    for s in sessions[1::2]:  # half the sessions query, half move the slider
        await s.to("Similar faces", s.page.get_by_role("combobox", name="Face"))
    actions, samples = 0, [(0, rss_mb(server_pid))]
    end = time.monotonic() + seconds

    async def work(i: int, s: Session) -> None:
        nonlocal actions
        while time.monotonic() < end:
            await (s.query() if i % 2 else s.move_k())
            actions += 1
            if actions % 10 == 0:
                samples.append((actions, rss_mb(server_pid)))

    await asyncio.gather(*(work(i, s) for i, s in enumerate(sessions)))
    samples.append((actions, rss_mb(server_pid)))
    await asyncio.gather(*(s.close() for s in sessions))
    xs, ys = [a for a, _ in samples], [r for _, r in samples]
    slope = statistics.linear_regression(xs, ys).slope if len(set(xs)) > 1 else 0.0
    return {"sessions": n, "seconds": seconds, "actions": actions, "rss_start_mb": round(ys[0], 1),
            "rss_end_mb": round(ys[-1], 1), "rss_max_mb": round(max(ys), 1),
            "rss_growth_mb_per_100_actions": round(slope * 100, 2),
            "k_move": summary([x for s in sessions for x in s.moves]),
            "query": summary([x for s in sessions for x in s.queries]),
            "timed_out": sum(s.failed for s in sessions)}  # fmt: skip


def summary(xs: list[float]) -> dict:
    if not xs:
        return {"n": 0}
    xs = sorted(xs)
    p95 = xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]
    return {"n": len(xs), "p50_s": round(statistics.median(xs), 3), "p95_s": round(p95, 3), "max_s": round(xs[-1], 3)}


async def run(args: argparse.Namespace) -> dict:
    from playwright.async_api import async_playwright

    dataset = Path(args.dataset)
    report: dict = {"load_avg_start": load_averages(), "rss_idle_mb": None, "phases": [], "soak": None}
    with Server(Path(args.cache), dataset, log=Path(args.log), app_dir=Path(args.app_dir),
                env={"FACECORE_DATASET": os.fspath(dataset)}) as server:  # fmt: skip
        url, pid = server.url, server.proc.pid
        time.sleep(2)
        report["rss_idle_mb"] = round(rss_mb(pid), 1)
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
            try:
                for n in args.sessions:
                    result = await phase(browser, url, dataset, n, args.moves, args.queries, seed=n)
                    result["rss_after_mb"] = round(rss_mb(pid), 1)
                    result["load_avg"] = load_averages()
                    report["phases"].append(result)
                    print(json.dumps(result), file=sys.stderr)
                if args.soak_seconds > 0:
                    report["soak"] = await soak(browser, url, dataset, args.soak_sessions, args.soak_seconds, pid)
                    report["soak"]["load_avg"] = load_averages()
                    print(json.dumps(report["soak"]), file=sys.stderr)
            finally:
                await browser.close()
    report["load_avg_end"] = load_averages()
    return report


def main(argv: list[str] | None = None) -> int:
    from facecore import default_cache_path, default_dataset_path

    p = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    p.add_argument("--sessions", type=lambda s: [int(x) for x in s.split(",")], default=[1, 3, 6],
                   help="session counts, one phase each (default 1,3,6; at most 8)")  # fmt: skip
    p.add_argument("--moves", type=int, default=10, help="K-slider moves per session and phase")
    p.add_argument("--queries", type=int, default=6, help="queries per session and phase")
    p.add_argument("--soak-seconds", type=float, default=300.0, help="soak length (0: no soak; at most 900)")
    p.add_argument("--soak-sessions", type=int, default=3)
    p.add_argument("--dataset", default=os.fspath(default_dataset_path()), help="folder of photos (DIR/person/*.jpg)")
    p.add_argument("--cache", default=os.fspath(default_cache_path()), help="encoding cache holding that folder")
    p.add_argument("--app-dir", default=os.fspath(ROOT), help="folder holding app.py")
    p.add_argument("--log", default="/tmp/bench-load-streamlit.log", help="the server's output")
    p.add_argument("--max-seconds", type=float, default=1800.0, help="stop the whole run after this long")
    p.add_argument("--out", help="write the JSON report here too")
    args = p.parse_args(argv)
    if max(args.sessions) > 8 or args.soak_seconds > 900 or args.soak_sessions > 8:
        p.error("bounded on purpose: at most 8 sessions and a 900 s soak")
    try:
        report = asyncio.run(asyncio.wait_for(run(args), timeout=args.max_seconds))
    except asyncio.TimeoutError:
        print(f"error: the run took more than {args.max_seconds:.0f} s", file=sys.stderr)
        return 2
    report["args"] = {k: v for k, v in vars(args).items() if k not in ("out", "log")}
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
