"""Where the default model's fit time goes, beside CatBoost's whole fit on the same split.

Issue 27 asks the default's fit to take at most 5x CatBoost's. This splits one fit of the
default (`DEFAULT_PRESET` with `TrainingConfig()`, early stopping on) into its parts:
building and compiling the model; the first epoch, which traces the training and
validation functions; and the later epochs, each its training steps and its validation
pass. Beside it, the same fit scoring validation the way Keras does with arrays (the
reference `training.pipeline.validation_dataset` replaced, Keras' own dataset rebuilt
twice an epoch), alternating with ours in one process, and CatBoost at its defaults on
the same split (`analysis.baselines`, `BASELINE_THREADS` threads).

The tables and subsamples are `bench_accuracy.py`'s. Seconds are medians over the seeds.

    .venv/bin/python bench/bench_fit_time.py [--seeds 0 1] [--only computers wage]

Prints a markdown table for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_accuracy  # noqa: E402  (sets up the path and TensorFlow's log level)
import numpy as np  # noqa: E402


def catboost_seconds(prepared, seed: int) -> float:
    from sattn_dash.analysis.baselines.baselines import FIT_SECONDS, sklearn_baselines

    table = sklearn_baselines(prepared, splits=("test",), seed=seed)
    return float(table.loc[table["model"].str.contains("CatBoost"), FIT_SECONDS].iloc[0])


def timed_fit(prepared, config, keras_validation: bool) -> dict[str, float]:
    """Seconds of each part of one fit of the default model."""
    import keras

    from sattn_dash.modeling import preset_spec
    from sattn_dash.modeling.presets import DEFAULT_PRESET
    from sattn_dash.modeling.spec import output_targets
    from sattn_dash.training.pipeline import VALIDATION_BATCH, prepare_fit

    class Clock(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.epochs, self.validation = [], []

        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_test_begin(self, logs=None):
            self.validating = time.perf_counter()

        def on_test_end(self, logs=None):
            self.validation.append(time.perf_counter() - self.validating)

        def on_epoch_end(self, epoch, logs=None):
            self.epochs.append(time.perf_counter() - self.started)

    started = time.perf_counter()
    spec = preset_spec(DEFAULT_PRESET, prepared)
    model, dataset, kwargs = prepare_fit(spec, prepared, config)
    built = time.perf_counter() - started
    if keras_validation:  # the reference: arrays, batched by Keras
        X_val, y_val = prepared.split("val")
        targets = {name: y_val[t] for name, t in output_targets(spec).items()}
        kwargs["validation_data"] = (np.asarray(X_val, dtype=np.float32), targets)
        kwargs["validation_batch_size"] = VALIDATION_BATCH
    clock = Clock()
    kwargs["callbacks"] = [*kwargs["callbacks"], clock]
    model.fit(dataset, **kwargs)
    later = clock.epochs[1:] or clock.epochs
    return {
        "fit": time.perf_counter() - started,
        "build": built,
        "first": clock.epochs[0],
        "epoch": statistics.median(later),
        "validation": statistics.median(clock.validation[1:] or clock.validation),
        "epochs": len(clock.epochs),
    }


def run(names: list[str], seeds: list[int]) -> list[dict]:
    from sattn_dash.tabular import infer_schema, prepare
    from sattn_dash.training import TrainingConfig

    rows = []
    timed_fit(*_warm_up(), keras_validation=False)  # TensorFlow's start, not the model's
    for name in names:
        frame, target, task = bench_accuracy.load(name, 2000)
        schema = infer_schema(frame, targets=target)
        per_seed = []
        for seed in seeds:
            config = TrainingConfig(seed=seed)
            prepared = prepare(frame, schema, seed=seed, options=config.prepare_options())
            order = (False, True) if seed % 2 == 0 else (True, False)
            fits = {keras: timed_fit(prepared, config, keras) for keras in order}
            per_seed.append(
                {
                    "catboost": catboost_seconds(prepare(frame, schema, seed=seed), seed),
                    **{
                        f"{'keras' if keras else 'ours'}_{part}": value
                        for keras, parts in fits.items()
                        for part, value in parts.items()
                    },
                }
            )
        row = {"table": name, "task": task, "rows": len(frame)}
        row.update({k: statistics.median(s[k] for s in per_seed) for k in per_seed[0]})
        rows.append(row)
        print(row, file=sys.stderr, flush=True)
    return rows


def _warm_up():
    from sattn_dash.tabular import infer_schema, prepare
    from sattn_dash.training import TrainingConfig

    frame, target, _ = bench_accuracy.load("penguins", 2000)
    config = TrainingConfig(epochs=2)
    return prepare(frame, infer_schema(frame, targets=target)), config


def table(rows: list[dict]) -> str:
    lines = [
        "| table | rows | CatBoost fit s | default fit s | build s | first epoch s | "
        "later epoch s (of it validation) | epochs | default / CatBoost | fixed part / "
        "CatBoost | Keras' validation: fit s, later epoch s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        fixed = r["ours_build"] + r["ours_first"]
        lines.append(
            f"| {r['table']} | {r['rows']:,} | {r['catboost']:.2f} | {r['ours_fit']:.2f} | "
            f"{r['ours_build']:.2f} | {r['ours_first']:.2f} | {r['ours_epoch']:.3f} "
            f"({r['ours_validation']:.3f}) | {r['ours_epochs']:.0f} | "
            f"{r['ours_fit'] / r['catboost']:.1f}x | {fixed / r['catboost']:.1f}x | "
            f"{r['keras_fit']:.2f}, {r['keras_epoch']:.3f} ({r['keras_validation']:.3f}) |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    tables = list(bench_accuracy.TABLES)
    parser.add_argument("--only", nargs="+", choices=tables, default=tables)
    args = parser.parse_args()
    print(table(run(args.only, args.seeds)))


if __name__ == "__main__":
    main()
