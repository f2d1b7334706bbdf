"""Benchmark: read_table against plain pandas.read_csv on a generated ~100 MB CSV, then
infer_schema and prepare on the same table; wall time (median after a warm-up) and peak
memory for each.

    .venv/bin/python bench/bench_tabular.py            # 1,000,000 rows (~100 MB)
    .venv/bin/python bench/bench_tabular.py --quick    # 200,000 rows
    .venv/bin/python bench/bench_tabular.py --write    # also replace "## Tabular" in RESULTS.md

The CSV is generated once into bench/_scratch/ (git-ignored) and reused. Peak memory is
measured in a fresh process per step: the resident-set high-water mark during the step
minus the size before it (Linux: /proc/self/clear_refs resets the mark), so it includes
pyarrow's buffers, which tracemalloc would miss.
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import os
import platform
import re
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sattn_dash.tabular import infer_schema, prepare, read_table  # noqa: E402

SCRATCH = ROOT / "bench" / "_scratch"
RESULTS = ROOT / "bench" / "RESULTS.md"


def make_csv(rows: int, seed: int = 0) -> Path:
    """About 100 bytes a row in 12 mixed columns: ids, numbers with gaps, categories of
    low and high cardinality, a yes/no column, dates, and a binary target."""
    path = SCRATCH / f"tabular_v2_{rows}.csv"
    if path.exists():
        return path
    SCRATCH.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 91, rows).astype(float)
    age[rng.random(rows) < 0.02] = np.nan
    income = rng.lognormal(10.5, 0.6, rows).round(2)
    income[rng.random(rows) < 0.05] = np.nan
    visits = rng.poisson(3, rows)
    plan = rng.choice(["basic", "plus", "pro", "business"], rows)
    logit = -1 + 0.8 * (visits - 3) / 1.7 + (plan == "basic") * 0.5
    df = pd.DataFrame(
        {
            "customer_id": np.char.add("CUST-", (rng.permutation(rows) + 1_000_000).astype(str)),
            "age": age,
            "income": income,
            "balance": rng.normal(2500, 900, rows).round(4),
            "score": rng.random(rows).round(8),
            "visits": visits,
            "plan": plan,
            "city": np.char.add("municipality_", rng.integers(0, 500, rows).astype(str)),
            "smoker": rng.choice(["yes", "no"], rows, p=[0.2, 0.8]),
            "signup": pd.Series(
                np.datetime64("2015-01-01T00:00") + rng.integers(0, 3650 * 1440, rows)
            ).dt.strftime("%Y-%m-%d %H:%M"),
            "channel": rng.choice(["web", "store", "phone", "partner", "mail", "app"], rows),
            "churn": np.where(rng.random(rows) < 1 / (1 + np.exp(-logit)), "yes", "no"),
        }
    )
    df.to_csv(path, index=False)
    return path


STEPS = ("pandas.read_csv", "read_table", "infer_schema", "prepare")


def run_step(step: str, path: Path, df=None, schema=None):
    if step == "pandas.read_csv":
        return pd.read_csv(path)
    if step == "read_table":
        return read_table(path)
    if step == "infer_schema":
        return infer_schema(df, targets="churn")
    return prepare(df, schema, seed=0)


def peak_memory_mb(step: str, path: Path) -> float:
    """Peak resident memory of one run of `step`, above the level before it, measured in
    a fresh process so memory freed by earlier steps (and kept by allocators) is not
    reused unseen."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(_peak_in_child, (step, path))


def _peak_in_child(step: str, path: Path) -> float:
    df = read_table(path) if step in ("infer_schema", "prepare") else None
    schema = infer_schema(df, targets="churn") if step == "prepare" else None
    _release_free_memory()
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    start = _status("VmRSS")
    run_step(step, path, df, schema)
    return (_status("VmHWM") - start) / 1024


def _release_free_memory() -> None:
    import ctypes

    import pyarrow as pa

    gc.collect()
    pa.default_memory_pool().release_unused()
    ctypes.CDLL("libc.so.6").malloc_trim(0)


def _status(field: str) -> int:
    text = Path("/proc/self/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE).group(1))


def timed(steps: dict, repeats: int) -> tuple[dict[str, list[float]], dict]:
    """{name: wall seconds of each round} and {name: last result}: one warm-up each, then
    `repeats` rounds that run the steps alternately, so load from other processes on the
    shared machine hits them alike."""
    results = {name: fn() for name, fn in steps.items()}
    seconds = {name: [] for name in steps}
    for _ in range(repeats):
        for name, fn in steps.items():
            results[name] = None
            gc.collect()
            start = time.perf_counter()
            results[name] = fn()
            seconds[name].append(time.perf_counter() - start)
    return seconds, results


def run(rows: int, repeats: int) -> str:
    path = make_csv(rows)
    size_mb = path.stat().st_size / 1e6
    load_before = os.getloadavg()[0]
    read, tables = timed(
        {
            "pandas": lambda: run_step("pandas.read_csv", path),
            "ours": lambda: run_step("read_table", path),
        },
        repeats,
    )
    df = tables["ours"]
    infer, schemas = timed({"infer": lambda: run_step("infer_schema", path, df)}, repeats)
    rounds = max(1, repeats - 2)
    prep, prepared = timed(
        {"prepare": lambda: run_step("prepare", path, df, schemas["infer"])}, rounds
    )
    prepared = prepared["prepare"]
    peak = {step: peak_memory_mb(step, path) for step in STEPS}
    ratios = [o / p for o, p in zip(read["ours"], read["pandas"], strict=True)]
    median = statistics.median
    lines = [
        f"Generated CSV: {rows:,} rows x {df.shape[1]} columns, {size_mb:.0f} MB "
        f"(`bench/bench_tabular.py{' --quick' if rows < 1_000_000 else ''}`). Wall-clock "
        f"medians of {repeats} rounds after a warm-up ({rounds} for prepare), the two readers "
        "alternating within each round; ratio = median of the per-round ratios (range in "
        "brackets). Peak = resident memory above the level before the step, in a fresh "
        "process.",
        "",
        "| step | ours (s) | pandas (s) | ratio | peak memory (MB) |",
        "| --- | ---: | ---: | ---: | ---: |",
        f"| read CSV: `read_table` vs `pandas.read_csv` | {median(read['ours']):.2f} | "
        f"{median(read['pandas']):.2f} | {median(ratios):.2f}x "
        f"[{min(ratios):.2f}-{max(ratios):.2f}] | {peak['read_table']:.0f} "
        f"(pandas: {peak['pandas.read_csv']:.0f}) |",
        f"| `infer_schema` (target `churn`) | {median(infer['infer']):.2f} | | | "
        f"{peak['infer_schema']:.0f} |",
        f"| `prepare` (split, fit on train, transform all) | {median(prep['prepare']):.2f} | | | "
        f"{peak['prepare']:.0f} |",
        "",
        f"`prepare` gave {prepared.X_train.shape[1]} model input columns "
        f"({len(prepared.X_train):,} / {len(prepared.X_val):,} / {len(prepared.X_test):,} "
        f"train / val / test rows). Python {platform.python_version()}, pandas "
        f"{pd.__version__}, scikit-learn {sklearn.__version__}. Load average "
        f"{load_before:.1f} at the start and {os.getloadavg()[0]:.1f} at the end on "
        f"{os.cpu_count()} cores shared with other work, so single timings are noisy.",
    ]
    return "\n".join(lines)


def write_section(body: str) -> None:
    text = RESULTS.read_text()
    section = f"## Tabular\n\nRerun: `.venv/bin/python bench/bench_tabular.py --write`\n\n{body}\n"
    pattern = re.compile(r"^## Tabular\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text).rstrip() + "\n"
    else:
        text = text.rstrip() + "\n\n" + section
    RESULTS.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200,000 rows instead of 1M")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args()
    rows = args.rows or (200_000 if args.quick else 1_000_000)
    body = run(rows, args.repeats)
    print(body)
    if args.write:
        write_section(body)


if __name__ == "__main__":
    main()
