"""Rows explained per second: our integrated gradients (issue 12) against permutation-
based attribution of the same rows, on three public tables, side by side in one process.

For each table a model is trained for a few epochs (preset ``mlp_baseline`` or the
first preset that fits), then the same validation rows are explained twice:

- ours: ``analysis.explain_rows`` (32 Gauss-Legendre steps, columns and branches,
  completeness redone where needed, attention of the same rows), timed warm (one
  trace first, as the dashboard is after its first row);
- reference: per-row permutation attribution, the model-agnostic way peers do it: for
  every row and every source column, the column's model inputs are replaced by those
  of ``DRAWS`` random training rows and the mean change of the explained output is the
  column's attribution (one batched ``predict_on_batch`` per row and column).

    .venv/bin/python bench/bench_explain.py [--rows 200]

Prints a markdown table for bench/RESULTS.md.
"""

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from sattn_dash.analysis.attributions.attributions import explain_rows  # noqa: E402
from sattn_dash.modeling import build_model, head_name  # noqa: E402
from sattn_dash.tabular import SAMPLES, infer_schema, load_sample, prepare  # noqa: E402
from sattn_dash.training.pipeline import resolve_spec  # noqa: E402

TABLES = ("breast_cancer", "penguins", "cars")
DRAWS = 10


def _model(name: str):
    df = load_sample(name)
    info = SAMPLES[name]
    schema = infer_schema(df, targets=list(info.targets)[:1], groups=dict(info.groups) or None)
    prepared = prepare(df, schema, seed=0)
    spec = resolve_spec("per_group", prepared)
    keras.utils.set_random_seed(0)
    model = build_model(spec, prepared)
    X, y = prepared.split("train")
    model.fit(np.asarray(X, np.float32), {head_name(t): v for t, v in y.items()}, epochs=3,
              verbose=0)  # fmt: skip
    return model, prepared


def _permutation(model, prepared, X, rng):
    target = prepared.target_names[0]
    train = np.asarray(prepared.X_train, np.float32)
    sources = np.asarray([prepared.feature_sources[f] for f in prepared.feature_names])
    columns = list(dict.fromkeys(sources))

    def output(batch):
        out = model.predict_on_batch(batch)
        out = out[head_name(target)] if isinstance(out, dict) else out
        return np.asarray(out).reshape(len(batch), -1)[:, -1]

    for row in X:
        base = output(row[None])[0]
        for column in columns:
            batch = np.repeat(row[None], DRAWS, axis=0)
            mask = sources == column
            batch[:, mask] = train[rng.integers(0, len(train), DRAWS)][:, mask]
            _ = base - output(batch).mean()
    return len(columns)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200)
    args = parser.parse_args()
    lines = [
        "| table | rows explained | columns | ours: rows/s | permutation: rows/s | speed-up |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in TABLES:
        model, prepared = _model(name)
        X_val, _ = prepared.split("val")
        n = min(args.rows, len(X_val))
        explain_rows(model, prepared, "val", 2, 32)  # trace once
        began = time.perf_counter()
        explain_rows(model, prepared, "val", n, 32)
        ours = n / (time.perf_counter() - began)
        X = np.asarray(X_val, np.float32)[:n]
        began = time.perf_counter()
        columns = _permutation(model, prepared, X, np.random.default_rng(0))
        reference = n / (time.perf_counter() - began)
        lines.append(
            f"| {name} | {n} | {columns} | {ours:,.0f} | {reference:,.0f} | "
            f"{ours / reference:.1f}x |"
        )
        print(lines[-1], file=sys.stderr)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
