"""Benchmark per-epoch checkpoints (issue 13, resume): what they cost per epoch and on disk.

One traced model of the default preset, fitted alternately with the training session's
callbacks (progress, snapshots, early stopping with best-weight copies, writing a real
run's files) and with the same callbacks plus the ``Checkpointer`` (every model and
optimizer variable, the callbacks' state and the history, written atomically each
epoch, two kept). Wall and process CPU time per epoch, medians; bytes of one checkpoint
and of the two kept.

    .venv/bin/python bench/bench_checkpoint.py           # about 3 minutes on 2 cores
    .venv/bin/python bench/bench_checkpoint.py --quick

Prints a markdown table for bench/RESULTS.md (section "## Resume").
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_training import Clock, synthetic_table  # noqa: E402

from sattn_dash.modeling import PRESETS, preset_spec  # noqa: E402
from sattn_dash.tabular import infer_schema, prepare  # noqa: E402
from sattn_dash.training import RunStore, TrainingConfig  # noqa: E402
from sattn_dash.training.callbacks import SessionCallback, Snapshotter  # noqa: E402
from sattn_dash.training.checkpoint import CHECKPOINTS, Checkpointer, checkpoint_bytes  # noqa: E402
from sattn_dash.training.pipeline import prepare_fit  # noqa: E402
from sattn_dash.training.session import TrainingSession  # noqa: E402


def measure(rows: int, epochs: int, repeats: int) -> dict:
    df = synthetic_table(rows)
    schema = infer_schema(df, targets=["target"])
    config = TrainingConfig(epochs=epochs, batch_size=64, seed=0, patience=10**4)
    prepared = prepare(df, schema, seed=0)
    preset = next(iter(PRESETS))
    spec = preset_spec(preset, prepared)
    model, dataset, fit_kwargs = prepare_fit(spec, prepared, config)
    X_val = prepared.split("val")[0].to_numpy()
    workspace = Path(tempfile.mkdtemp(prefix="bench-checkpoint-"))
    store = RunStore(workspace)

    def fit(checkpoints: bool) -> tuple[float, float]:
        hooks = TrainingSession(df, schema, spec, config, store, prepared=prepared)
        callbacks = [SessionCallback(hooks, Snapshotter(model, X_val)), *fit_kwargs["callbacks"]]
        if checkpoints:
            run_dir = store.path(hooks.run_id)
            saver = Checkpointer(run_dir, callbacks, hooks._checkpoint_state)
            callbacks = [*callbacks, saver.callback()]
        with Clock() as clock:
            model.fit(dataset, **{**fit_kwargs, "callbacks": callbacks})
        return clock.wall / epochs, clock.cpu / epochs

    fit(False)  # trace
    fit(True)
    bare, saving = [], []
    for _ in range(repeats):
        bare.append(fit(False))
        saving.append(fit(True))
    folders = sorted(workspace.glob(f"runs/*/{CHECKPOINTS}"))
    last = folders[-1].parent
    kept = checkpoint_bytes(last)
    one = sum(f.stat().st_size for f in sorted(folders[-1].iterdir())[-1].iterdir())
    return {
        "preset": preset,
        "rows": rows,
        "train_rows": len(prepared.split("train")[0]),
        "parameters": model.count_params(),
        "epochs": epochs,
        "fits": repeats,
        "bare": tuple(statistics.median(t[i] for t in bare) for i in (0, 1)),
        "saving": tuple(statistics.median(t[i] for t in saving) for i in (0, 1)),
        "one_bytes": one,
        "kept_bytes": kept,
    }


def table(results: list[dict]) -> str:
    lines = [
        "| rows (train) | parameters | clock | epoch without (s) | epoch with checkpoint (s) "
        "| ratio | one checkpoint | two kept |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        for i, clock in enumerate(("wall", "cpu")):
            bare, saving = r["bare"][i], r["saving"][i]
            lines.append(
                f"| {r['rows']:,} ({r['train_rows']:,}) | {r['parameters']:,} | {clock} "
                f"| {bare:.4f} | {saving:.4f} | {saving / bare:.3f}x "
                f"| {r['one_bytes'] / 1024:.0f} KiB | {r['kept_bytes'] / 1024:.0f} KiB |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    repeats = 2 if args.quick else 5
    results = [measure(rows, 5, repeats) for rows in (1_000, 10_000)]
    print(f"Preset `{results[0]['preset']}`, batch 64, 5 epochs per fit, {repeats} fits each")
    print(table(results))


if __name__ == "__main__":
    main()
