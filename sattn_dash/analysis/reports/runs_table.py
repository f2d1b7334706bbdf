"""Pure helpers for the Runs page: the table of runs (comparing them:
``analysis.reports.comparison``).

Everything is read from the run folders' JSON and CSV files, so listing and comparing
runs never imports TensorFlow. (Here because RunInfo carries no combiner or metrics.)
"""

from __future__ import annotations

import pandas as pd

from sattn_dash.errors import UserError
from sattn_dash.training.run import Run
from sattn_dash.training.store import RunStore

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
