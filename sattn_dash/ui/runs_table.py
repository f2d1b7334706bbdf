"""Pure helpers for the Runs page: the table of runs and the frames that compare them.

Everything is read from the run folders' JSON and CSV files, so listing and comparing
runs never imports TensorFlow. (Here because RunInfo carries no combiner or metrics.)
"""

from __future__ import annotations

import pandas as pd

from sattn_dash.errors import UserError
from sattn_dash.training.run import Run
from sattn_dash.training.store import RunStore
from sattn_dash.ui import tidy

#: Metrics worth a column in the run table, in this order, when a run has them.
TABLE_METRICS = ("accuracy", "balanced_accuracy", "roc_auc", "r2", "rmse", "mae")


def _readable(run: Run, name: str, default):
    """``run.<name>``, or ``default`` when a torn run file makes it fail: one bad file
    must not hide the run from the list."""
    try:
        return getattr(run, name)
    except UserError:
        return default


def runs_frame(store: RunStore) -> pd.DataFrame:
    """One row per run, newest first: what, how it went, and its test metrics."""
    rows = []
    for info in store.list():
        run = Run(info, store.path(info.run_id))
        row = {
            "run_id": info.run_id,
            "title": info.title,
            "status": info.status,
            "created": info.created_at.replace("T", " ").replace("+00:00", " UTC"),
            "targets": ", ".join(f"{t} ({info.tasks.get(t, '?')})" for t in info.targets),
            "preset": info.preset or "",
            "combiner": _readable(run, "combiner", None) or "",
            "epochs": info.epochs_run,
            "duration_s": info.duration_s,
        }
        for target, values in (_readable(run, "metrics", {}) or {}).items():
            for metric in TABLE_METRICS:
                if isinstance(values, dict) and values.get(metric) is not None:
                    row[f"{target} · test {metric}"] = values[metric]
        rows.append(row)
    return pd.DataFrame(rows)


def compare_histories(runs: list[Run]) -> pd.DataFrame:
    """The runs' curves stacked, with a ``run`` column (their titles)."""
    parts = []
    for run in runs:
        part = tidy.history_long(run.history)
        part.insert(0, "run", label(run))
        parts.append(part)
    if not parts:
        return pd.DataFrame(columns=["run", "epoch", "metric", "split", "value", "kind"])
    return pd.concat(parts, ignore_index=True)


def compare_metrics(runs: list[Run]) -> pd.DataFrame:
    parts = [tidy.metrics_long(run.metrics, label(run)) for run in runs]
    parts = [p for p in parts if not p.empty]
    if not parts:
        return pd.DataFrame(columns=["run", "target", "split", "metric", "value"])
    return pd.concat(parts, ignore_index=True)


def compare_importances(runs: list[Run]) -> pd.DataFrame:
    """Final module probabilities (from each run card) side by side."""
    return tidy.importance_long({label(run): run.module_importance for run in runs})


def label(run: Run) -> str:
    """A run's name in charts: its title, made unique by the end of its id."""
    return f"{run.title} [{run.run_id[-6:]}]"
