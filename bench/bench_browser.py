"""Dashboard speed in a real browser (Debian's chromium via Playwright).

1. Time to first paint of Home and Data: from navigation start to the moment the page's
   own title is on screen (a MutationObserver records ``performance.now()``), and the
   browser's first contentful paint (Streamlit's empty frame). Cold = first visit after
   the server started; warm = median of later visits, each in a fresh browser context.
   Reference, side by side: a one-line Streamlit app (``st.title``) on the same settings.
2. Epoch-to-screen delay: train from the Train page and, for every epoch, compare the
   moment its row lands in the run's history.csv (polled every 5 ms) with the moment the
   page shows "Epochs done k". The live panel polls once per ``POLL_SECONDS``.
3. In-app training against the CLI: the same sample, preset, epochs, batch size and seed
   trained from the Train page (the page open and following the run, as a user has it)
   and by ``python -m sattn_dash train`` in its own process; the figure is the median
   epoch time after the first (which traces the model), from each run's history.csv.

Usage: .venv/bin/python bench/bench_browser.py [--quick] [--only paint|delay|train]
Prints a markdown table (paste it under "## Dashboard" in bench/RESULTS.md).
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from sattn_dash.ui.train.train_panel import POLL_SECONDS  # noqa: E402
from tests.e2e.server import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    start_server,
    stop_server,
    wait_for_app,
)

SCRATCH = ROOT / "bench" / "_scratch"
TARGET_S = 2.0
TRAIN_TARGET = 1.2  # in-app epoch time at most this many times the CLI's
TRAIN_SAMPLE = ("synthetic_groups", "Synthetic churn")  # 4,000 rows, 2,400 to train on
TRAIN_BATCH = 64
# Records when an <h1> with the expected text first appears, in ms since navigation start.
WATCH_TITLE = """
window.__titleAt = null;
new MutationObserver(() => {
  if (window.__titleAt !== null) return;
  for (const h of document.querySelectorAll('h1')) {
    if (h.textContent.trim().startsWith(window.__expect || '')) {
      window.__titleAt = performance.now(); return;
    }
  }
}).observe(document, {subtree: true, childList: true, characterData: true});
"""
# Records the wall-clock time (ms) at which "Epochs done k" first shows, for every k.
WATCH_EPOCHS = """
window.__epochsAt = {};
new MutationObserver(() => {
  for (const m of document.querySelectorAll('[data-testid="stMetric"]')) {
    const t = m.innerText;
    const hit = /Epochs done\\s*(\\d+)\\s*\\//.exec(t);
    if (hit && !(hit[1] in window.__epochsAt)) window.__epochsAt[hit[1]] = Date.now();
  }
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def first_paint(browser, url: str, title: str) -> tuple[float, float, float]:
    """Seconds from navigation start to: the page's title on screen, the whole page drawn
    (its script finished), and the browser's first contentful paint."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.add_init_script(f"window.__expect = {title!r};" + WATCH_TITLE)
    page.goto(url, wait_until="commit")
    page.wait_for_function("window.__titleAt !== null", timeout=120_000)
    wait_for_app(page)
    ready_ms = page.evaluate("performance.now()")
    title_ms = page.evaluate("window.__titleAt")
    fcp = page.evaluate(
        "(performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime || null"
    )
    context.close()
    return title_ms / 1000, ready_ms / 1000, (fcp or float("nan")) / 1000


def paint_series(browser, url: str, title: str, repeats: int) -> dict:
    cold = first_paint(browser, url, title)
    warm = [first_paint(browser, url, title) for _ in range(repeats)]
    return {
        "cold": cold[0],
        "cold_ready": cold[1],
        "warm": statistics.median(w[0] for w in warm),
        "warm_ready": statistics.median(w[1] for w in warm),
        "fcp": statistics.median(w[2] for w in warm),
    }


def bench_paint(browser, repeats: int) -> list[dict]:
    rows = []
    reference = SCRATCH / "reference_app.py"
    reference.write_text('import streamlit as st\n\nst.title("Home")\n')
    with tempfile.TemporaryDirectory() as tmp:
        for name, script, pages in (
            ("reference: one-line app", reference, [("Home", "", "Home")]),
            ("sattn-dash", "app.py", [("Home", "", "sattn-dash"), ("Data", "data", "Data")]),
        ):
            process, url = start_server(Path(tmp) / "ws", SCRATCH / "server.log", script)
            try:
                for page_name, path, title in pages:
                    result = paint_series(browser, f"{url}/{path}", title, repeats)
                    rows.append({"app": name, "page": page_name, **result})
                for row in rows:
                    if row["app"] == name:
                        row["server_peak_mb"] = peak_rss_mb(process.pid)
            finally:
                stop_server(process)
    return rows


class HistoryWatcher(threading.Thread):
    """Polls the workspace for the run's history.csv; records when each epoch's row lands."""

    def __init__(self, workspace: Path):
        super().__init__(daemon=True)
        self.workspace = workspace
        self.seen: dict[int, float] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for history in self.workspace.glob("runs/*/history.csv"):
                try:
                    lines = history.read_text().strip().splitlines()
                except OSError:
                    continue
                now = time.time()
                for k in range(1, len(lines)):
                    self.seen.setdefault(k, now)
            time.sleep(0.005)


def train_in_browser(browser, url: str, sample: str, epochs: int, batch: int) -> dict:
    """Load a sample, train it from the Train page with early stopping off and follow the
    run to its end; returns when each "Epochs done k" first showed (wall clock, s)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1400})
    page = context.new_page()
    page.set_default_timeout(120_000)  # the Train page loads TensorFlow on first use
    page.add_init_script(WATCH_EPOCHS)
    page.goto(f"{url}/data")
    wait_for_app(page)
    page.get_by_test_id("stSelectbox").filter(has_text="Sample").locator("input").click()
    page.get_by_role("option", name=re.compile(sample)).click()
    page.get_by_role("button", name="Load sample").click()
    wait_for_app(page)
    page.get_by_test_id("stSidebarNav").get_by_text("Train", exact=True).click()
    wait_for_app(page)
    for label, value in (("Epochs", epochs), ("Batch size", batch)):
        field = page.get_by_label(label, exact=True)
        field.fill(str(value))
        field.press("Enter")
        wait_for_app(page)
    page.get_by_test_id("stCheckbox").filter(has_text="Early stopping").click()
    wait_for_app(page)
    page.get_by_role("button", name="Start training").click()
    page.get_by_test_id("stProgress").filter(has_text="finished").wait_for(timeout=1_800_000)
    shown = {int(k): v / 1000 for k, v in page.evaluate("window.__epochsAt").items()}
    context.close()
    return shown


def bench_epoch_delay(browser, epochs: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Path(tmp) / "ws"
        process, url = start_server(workspace, SCRATCH / "server.log")
        watcher = HistoryWatcher(workspace)
        watcher.start()
        try:
            shown = train_in_browser(browser, url, "Palmer penguins", epochs, 16)
        finally:
            watcher.stop.set()
            stop_server(process)
    delays = [shown[k] - watcher.seen[k] for k in sorted(watcher.seen) if k in shown]
    return {
        "epochs": len(delays),
        "median": statistics.median(delays),
        "max": max(delays),
        "min": min(delays),
        "missed": epochs - len(delays),
    }


def epoch_seconds(workspace: Path) -> list[float]:
    """Each epoch's duration after the first (which traces the model), from the one run's
    history.csv (``time_s`` is the time since the fit started)."""
    (history,) = workspace.glob("runs/*/history.csv")
    return pd.read_csv(history)["time_s"].diff().dropna().tolist()


def bench_train(browser, epochs: int) -> dict:
    """The same run from the Train page and from the CLI: median epoch seconds each."""
    sample, label = TRAIN_SAMPLE
    with tempfile.TemporaryDirectory() as tmp:
        app_ws, cli_ws = Path(tmp) / "app", Path(tmp) / "cli"
        process, url = start_server(app_ws, SCRATCH / "server.log")
        try:
            train_in_browser(browser, url, label, epochs, TRAIN_BATCH)
        finally:
            stop_server(process)
        (spec,) = app_ws.glob("runs/*/spec.json")  # the very model the page built
        command = [sys.executable, "-m", "sattn_dash", "train", "--sample", sample]
        command += ["--spec", str(spec)]
        command += ["--workspace", str(cli_ws), "--epochs", str(epochs), "--no-early-stopping"]
        command += ["--batch-size", str(TRAIN_BATCH), "--seed", "0", "--json"]
        subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
        app, cli = epoch_seconds(app_ws), epoch_seconds(cli_ws)
    return {
        "epochs": epochs,
        "app": statistics.median(app),
        "cli": statistics.median(cli),
        "ratio": statistics.median(app) / statistics.median(cli),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and epochs")
    parser.add_argument("--only", choices=("paint", "delay", "train"), nargs="+")
    args = parser.parse_args()
    only = set(args.only or ("paint", "delay", "train"))
    repeats, epochs = (3, 6) if args.quick else (7, 12)
    SCRATCH.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        paint = bench_paint(browser, repeats) if "paint" in only else None
        delay = bench_epoch_delay(browser, epochs) if "delay" in only else None
        train = bench_train(browser, epochs) if "train" in only else None
        browser.close()
    if paint:
        print_paint(paint, repeats)
    if delay:
        print_delay(delay)
    if train:
        print_train(train)


def print_paint(paint: list[dict], repeats: int) -> None:
    print(f"First paint (s; warm = median of {repeats} visits, each in a new browser context)\n")
    print(
        "| app | page | cold: title | cold: page drawn | warm: title | warm: page drawn | "
        "warm: first contentful paint | title vs reference (warm) | warm title <= 2 s | "
        "server peak RSS (MB) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    reference = next(r for r in paint if r["app"].startswith("reference"))
    for r in paint:
        ratio = r["warm"] / reference["warm"]
        ok = "yes" if r["warm"] <= TARGET_S else "no"
        print(
            f"| {r['app']} | {r['page']} | {r['cold']:.2f} | {r['cold_ready']:.2f} "
            f"| {r['warm']:.2f} | {r['warm_ready']:.2f} | {r['fcp']:.2f} | {ratio:.2f}x | {ok} "
            f"| {r['server_peak_mb']:.0f} |"
        )


def print_delay(delay: dict) -> None:
    print(
        f"\nEpoch end -> page shows it (s; live panel polls every {POLL_SECONDS:g} s, "
        f"so the expected mean is about {POLL_SECONDS / 2:g} s plus one fragment rerun)\n"
    )
    print("| epochs timed | median delay | min | max | epochs never shown |")
    print("|---|---|---|---|---|")
    print(
        f"| {delay['epochs']} | {delay['median']:.2f} | {delay['min']:.2f} | {delay['max']:.2f} "
        f"| {delay['missed']} |"
    )


def print_train(train: dict) -> None:
    sample, _ = TRAIN_SAMPLE
    print(
        f"\nIn-app training vs the CLI ({sample}, the page's default model, batch {TRAIN_BATCH}, "
        f"{train['epochs']} epochs, early stopping off; median epoch after the first, s)\n"
    )
    print(f"| Train page (followed) | CLI | app / CLI | <= {TRAIN_TARGET}x |")
    print("|---|---|---|---|")
    ok = "yes" if train["ratio"] <= TRAIN_TARGET else "no"
    print(f"| {train['app']:.3f} | {train['cli']:.3f} | {train['ratio']:.2f}x | {ok} |")


if __name__ == "__main__":
    main()
