"""How far to trust the predictions: calibration for classes, intervals for numbers.

Classification: a reliability diagram (predicted probability against the observed
frequency, in equal-width bins), the expected calibration error (ECE: the bins' gaps
weighted by their rows), precision / recall / the confusion matrix at any decision
threshold, and for several classes the full confusion matrix of the predicted class. Regression: residuals against predictions and split-conformal prediction
intervals (Lei et al. 2018): the ``coverage`` quantile of absolute residuals on a
calibration split the model was not fitted on, added either side of each prediction.
Guaranteed to cover at least ``coverage`` of new rows from the same distribution.

Pure NumPy/pandas: the run-level twins read stored test predictions (no TensorFlow for
classification); conformal intervals need the model's predictions on the calibration
split.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sattn_dash.errors import SpecError

if TYPE_CHECKING:
    from sattn_dash.training.run import Run

DEFAULT_BINS = 10
DEFAULT_COVERAGE = 0.9


def _probabilities(probabilities) -> np.ndarray:
    p = np.asarray(probabilities, dtype=float)
    return p.reshape(len(p), -1)


def reliability(y_codes, probabilities, bins: int = DEFAULT_BINS) -> pd.DataFrame:
    """One row per non-empty bin: ``bin, lower, upper, rows, mean_predicted, observed,
    gap``. Binary (one probability column, or two): the probability of class 1 against
    the share of rows that are class 1. Several classes: the top class's probability
    against how often the top class is right."""
    if not isinstance(bins, int) or bins < 2:
        raise SpecError(f"The number of bins must be a whole number of at least 2, got {bins!r}.")
    y = np.asarray(y_codes).astype(np.int64).reshape(-1)
    p = _probabilities(probabilities)
    if p.shape[1] <= 2:
        confidence, outcome = p[:, -1], (y == 1).astype(float)
    else:
        confidence, outcome = p.max(axis=1), (p.argmax(axis=1) == y).astype(float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    rows = []
    for b in range(bins):
        inside = which == b
        if not inside.any():
            continue
        predicted, observed = confidence[inside].mean(), outcome[inside].mean()
        rows.append((b, edges[b], edges[b + 1], int(inside.sum()), predicted, observed))
    frame = pd.DataFrame(
        rows, columns=["bin", "lower", "upper", "rows", "mean_predicted", "observed"]
    )
    frame["gap"] = frame["observed"] - frame["mean_predicted"]
    return frame


def expected_calibration_error(table: pd.DataFrame) -> float:
    """ECE of a ``reliability`` table: sum over bins of rows/N * |observed - predicted|."""
    if table.empty:
        return float("nan")
    weights = table["rows"] / table["rows"].sum()
    return float((weights * table["gap"].abs()).sum())


def threshold_table(y_positive, probability, thresholds=None) -> pd.DataFrame:
    """For each decision threshold (predict positive when probability >= threshold):
    ``threshold, tp, fp, fn, tn, precision, recall, f1, accuracy, positive_share``.
    Precision is NaN where nothing is predicted positive."""
    y = np.asarray(y_positive).astype(bool).reshape(-1)
    p = np.asarray(probability, dtype=float).reshape(-1)
    thresholds = np.round(np.linspace(0, 1, 101), 2) if thresholds is None else thresholds
    rows = []
    for t in np.asarray(thresholds, dtype=float):
        predicted = p >= t
        tp = int((predicted & y).sum())
        fp = int((predicted & ~y).sum())
        fn = int((~predicted & y).sum())
        tn = int((~predicted & ~y).sum())
        precision = tp / (tp + fp) if tp + fp else math.nan
        recall = tp / (tp + fn) if tp + fn else math.nan
        f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else math.nan
        rows.append(
            (t, tp, fp, fn, tn, precision, recall, f1, (tp + tn) / max(len(y), 1), predicted.mean())
        )
    return pd.DataFrame(
        rows,
        columns=[
            "threshold", "tp", "fp", "fn", "tn", "precision", "recall", "f1", "accuracy",
            "positive_share",
        ],
    )  # fmt: skip


def confusion_at(row: pd.Series, positive: str, negative: str) -> pd.DataFrame:
    """A ``threshold_table`` row as a tidy 2x2 confusion matrix: ``true, predicted,
    rows, share``."""
    cells = [
        (positive, positive, row["tp"]),
        (positive, negative, row["fn"]),
        (negative, positive, row["fp"]),
        (negative, negative, row["tn"]),
    ]
    frame = pd.DataFrame(cells, columns=["true", "predicted", "rows"])
    frame["rows"] = frame["rows"].astype(int)
    frame["share"] = frame["rows"] / max(int(frame["rows"].sum()), 1)
    return frame


def class_confusion(y_codes, probabilities, labels: list[str]) -> pd.DataFrame:
    """The full confusion matrix of the predicted class (the most probable one) against
    the true class, every pair of ``labels`` included: ``true, predicted, rows, share``,
    where ``share`` is the cell's share of its true class's rows (each row of the matrix
    sums to 1; 0 for a class with no rows)."""
    y = np.asarray(y_codes).astype(np.int64).reshape(-1)
    predicted = _probabilities(probabilities).argmax(axis=1)
    k = len(labels)
    counts = np.zeros((k, k), dtype=np.int64)
    np.add.at(counts, (y, predicted), 1)
    totals = counts.sum(axis=1, keepdims=True)
    shares = counts / np.maximum(totals, 1)
    return pd.DataFrame(
        [
            (labels[i], labels[j], int(counts[i, j]), float(shares[i, j]))
            for i in range(k)
            for j in range(k)
        ],
        columns=["true", "predicted", "rows", "share"],
    )


def residuals(y_true, predicted) -> pd.DataFrame:
    """``prediction, true, residual`` (true - predicted) per row."""
    y = np.asarray(y_true, dtype=float).reshape(-1)
    p = np.asarray(predicted, dtype=float).reshape(-1)
    return pd.DataFrame({"prediction": p, "true": y, "residual": y - p})


def conformal_half_width(y_calibration, predicted_calibration, coverage=DEFAULT_COVERAGE) -> float:
    """The split-conformal half-width: the ceil((n + 1) * coverage)-th smallest absolute
    calibration residual (inf when the calibration split is too small for ``coverage``)."""
    if not 0 < coverage < 1:
        raise SpecError(f"Coverage must be between 0 and 1 (e.g. 0.9), got {coverage!r}.")
    scores = np.sort(np.abs(residuals(y_calibration, predicted_calibration)["residual"]))
    k = math.ceil((len(scores) + 1) * coverage)
    return float(scores[k - 1]) if k <= len(scores) else math.inf


def conformal_intervals(
    y_calibration, predicted_calibration, predicted, y_true=None, coverage=DEFAULT_COVERAGE
) -> pd.DataFrame:
    """Intervals for ``predicted``: ``prediction, lower, upper, half_width`` (+ ``true,
    covered`` given ``y_true``), with ``coverage`` and ``calibration_rows``."""
    width = conformal_half_width(y_calibration, predicted_calibration, coverage)
    p = np.asarray(predicted, dtype=float).reshape(-1)
    frame = pd.DataFrame({"prediction": p, "lower": p - width, "upper": p + width})
    frame["half_width"] = width
    if y_true is not None:
        y = np.asarray(y_true, dtype=float).reshape(-1)
        frame["true"] = y
        frame["covered"] = (frame["lower"] <= y) & (y <= frame["upper"])
    frame["coverage"] = coverage
    frame["calibration_rows"] = len(np.asarray(y_calibration).reshape(-1))
    return frame


# -- stored runs ----------------------------------------------------------------------
def _classification_columns(run: Run, target: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Test-split class codes, probabilities and class labels from ``run.predictions``."""
    task = run.tasks.get(target)
    if task not in ("binary", "multiclass"):
        raise SpecError(
            f"{target!r} is a {task} target: calibration diagrams and thresholds are for "
            "classes; for numbers, see residuals and prediction intervals."
        )
    frame = run.predictions
    prefix = f"{target}_proba_"
    labels = [c[len(prefix) :] for c in frame.columns if c.startswith(prefix)]
    if frame.empty or not labels or f"{target}_true" not in frame:
        raise SpecError(f"Run {run.run_id} has no stored test predictions for {target!r}.")
    code = {label: i for i, label in enumerate(labels)}
    truth = frame[f"{target}_true"].astype(str)
    known = truth.isin(code).to_numpy()
    codes = truth[known].map(code).to_numpy(dtype=np.int64)
    probabilities = frame.loc[known, [prefix + label for label in labels]].to_numpy(dtype=float)
    return codes, probabilities, labels


def reliability_for_run(run: Run, target: str, bins: int = DEFAULT_BINS) -> pd.DataFrame:
    """``reliability`` of a classification target on the run's test split, with ``ece``."""
    codes, probabilities, _ = _classification_columns(run, target)
    table = reliability(codes, probabilities, bins)
    return table.assign(target=target, ece=expected_calibration_error(table))


def threshold_table_for_run(run: Run, target: str, positive: str | None = None) -> pd.DataFrame:
    """``threshold_table`` on the test split for ``positive`` (binary: the second class;
    several classes: one class against the rest, the first by default)."""
    codes, probabilities, labels = _classification_columns(run, target)
    positive = positive if positive is not None else labels[1 if len(labels) == 2 else 0]
    if positive not in labels:
        raise SpecError(f"{positive!r} is not a class of {target!r}; pick one of {labels}.")
    j = labels.index(positive)
    return threshold_table(codes == j, probabilities[:, j]).assign(target=target, positive=positive)


def class_confusion_for_run(run: Run, target: str) -> pd.DataFrame:
    """``class_confusion`` of a classification target on the run's test split."""
    codes, probabilities, labels = _classification_columns(run, target)
    return class_confusion(codes, probabilities, labels).assign(target=target)


def residuals_for_run(run: Run, target: str) -> pd.DataFrame:
    """``residuals`` of a regression target on the run's test split, with ``row_index``."""
    frame = _regression_predictions(run, target)
    return residuals(frame[f"{target}_true"], frame[f"{target}_pred"]).assign(
        row_index=frame["row"].to_numpy(), target=target
    )


def _regression_predictions(run: Run, target: str) -> pd.DataFrame:
    if run.tasks.get(target) != "regression":
        raise SpecError(
            f"{target!r} is not a regression target: residuals and prediction intervals are "
            "for numbers; for classes, see the reliability diagram."
        )
    frame = run.predictions
    if frame.empty or f"{target}_pred" not in frame:
        raise SpecError(f"Run {run.run_id} has no stored test predictions for {target!r}.")
    return frame.dropna(subset=[f"{target}_true", f"{target}_pred"])


def conformal_for_run(run: Run, target: str, coverage: float = DEFAULT_COVERAGE) -> pd.DataFrame:
    """Split-conformal intervals on the run's test rows, calibrated on its validation
    rows (the model's weights were never fitted on them), with ``row_index``."""
    from sattn_dash.training.evaluation import predict_outputs

    test = _regression_predictions(run, target)
    prepared = run.prepared
    X_val, y_val = prepared.split("val")
    if not len(X_val):
        raise SpecError(
            f"Run {run.run_id} has no validation rows to calibrate intervals on; train with "
            "a validation share above 0."
        )
    predicted_val = predict_outputs(run.model, X_val, list(prepared.tasks), once=True)[target]
    frame = conformal_intervals(
        y_val[target], predicted_val, test[f"{target}_pred"], test[f"{target}_true"], coverage
    )
    return frame.assign(row_index=test["row"].to_numpy(), target=target)
