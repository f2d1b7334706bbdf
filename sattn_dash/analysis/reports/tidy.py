"""Pure reshaping of stored run files into the tidy frames the charts take.

(No Streamlit: the training part stores wide tables and the charts want long ones.)
"""

from __future__ import annotations

import pandas as pd

BOOKKEEPING = ("epoch", "batches", "time_s")
NOT_METRICS = ("n",)  # counts stored beside the metrics


METRIC_WORDS = {"accuracy": "accuracy", "auc": "ROC AUC", "rmse": "RMSE", "mae": "MAE"}


def metric_label(
    name: str, targets: list[str] | tuple[str, ...] = (), several: bool = False
) -> str:
    """A Keras history name (without ``val_``) in the user's words: ``loss`` is the
    "total loss" when ``several`` losses are logged, ``head_<target>_loss`` is "<target>
    loss", an ensemble's ``head_<target>_members_<branch>_loss`` is "<target>: <branch>
    members' loss", ``head_<target>_rmse`` is "<target> RMSE"."""
    from sattn_dash.modeling.spec import head_name

    if name == "loss":
        return "total loss" if several else "loss"
    for target in sorted(targets, key=lambda t: -len(head_name(t))):
        head = head_name(target) + "_"
        if not name.startswith(head):
            continue
        rest = name[len(head) :]
        if rest.startswith("members_") and rest.endswith("_loss"):
            return f"{target}: {rest[len('members_') : -len('_loss')]} members' loss"
        return f"{target} {METRIC_WORDS.get(rest, rest)}"
    return METRIC_WORDS.get(name, name)


def history_long(history: pd.DataFrame, targets: list[str] | tuple[str, ...] = ()) -> pd.DataFrame:
    """Keras' wide history (``loss``, ``val_loss``, ...) as ``epoch, metric, split, value,
    kind, label``.

    ``split`` is ``training`` or ``validation`` (the ``val_`` prefix); ``kind`` says
    whether the metric is a loss (lower is better) or a score; ``label`` names it in the
    user's words (``metric_label``; give the run's ``targets`` to name its heads).
    """
    columns = [c for c in history.columns if c not in BOOKKEEPING]
    if history.empty or not columns:
        return pd.DataFrame(columns=["epoch", "metric", "split", "value", "kind", "label"])
    long = history.melt(id_vars=["epoch"], value_vars=columns, var_name="name", value_name="value")
    validation = long["name"].str.startswith("val_")
    long["split"] = validation.map({True: "validation", False: "training"})
    long["metric"] = long["name"].where(~validation, long["name"].str.slice(4))
    long["kind"] = long["metric"].str.endswith("loss").map({True: "loss", False: "score"})
    long = long.dropna(subset=["value"])
    several = long.loc[long["kind"] == "loss", "metric"].nunique() > 1
    long["label"] = long["metric"].map(lambda m: metric_label(m, targets, several))
    return long[["epoch", "metric", "split", "value", "kind", "label"]].reset_index(drop=True)


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
