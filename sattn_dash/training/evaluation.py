"""Test-split metrics and predictions, per target.

Classification: accuracy, balanced accuracy, ROC AUC (one-vs-rest macro average for
several classes), log loss and the confusion matrix. Regression: RMSE, MAE and R^2.
A metric that is not defined on the data at hand (ROC AUC when the split holds one
class only) is ``nan`` (``null`` in JSON) rather than an error.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm

if TYPE_CHECKING:
    from sattn_dash.tabular.prepared import PreparedData

PREDICT_BATCH = 4096


def classification_metrics(y_true: np.ndarray, proba: np.ndarray) -> dict[str, Any]:
    """Metrics for class codes ``y_true`` (n,) and class probabilities ``proba`` (n, C)."""
    y_true = np.asarray(y_true).astype(np.int64).reshape(-1)
    if len(y_true) == 0:
        return {"n": 0}
    if not np.isfinite(np.asarray(proba, dtype=np.float64)).all():
        return {"n": len(y_true), "note": "predictions are not finite numbers"}
    proba = _as_class_probabilities(proba)
    labels = np.arange(proba.shape[1])
    y_pred = proba.argmax(axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns about classes absent from y_true
        balanced = skm.balanced_accuracy_score(y_true, y_pred)
        loss = skm.log_loss(y_true, proba, labels=labels)
    return {
        "n": len(y_true),
        "accuracy": float(skm.accuracy_score(y_true, y_pred)),
        "balanced_accuracy": float(balanced),
        "roc_auc": _roc_auc(y_true, proba),
        "log_loss": float(loss),
        "confusion_matrix": skm.confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, Any]:
    y_true = np.asarray(y_true, dtype=np.float64).reshape(-1)
    y_pred = np.asarray(y_pred, dtype=np.float64).reshape(-1)
    if len(y_true) == 0:
        return {"n": 0}
    if not np.isfinite(y_pred).all():
        return {"n": len(y_true), "note": "predictions are not finite numbers"}
    r2 = skm.r2_score(y_true, y_pred) if len(y_true) > 1 else float("nan")
    return {
        "n": len(y_true),
        "rmse": float(np.sqrt(skm.mean_squared_error(y_true, y_pred))),
        "mae": float(skm.mean_absolute_error(y_true, y_pred)),
        "r2": float(r2),
    }


def _as_class_probabilities(proba: np.ndarray) -> np.ndarray:
    """(n,) or (n, 1) probabilities of the positive class become (n, 2); rows sum to 1."""
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim == 1 or proba.shape[1] == 1:
        positive = np.clip(proba.reshape(-1), 0.0, 1.0)
        proba = np.stack([1.0 - positive, positive], axis=1)
    proba = np.clip(proba, 0.0, None)
    totals = proba.sum(axis=1, keepdims=True)
    return np.divide(proba, totals, out=np.full_like(proba, 1.0 / proba.shape[1]), where=totals > 0)


def _roc_auc(y_true: np.ndarray, proba: np.ndarray) -> float:
    """Macro one-vs-rest ROC AUC over the classes that have both positives and negatives."""
    classes = [1] if proba.shape[1] == 2 else range(proba.shape[1])
    scores = []
    for c in classes:
        positive = y_true == c
        if positive.any() and not positive.all():
            scores.append(skm.roc_auc_score(positive, proba[:, c]))
    return float(np.mean(scores)) if scores else float("nan")


def predict_outputs(
    model: Any, X: Any, targets: list[str], *, once: bool = False
) -> dict[str, np.ndarray]:
    """Raw model outputs per target (probabilities for classes, values for regression).

    The rows go through the model in slices of ``PREDICT_BATCH``, each by
    ``model.predict_on_batch``: the same traced predict function and the same batches as
    ``model.predict(X, batch_size=PREDICT_BATCH)``, so the same numbers, without the
    ``tf.data`` pipeline ``predict`` builds on every call (measured 1.2-1.5x faster on
    200,000 rows; bench/bench_predict.py). ``once=True`` calls the model directly
    instead: for a model predicted a single time (a session's final evaluation) that
    skips tracing a predict function, several times faster on small splits.
    """
    from sattn_dash.modeling import head_name

    X = np.asarray(X, dtype=np.float32)
    if not len(X):
        outputs = model.predict(X, batch_size=PREDICT_BATCH, verbose=0)
    elif once:
        outputs = _call_in_chunks(lambda part: model(part, training=False), X)
    else:
        outputs = _call_in_chunks(model.predict_on_batch, X)
    if isinstance(outputs, dict):
        return {t: np.asarray(outputs[head_name(t)]) for t in targets}
    if not isinstance(outputs, list | tuple):
        outputs = [outputs]
    return {t: np.asarray(out) for t, out in zip(targets, outputs, strict=True)}


def _call_in_chunks(call: Any, X: np.ndarray) -> Any:
    """`call` on each slice of ``PREDICT_BATCH`` rows, the outputs joined in order."""
    parts = [call(X[i : i + PREDICT_BATCH]) for i in range(0, len(X), PREDICT_BATCH)]
    first = parts[0]
    if isinstance(first, dict):
        return {k: np.concatenate([np.asarray(p[k]) for p in parts]) for k in first}
    if isinstance(first, list | tuple):
        return [np.concatenate([np.asarray(p[j]) for p in parts]) for j in range(len(first))]
    return np.concatenate([np.asarray(p) for p in parts])


def evaluate_outputs(
    outputs: dict[str, np.ndarray], y: dict[str, np.ndarray], tasks: dict[str, str]
) -> dict[str, dict[str, Any]]:
    """Metrics per target from raw outputs and true values."""
    result = {}
    for target, out in outputs.items():
        if tasks[target] == "regression":
            result[target] = regression_metrics(y[target], out)
        else:
            result[target] = classification_metrics(y[target], out)
    return result


def evaluate_batches(model: Any, batches, tasks: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Metrics per target over `(X, {target: y})` batches (a split too large to hold as
    one array): outputs and true values are gathered, the features never are."""
    outputs: dict[str, list] = {t: [] for t in tasks}
    truth: dict[str, list] = {t: [] for t in tasks}
    for X, y in batches:
        for target, out in predict_outputs(model, X, list(tasks), once=True).items():
            outputs[target].append(out)
            truth[target].append(y[target])
    if not any(truth.values()) or not truth[next(iter(tasks))]:
        return {t: {"n": 0} for t in tasks}
    joined = {t: np.concatenate(v) for t, v in outputs.items()}
    return evaluate_outputs(joined, {t: np.concatenate(v) for t, v in truth.items()}, tasks)


def evaluate(model: Any, prepared: PreparedData, split: str = "test") -> dict[str, dict[str, Any]]:
    """Metrics per target on one split of prepared data (``test`` by default)."""
    X, y = prepared.split(split)
    outputs = predict_outputs(model, X, list(prepared.tasks))
    return evaluate_outputs(outputs, y, prepared.tasks)


def predictions_frame(
    outputs: dict[str, np.ndarray],
    prepared: PreparedData,
    y: dict[str, np.ndarray] | None = None,
    index: Any = None,
) -> pd.DataFrame:
    """One row per sample: ``row`` (original index), then per target ``<t>_true``
    (when known), ``<t>_pred`` and, for classes, ``<t>_proba_<class>``.
    Class columns hold the class labels, not codes."""
    columns: dict[str, Any] = {}
    n = len(next(iter(outputs.values()))) if outputs else 0
    columns["row"] = np.asarray(index) if index is not None else np.arange(n)
    for target, out in outputs.items():
        if prepared.tasks[target] == "regression":
            if y is not None:
                columns[f"{target}_true"] = np.asarray(y[target]).reshape(-1)
            columns[f"{target}_pred"] = np.asarray(out).reshape(-1)
            continue
        labels = list(prepared.classes[target])
        proba = _as_class_probabilities(out)
        if y is not None:
            columns[f"{target}_true"] = [labels[int(c)] for c in np.asarray(y[target])]
        columns[f"{target}_pred"] = [labels[int(c)] for c in proba.argmax(axis=1)]
        for code, label in enumerate(labels):
            columns[f"{target}_proba_{label}"] = proba[:, code]
    return pd.DataFrame(columns)
