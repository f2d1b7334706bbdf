"""How good is a set of predictions, in one number per target, and which way is better?

Ablation, permutation and temperature what-ifs all ask: how much worse did the model
get? The metrics themselves are training's (``sattn_dash.training.evaluation``), so a
number here means exactly what it means on the run page. Each task has one headline
metric, and ``worsening`` turns any change into "positive means the model lost skill".
"""

from __future__ import annotations

import numpy as np

from sattn_dash.errors import SpecError
from sattn_dash.training import evaluation
from sattn_dash.training.evaluation import classification_metrics, regression_metrics

#: The metric each task's importances are measured in (ROC AUC is one-vs-rest macro for
#: several classes); a caller can pick another one by name.
HEADLINE_METRIC = {"binary": "roc_auc", "multiclass": "roc_auc", "regression": "r2"}

#: What a branch's ablation is scored in: a measure that moves with every change in the
#: predictions. ROC AUC moves only when rows swap order, so on an easy table every
#: branch looked redundant while its removal shifted every probability (breast_cancer:
#: ROC AUC -0.002, log loss +0.40 without the all-columns branch).
ABLATION_METRIC = {"binary": "log_loss", "multiclass": "log_loss", "regression": "r2"}

#: The metrics training reports for each task (``sattn_dash.training.evaluation``).
METRICS = {
    "binary": ("roc_auc", "accuracy", "balanced_accuracy", "log_loss"),
    "multiclass": ("roc_auc", "accuracy", "balanced_accuracy", "log_loss"),
    "regression": ("r2", "rmse", "mae"),
}
_LOWER_IS_BETTER = {"log_loss", "rmse", "mae"}


def higher_is_better(metric: str) -> bool:
    return metric not in _LOWER_IS_BETTER


def worsening(metric: str, before: float, after: float) -> float:
    """How much worse ``after`` is than ``before``: positive means the model lost skill.
    Rounded to 12 decimals, so "no change" reads 0 rather than 1e-16."""
    change = before - after if higher_is_better(metric) else after - before
    return round(float(change), 12)


def score(task: str, y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """The scalar metrics of one target, from what its head outputs (probabilities for
    classes, values in the target's units for regression)."""
    if task == "regression":
        result = regression_metrics(y_true, y_pred)
    else:
        result = classification_metrics(y_true, y_pred)
    return {
        k: float(v)
        for k, v in result.items()
        if k != "n" and isinstance(v, int | float | np.floating)
    }


def headline(task: str, y_true: np.ndarray, y_pred: np.ndarray, metric: str | None = None) -> float:
    """One metric of one target: the task's headline metric unless ``metric`` is given.

    Permutation and ablation call this hundreds of times, so ROC AUC is computed alone
    (with training's own function) instead of with every other classification metric.
    """
    metric = metric or HEADLINE_METRIC[task]
    if metric == "roc_auc" and task != "regression":
        codes = np.asarray(y_true).astype(np.int64).reshape(-1)
        return evaluation._roc_auc(codes, evaluation._as_class_probabilities(y_pred))
    return score(task, y_true, y_pred).get(metric, float("nan"))


def metric_for(
    task: str, metric: str | None, target: str = "the target", defaults=HEADLINE_METRIC
) -> str:
    """``metric``, checked against the task, or the task's default (``defaults``)."""
    if metric is None:
        return defaults[task]
    if metric not in METRICS[task]:
        raise SpecError(
            f"Metric {metric!r} does not apply to {target!r} ({task}); choose one of "
            f"{', '.join(METRICS[task])}, or leave it empty for {defaults[task]}."
        )
    return metric
