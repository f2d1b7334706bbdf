"""Training on tables of 1M, 5M and 20M rows: the streaming path against the in-memory one.

Each measurement runs in its own process (so its peak resident memory is its own): a
full prepare + train (1 epoch by default) + test evaluation of the `ensemble` preset on a
generated Parquet table of about 12 columns (10 numbers, one category, a binary target
that depends on three of them). Reported: peak RSS, wall seconds and table rows per
second, for the streaming path at every size and the in-memory path where it fits.

    .venv/bin/python bench/bench_scale.py                    # 1M, 5M, 20M; 1 epoch
    .venv/bin/python bench/bench_scale.py --rows 100000 --in-memory-max 100000

Generated tables go to bench/_scratch/ (git-ignored) and are reused between runs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRATCH = ROOT / "bench" / "_scratch"
WRITE_ROWS = 1_000_000  # rows generated and written per step (bounded memory)
PRESET = "ensemble"


def table_path(n_rows: int) -> Path:
    """A seeded Parquet table of `n_rows` rows, generated once, a million rows a step."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = SCRATCH / f"rows_{n_rows}.parquet"
    if path.exists():
        return path
    SCRATCH.mkdir(parents=True, exist_ok=True)
    temp = path.with_suffix(".tmp")
    writer = None
    for start in range(0, n_rows, WRITE_ROWS):
        n = min(WRITE_ROWS, n_rows - start)
        rng = np.random.default_rng(start)
        columns = {f"x{i}": rng.normal(size=n).astype(np.float64) for i in range(10)}
        city = rng.choice(np.array(["oslo", "rome", "lima", "pune"]), n)
        signal = columns["x0"] + 0.5 * columns["x1"] - (city == "rome") + rng.normal(0, 0.3, n)
        columns["city"] = city
        columns["y"] = np.where(signal > 0, "yes", "no")
        batch = pa.table(columns)
        writer = writer or pq.ParquetWriter(temp, batch.schema)
        writer.write_table(batch, row_group_size=131_072)
    writer.close()
    os.replace(temp, path)
    return path


def child(kind: str, n_rows: int, epochs: int, batch_size: int) -> dict:
    """One measurement, in this (fresh) process."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.path.insert(0, str(ROOT))
    from sattn_dash.training import TrainingConfig

    path = table_path(n_rows)
    config = TrainingConfig(epochs=epochs, seed=0, batch_size=batch_size, early_stopping=False)
    started = time.perf_counter()
    if kind == "stream":
        from sattn_dash.tabular.stream import TableStream, prepare_stream
        from sattn_dash.training.streaming import evaluate_streamed, fit_streamed

        streamed = prepare_stream(TableStream.open([path]), "y", seed=0)
        prepared_s = time.perf_counter() - started
        model, _ = fit_streamed(PRESET, streamed, config)
        metrics = evaluate_streamed(model, streamed)["y"]
        train_rows = streamed.rows["train"]
    else:
        from sattn_dash.tabular import ReadLimits, infer_schema, prepare, read_table
        from sattn_dash.training.evaluation import evaluate
        from sattn_dash.training.pipeline import prepare_fit, resolve_spec

        df = read_table(path, limits=ReadLimits(max_rows=n_rows, max_unpacked_bytes=1 << 40))
        prepared = prepare(df, infer_schema(df, targets="y"), seed=0)
        del df
        prepared_s = time.perf_counter() - started
        spec = resolve_spec(PRESET, prepared)
        model, dataset, fit_kwargs = prepare_fit(spec, prepared, config)
        model.fit(dataset, **fit_kwargs)
        metrics = evaluate(model, prepared)["y"]
        train_rows = len(prepared.X_train)
    seconds = time.perf_counter() - started
    return {
        "path": kind,
        "rows": n_rows,
        "train_rows": train_rows,
        "epochs": epochs,
        "seconds": round(seconds, 1),
        "prepare_s": round(prepared_s, 1),
        "rows_per_s": round(n_rows * epochs / seconds),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "test_accuracy": round(metrics["accuracy"], 4),
        "test_rows": metrics["n"],
    }


def measure(kind: str, n_rows: int, epochs: int, batch_size: int) -> dict:
    table_path(n_rows)  # generated outside the measured process
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            kind,
            "--rows",
            str(n_rows),
            "--epochs",
            str(epochs),
            "--batch-size",
            str(batch_size),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode:
        raise SystemExit(f"{kind} at {n_rows:,} rows failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 5_000_000, 20_000_000])
    parser.add_argument(
        "--in-memory-max",
        type=int,
        default=1_000_000,
        help="largest table also run in memory (the reference)",
    )
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--child", choices=["stream", "memory"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.rows[0], args.epochs, args.batch_size)))
        return
    results = []
    for n in args.rows:
        for kind in ("memory", "stream") if n <= args.in_memory_max else ("stream",):
            results.append(measure(kind, n, args.epochs, args.batch_size))
            print(json.dumps(results[-1]), flush=True)
    smallest = min(args.rows)
    base = {r["path"]: r for r in results if r["rows"] == smallest}
    print("\n| path | rows | seconds | rows/s | peak RSS (MB) | test accuracy |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['path']} | {r['rows']:,} | {r['seconds']} | {r['rows_per_s']:,} | "
            f"{r['peak_rss_mb']:,} | {r['test_accuracy']} |"
        )
    stream = [r for r in results if r["path"] == "stream"]
    if "memory" in base and "stream" in base:
        ratio = base["stream"]["rows_per_s"] / base["memory"]["rows_per_s"]
        print(f"\nthroughput at {smallest:,} rows, stream / in-memory: {ratio:.2f} (target >= 0.8)")
    if len(stream) > 1:
        growth = stream[-1]["peak_rss_mb"] / stream[0]["peak_rss_mb"]
        print(
            f"peak memory, {stream[-1]['rows']:,} / {stream[0]['rows']:,} rows: "
            f"{growth:.2f}x (target <= 1.5)"
        )


if __name__ == "__main__":
    main()
