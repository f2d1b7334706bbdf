"""Pure reshaping of stored run files into the tidy frames the charts take.

(No Streamlit: the training part stores wide tables and the charts want long ones.)
"""

from __future__ import annotations

import pandas as pd

BOOKKEEPING = ("epoch", "batches", "time_s")
NOT_METRICS = ("n",)  # counts stored beside the metrics


def history_long(history: pd.DataFrame) -> pd.DataFrame:
    """Keras' wide history (``loss``, ``val_loss``, ...) as ``epoch, metric, split, value``.

    ``split`` is ``training`` or ``validation`` (the ``val_`` prefix); ``kind`` says
    whether the metric is a loss (lower is better) or a score.
    """
    columns = [c for c in history.columns if c not in BOOKKEEPING]
    if history.empty or not columns:
        return pd.DataFrame(columns=["epoch", "metric", "split", "value", "kind"])
    long = history.melt(id_vars=["epoch"], value_vars=columns, var_name="name", value_name="value")
    validation = long["name"].str.startswith("val_")
    long["split"] = validation.map({True: "validation", False: "training"})
    long["metric"] = long["name"].where(~validation, long["name"].str.slice(4))
    long["kind"] = long["metric"].str.endswith("loss").map({True: "loss", False: "score"})
    long = long.dropna(subset=["value"])
    return long[["epoch", "metric", "split", "value", "kind"]].reset_index(drop=True)


def metrics_long(metrics: dict, run: str | None = None) -> pd.DataFrame:
    """A run's test metrics ``{target: {metric: value}}`` as ``target, split, metric,
    value`` (plus ``run``); ``split`` is always "test", so every table says so."""
    rows = [
        {"target": target, "split": "test", "metric": metric, "value": value}
        for target, values in (metrics or {}).items()
        if isinstance(values, dict)
        for metric, value in values.items()
        if metric not in NOT_METRICS
        and isinstance(value, int | float)
        and not isinstance(value, bool)
    ]
    frame = pd.DataFrame(rows, columns=["target", "split", "metric", "value"])
    if run is not None:
        frame.insert(0, "run", run)
    return frame
