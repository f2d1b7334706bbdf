"""Benchmark the training engine (issue 5): its overhead over a bare ``model.fit``, and
training throughput per preset on a 50,000-row table.

Overhead, in this one process, same spec, data, seed and epochs:
- steady state: one traced model fitted alternately bare and with every engine callback
  (progress, stop, NaN check, snapshots, early stopping with best-weight copies) whose
  hooks write a real run's history, snapshots and status each epoch; per-epoch medians.
- end to end: a bare build + ``fit`` on the NumPy arrays (Keras' own shuffle) vs
  ``TrainingSession.run()`` (build, seeded ``tf.data`` pipeline, fit with every callback,
  then evaluation on the test split and saving model, predictions, metrics,
  preprocessing and card); a new model each round, so both include tracing.
Both in wall time and in process CPU time (all threads): on a shared machine the CPU time
is the steadier measure of the work added. Target: <= 1.10x.

Throughput: one session per preset on a synthetic 50,000-row table (train split 60%),
samples per second of the last epoch (after tracing; including its validation pass).
Peak memory: the process's peak resident memory growth across a preset's session
(Linux ``VmHWM``, reset before each session).

    .venv/bin/python bench/bench_training.py           # full run (10-15 min on 2 cores)
    .venv/bin/python bench/bench_training.py --quick   # fewer repeats

Prints markdown tables for bench/RESULTS.md (section "## Training").
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sattn_dash.modeling import PRESETS, build_model, head_name, preset_spec  # noqa: E402
from sattn_dash.tabular import infer_schema, prepare  # noqa: E402
from sattn_dash.training import RunStore, TrainingConfig, list_devices  # noqa: E402
from sattn_dash.training.callbacks import SessionCallback, Snapshotter  # noqa: E402
from sattn_dash.training.pipeline import seeded, steps_per_epoch, training_dataset  # noqa: E402
from sattn_dash.training.session import TrainingSession  # noqa: E402

MIB = 1024**2


def synthetic_table(rows: int, seed: int = 0) -> pd.DataFrame:
    """Numeric and categorical columns with a known binary target."""
    rng = np.random.default_rng(seed)
    numeric = rng.normal(size=(rows, 10))
    frame = pd.DataFrame(numeric, columns=[f"x{i}" for i in range(10)])
    frame["colour"] = rng.choice(["red", "green", "blue", "grey"], size=rows)
    frame["size"] = rng.choice(["S", "M", "L"], size=rows)
    logit = numeric[:, 0] + numeric[:, 1] * numeric[:, 2] + (frame["colour"] == "red") * 1.5
    frame["target"] = np.where(logit + rng.normal(scale=0.5, size=rows) > 0.5, "yes", "no")
    return frame


def _vm(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    return 0


def _reset_peak() -> int:
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
    except OSError:
        pass
    return _vm("VmRSS")


class Clock:
    """Wall time and this process's CPU time (all threads) of one block. On a shared
    machine CPU time is the steadier measure of work done; both are reported."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def session_fit(df, schema, spec, prepared, config, store) -> dict:
    session = TrainingSession(df, schema, spec, config, store, prepared=prepared)
    status = session.run()  # in this thread, like the bare fit
    if status.state != "finished":
        raise RuntimeError(f"session ended {status.state}: {status.error}")
    return store.load(session.run_id)


def steady_state(prepared, spec, df, schema, store, epochs: int, repeats: int) -> dict:
    """Seconds per epoch of one traced model, ``fit`` alternately bare and with the
    session's callbacks (progress/stop/NaN, snapshots, early stopping with best-weight
    copies) whose hooks write the history, snapshots and status files of a real run."""
    import keras

    X, y = prepared.split("train")
    Xv, yv = prepared.split("val")
    heads = {t: head_name(t) for t in prepared.tasks}
    X = np.asarray(X, dtype=np.float32)
    y = {heads[t]: v for t, v in y.items()}
    validation = (np.asarray(Xv, dtype=np.float32), {heads[t]: v for t, v in yv.items()})
    with seeded(0):
        model = build_model(spec, prepared)
        data = training_dataset(X, y, 64, 0, epochs=epochs)

    def engine_callbacks():
        hooks = TrainingSession(df, schema, spec, TrainingConfig(), store, prepared=prepared)
        return [
            SessionCallback(hooks, Snapshotter(model, validation[0])),
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=10**6, restore_best_weights=True
            ),
        ]

    def fit(callbacks):
        with Clock() as clock:
            model.fit(
                data,
                validation_data=validation,
                epochs=epochs,
                steps_per_epoch=steps_per_epoch(len(X), 64),
                shuffle=False,
                verbose=0,
                callbacks=callbacks,
            )
        return clock.wall / epochs, clock.cpu / epochs

    fit([])  # trace
    fit(engine_callbacks())
    bare, engine = [], []
    for _ in range(repeats):
        bare.append(fit([]))
        engine.append(fit(engine_callbacks()))
    return {
        "bare": tuple(statistics.median(t[i] for t in bare) for i in (0, 1)),
        "engine": tuple(statistics.median(t[i] for t in engine) for i in (0, 1)),
    }


def bare_run(spec, prepared, config: TrainingConfig) -> Clock:
    """Build and ``fit`` from scratch on the NumPy arrays (Keras' own shuffle)."""
    X, y = prepared.split("train")
    Xv, yv = prepared.split("val")
    heads = {t: head_name(t) for t in prepared.tasks}
    with Clock() as clock:
        with seeded(config.seed):
            model = build_model(spec, prepared)
        model.fit(
            np.asarray(X, dtype=np.float32),
            {heads[t]: v for t, v in y.items()},
            validation_data=(
                np.asarray(Xv, dtype=np.float32),
                {heads[t]: v for t, v in yv.items()},
            ),
            epochs=config.epochs,
            batch_size=config.batch_size,
            shuffle=True,
            verbose=0,
        )
    return clock


def overhead(rows: int, epochs: int, repeats: int, preset: str) -> list[str]:
    df = synthetic_table(rows)
    schema = infer_schema(df, targets=["target"])
    config = TrainingConfig(epochs=epochs, batch_size=64, early_stopping=False)
    prepared = prepare(df, schema, seed=config.seed)
    spec = preset_spec(preset, prepared)
    n_train = len(prepared.split("train")[0])
    with tempfile.TemporaryDirectory() as workspace:
        store = RunStore(workspace)
        steady = steady_state(prepared, spec, df, schema, store, epochs, repeats * 2)
        bare, session = [], []
        for round_ in range(repeats + 1):  # the first round is the warm-up
            if round_ % 2:  # alternate the order, so drift in the machine's load cancels
                bare.append(bare_run(spec, prepared, config))
            with Clock() as clock:
                session_fit(df, schema, spec, prepared, config, store)
            session.append(clock)
            if not round_ % 2:
                bare.append(bare_run(spec, prepared, config))

    def med(clocks, attr):
        return statistics.median(getattr(c, attr) for c in clocks[1:])

    out = [
        f"Preset `{preset}`, {rows:,} rows ({n_train:,} train, {-(-n_train // 64)} batches "
        f"per epoch), batch 64, {epochs} epochs per fit. Wall time and process CPU time "
        "(all threads), medians.",
        "",
        f"- Steady state ({repeats * 2} alternating fits of one traced model, same seeded "
        "`tf.data` pipeline): bare `fit` vs `fit` with every engine callback (progress, "
        "stop, NaN check, snapshots, early stopping with best-weight copies) writing a "
        "real run's history, snapshots and status each epoch.",
        f"- End to end ({repeats} rounds after a warm-up, in alternating order; a new model each time so each "
        "includes tracing): bare build + `fit` on the NumPy arrays (Keras' own shuffle) vs "
        "`TrainingSession.run()` (build, seeded pipeline, fit with every callback, then "
        "evaluate on the test split and save model, predictions, metrics, preprocessing "
        "and card).",
        "",
        "| what | clock | bare `model.fit` (s) | `TrainingSession` (s) | ratio | target |",
        "| --- | --- | ---: | ---: | ---: | --- |",
    ]
    for i, clock in enumerate(("wall", "cpu")):
        ref, ours = steady["bare"][i], steady["engine"][i]
        out.append(
            f"| steady-state epoch | {clock} | {ref:.3f} | {ours:.3f} | {ours / ref:.3f}x "
            "| <= 1.10x |"
        )
    for clock in ("wall", "cpu"):
        ref, ours = med(bare, clock), med(session, clock)
        out.append(
            f"| end to end | {clock} | {ref:.2f} | {ours:.2f} | {ours / ref:.3f}x | <= 1.10x |"
        )
    return out


def throughput(rows: int, epochs: int, presets: list[str]) -> list[str]:
    df = synthetic_table(rows, seed=1)
    schema = infer_schema(df, targets=["target"])
    config = TrainingConfig(epochs=epochs, batch_size=64, early_stopping=False)
    prepared = prepare(df, schema, seed=config.seed)
    n_train = len(prepared.split("train")[0])
    lines = [
        f"{rows:,}-row synthetic table (12 columns -> {len(prepared.feature_names)} model "
        f"inputs; {n_train:,} training rows), batch 64, {epochs} epochs; samples/s of the "
        "last epoch (training plus its validation pass, after tracing).",
        "",
        "| preset | combiner | parameters | samples/s | first epoch (s) | last epoch (s) "
        "| peak RSS growth (MiB) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    with tempfile.TemporaryDirectory() as workspace:
        store = RunStore(workspace)
        for name in presets:
            spec = preset_spec(name, prepared)
            before = _reset_peak()
            run = session_fit(df, schema, spec, prepared, config, store)
            peak = _vm("VmHWM") - before
            times = run.history["time_s"].tolist()
            last = times[-1] - (times[-2] if len(times) > 1 else 0.0)
            lines.append(
                f"| `{name}` | {spec.combiner.kind} | {run.card['parameters']:,} | "
                f"{n_train / last:,.0f} | {times[0]:.2f} | {last:.2f} | {peak / MIB:.0f} |"
            )
            print(lines[-1], file=sys.stderr, flush=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and epochs")
    parser.add_argument("--presets", nargs="*", default=list(PRESETS))
    args = parser.parse_args()
    repeats = 3 if args.quick else 7
    device = next(d for d in reversed(list_devices()))
    header = [
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores, device {device.description}; "
        f"Python {platform.python_version()}.",
        "",
    ]
    over = overhead(rows=10_000, epochs=10, repeats=repeats, preset="ensemble")
    print("\n".join(over), file=sys.stderr, flush=True)
    thr = throughput(rows=50_000, epochs=2, presets=args.presets)
    print("\n".join(["### Engine overhead", "", *header, *over, "", "### Throughput", "", *thr]))


if __name__ == "__main__":
    main()
