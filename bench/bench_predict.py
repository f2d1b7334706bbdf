"""``predict`` on a large Parquet file: memory stays flat, speed stays near the model's.

1. Train a run of the default preset (``modeling.presets.DEFAULT_PRESET``, what a user
   gets without choosing; one epoch) on a synthetic table of 8 numeric and 2
   categorical columns with a class target.
2. Write 200,000 and 2,000,000 new rows of the same table as Parquet to bench/_scratch/.
3. Memory, in a fresh process each: ``score_table`` on each file (predictions written
   to a Parquet file). Peak = the highest resident memory sampled every 5 ms while the
   step runs, above the level just before it (the model and TensorFlow loaded).
4. Speed, in one process, alternating 3 rounds so both see the same load: ``score_table``
   on the 200k-row file (read, prepare, predict, write) against ``model.predict`` on the
   same rows already prepared (the preparation not timed); the ratio of rows per second
   is the median of the per-round ratios.

Targets (issue 24): peak at 2M rows <= 1.5x the peak at 200k rows; rows per second of
``score_table`` >= 0.8x that of ``model.predict`` on the same rows prepared.

Usage: .venv/bin/python bench/bench_predict.py  (prints a markdown section for
bench/RESULTS.md under "## Predict")
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SCRATCH = ROOT / "bench" / "_scratch"
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SMALL, LARGE = 200_000, 2_000_000


def table(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 8)).astype(np.float64)
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(8)])
    frame["colour"] = rng.choice(["red", "green", "blue", "grey"], size=rows)
    frame["region"] = rng.choice([f"r{i}" for i in range(12)], size=rows)
    frame["label"] = np.where(x[:, 0] + x[:, 1] - x[:, 2] > 0, "yes", "no")
    return frame


def setup() -> str:
    from sattn_dash.modeling.presets import DEFAULT_PRESET
    from sattn_dash.tabular import infer_schema
    from sattn_dash.training import RunStore, TrainingConfig, TrainingSession

    SCRATCH.mkdir(parents=True, exist_ok=True)
    train = table(5000, 0)
    groups = {
        "a": ("x0", "x1", "x2", "x3"),
        "b": ("x4", "x5", "x6", "x7"),
        "c": ("colour", "region"),
    }
    schema = infer_schema(train, targets="label", groups=groups)
    store = RunStore(SCRATCH / "workspace")
    for old in store.list():
        store.delete(old.run_id)
    config = TrainingConfig(epochs=1, seed=0)
    session = TrainingSession(train, schema, DEFAULT_PRESET, config, store)
    assert session.start().wait(600).state == "finished"
    for rows in (SMALL, LARGE):
        path = SCRATCH / f"new_{rows}.parquet"
        if not path.is_file():
            table(rows, 1).drop(columns=["label"]).to_parquet(path, row_group_size=65_536)
    return session.run_id


class PeakRss:
    """Highest resident set size (bytes) sampled every 5 ms while inside the block."""

    def __enter__(self):
        self.page = os.sysconf("SC_PAGE_SIZE")
        self.before = self.rss()
        self.peak = self.before
        self.running = True
        self.thread = threading.Thread(target=self.sample, daemon=True)
        self.thread.start()
        return self

    def rss(self) -> int:
        return int(Path("/proc/self/statm").read_text().split()[1]) * self.page

    def sample(self):
        while self.running:
            self.peak = max(self.peak, self.rss())
            time.sleep(0.005)

    def __exit__(self, *exc):
        self.running = False
        self.thread.join()
        self.peak = max(self.peak, self.rss())

    @property
    def above(self) -> float:
        return (self.peak - self.before) / 1e6


def child(kind: str, run_id: str, rows: int) -> dict:
    from sattn_dash.analysis.new_rows.predictor import Predictor, score_table
    from sattn_dash.training import RunStore

    run = RunStore(SCRATCH / "workspace").load(run_id)
    predictor = Predictor.from_run(run)
    path = SCRATCH / f"new_{rows}.parquet"
    warm = table(5000, 2).drop(columns=["label"])
    predictor.score(warm)  # trace the predict function once, as a served model would have
    if kind == "score":
        with PeakRss() as peak:
            start = time.perf_counter()
            scored = score_table(predictor, str(path), out=SCRATCH / f"scored_{rows}.parquet")
            seconds = time.perf_counter() - start
        assert scored.rows == rows
        return {"kind": kind, "rows": rows, "seconds": seconds, "peak_mb": peak.above}
    X = predictor.prepared.transform(pd.read_parquet(path)).to_numpy(dtype=np.float32)
    ours, theirs = [], []
    for _ in range(3):
        start = time.perf_counter()
        predictor.model.predict(X, batch_size=4096, verbose=0)
        theirs.append(time.perf_counter() - start)
        start = time.perf_counter()
        score_table(predictor, str(path), out=SCRATCH / f"scored_{rows}.parquet")
        ours.append(time.perf_counter() - start)
    ratios = sorted(t / o for o, t in zip(ours, theirs, strict=True))
    return {"kind": kind, "rows": rows, "ours": ours, "model": theirs, "ratio": ratios[1],
            "range": [ratios[0], ratios[-1]]}  # fmt: skip


def main() -> None:
    if len(sys.argv) == 4:
        print(json.dumps(child(sys.argv[1], sys.argv[2], int(sys.argv[3]))))
        return
    run_id = setup()
    results = {}
    for kind, rows in (("score", SMALL), ("score", LARGE), ("speed", SMALL)):
        out = subprocess.run(
            [sys.executable, __file__, kind, run_id, str(rows)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        results[(kind, rows)] = json.loads(out.stdout.strip().splitlines()[-1])
    small, large, speed = (
        results[("score", SMALL)],
        results[("score", LARGE)],
        results[("speed", SMALL)],
    )
    memory = large["peak_mb"] / small["peak_mb"]
    load = os.getloadavg()[0]
    print("| step | rows | time (s) | rows/s | peak above start (MB) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for r in (small, large):
        print(
            f"| `score_table` (Parquet in, Parquet out) | {r['rows']:,} | {r['seconds']:.1f} | {r['rows'] / r['seconds']:,.0f} | {r['peak_mb']:.0f} |"
        )
    ours, model = statistics.median(speed["ours"]), statistics.median(speed["model"])
    print(
        f"| `score_table`, speed rounds (median of 3) | {SMALL:,} | {ours:.1f} | {SMALL / ours:,.0f} | |"
    )
    print(
        f"| `model.predict` on the rows prepared (median of 3) | {SMALL:,} | {model:.1f} | {SMALL / model:,.0f} | |"
    )
    print()
    print(
        f"Peak memory 2M / 200k: {memory:.2f}x (target <= 1.5x: {'met' if memory <= 1.5 else 'NOT met'})."
    )
    lo, hi = speed["range"]
    print(
        f"Rows/s of score_table / model.predict: {speed['ratio']:.2f}x [{lo:.2f}-{hi:.2f}] (target >= 0.8x: {'met' if speed['ratio'] >= 0.8 else 'NOT met'})."
    )
    print(f"Load average {load:.1f} at the end, on {os.cpu_count()} cores shared with other work.")


if __name__ == "__main__":
    main()
