"""What would a simpler model have scored on the same split?

A dummy, a linear model and gradient-boosted trees, fitted on the training split of the
same ``PreparedData`` and scored with the same metrics as the trained model. If the
attention ensemble does not beat gradient boosting, the user should know.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
from threadpoolctl import threadpool_limits

from sattn_dash.analysis.scoring import HEADLINE_METRIC, higher_is_better, score
from sattn_dash.training.atomic import json_safe

if TYPE_CHECKING:
    from sattn_dash.tabular.prepared import PreparedData

COLUMNS = ["target", "task", "model", "split", "metric", "value"]
#: Histogram gradient boosting treats a column as categorical only up to this many codes.
_MAX_TREE_CATEGORIES = 254


def _estimators(task: str, prepared: PreparedData, seed: int) -> dict[str, object]:
    """The baseline estimators for one task, by display name."""
    codes = list(prepared.categorical_features)
    tree_categorical = [
        c for c, card in prepared.categorical_features.items() if card <= _MAX_TREE_CATEGORIES
    ]
    one_hot = ColumnTransformer(
        [("codes", OneHotEncoder(handle_unknown="ignore"), codes)], remainder="passthrough"
    )
    tree_args = {
        "random_state": seed,
        "categorical_features": tree_categorical or None,
    }
    if task == "regression":
        return {
            "dummy (mean)": DummyRegressor(strategy="mean"),
            "ridge regression": make_pipeline(one_hot, Ridge(alpha=1.0)),
            "gradient boosting": HistGradientBoostingRegressor(**tree_args),
        }
    return {
        "dummy (class prior)": DummyClassifier(strategy="prior"),
        "logistic regression": make_pipeline(one_hot, LogisticRegression(max_iter=2000)),
        "gradient boosting": HistGradientBoostingClassifier(**tree_args),
    }


def _predict(estimator, task: str, X: pd.DataFrame, n_classes: int) -> np.ndarray:
    if task == "regression":
        return estimator.predict(X)
    proba = np.zeros((len(X), n_classes))
    proba[:, estimator.classes_.astype(int)] = estimator.predict_proba(X)
    return proba[:, 1] if task == "binary" else proba


def sklearn_baselines(
    prepared: PreparedData,
    splits: Sequence[str] = ("test",),
    seed: int | None = None,
    streamed=None,
) -> pd.DataFrame:
    """Scores of the scikit-learn baselines, one row per (target, model, split, metric).

    With `streamed` (the `StreamedData` a run trained on), they are fitted on the
    sample's training rows and scored on every row of each split of the table, a record
    batch at a time, as the run itself was.

    The estimators run on one thread: gradient boosting's OpenMP threads spin-wait when
    the cores are busy (a model training beside it, other users), which made it 25x
    slower on a loaded 2-core machine, while one thread costs little on these sizes.
    """
    with threadpool_limits(limits=1):
        seed = prepared.seed if seed is None else seed
        return _sklearn_baselines(prepared, splits, seed, streamed)


def _sklearn_baselines(
    prepared: PreparedData, splits: Sequence[str], seed: int, streamed
) -> pd.DataFrame:
    rows = []
    for target, task in prepared.tasks.items():
        y_train = prepared.y_train[target]
        if task != "regression":
            y_train = y_train.astype(np.int64)
        fitted = {
            name: estimator.fit(prepared.X_train, y_train)
            for name, estimator in _estimators(task, prepared, seed).items()
        }
        for split in splits:
            y, predicted = _split_predictions(fitted, target, prepared, split, streamed)
            for name, y_hat in predicted.items():
                for metric, value in score(task, y, y_hat).items():
                    rows.append((target, task, name, split, metric, value))
    return pd.DataFrame(rows, columns=COLUMNS)


def _split_predictions(fitted: dict, target: str, prepared: PreparedData, split: str, streamed):
    """True values of `target` on one split and each fitted baseline's predictions:
    from the prepared arrays, or from a streamed table a record batch at a time."""
    task = prepared.tasks[target]
    n_classes = len(prepared.classes.get(target) or []) or 2
    if streamed is None:
        batches = [prepared.split(split)]
    else:
        batches = (
            (pd.DataFrame(X, columns=prepared.feature_names), y) for X, y in streamed.chunks(split)
        )
    truth, predicted = [], {name: [] for name in fitted}
    for X, y in batches:
        truth.append(np.asarray(y[target]))
        for name, estimator in fitted.items():
            predicted[name].append(_predict(estimator, task, X, n_classes))
    if not truth:
        return np.zeros(0), {name: np.zeros(0) for name in fitted}
    return np.concatenate(truth), {name: np.concatenate(p) for name, p in predicted.items()}


def summary(results: pd.DataFrame) -> pd.DataFrame:
    """Per target and split: each model's headline metric and its gain over the dummy."""
    rows = []
    for (target, task, split), part in results.groupby(["target", "task", "split"], sort=False):
        metric = HEADLINE_METRIC[task]
        scores = part[part["metric"] == metric].set_index("model")["value"]
        dummies = [m for m in scores.index if m.startswith("dummy")]
        dummy = scores[dummies[0]] if dummies else float("nan")
        sign = 1.0 if higher_is_better(metric) else -1.0
        for model, value in scores.items():
            rows.append(
                {
                    "target": target,
                    "split": split,
                    "model": model,
                    "metric": metric,
                    "value": value,
                    "gain_over_dummy": sign * (value - dummy),
                }
            )
    return pd.DataFrame(rows)


def records(frame: pd.DataFrame) -> list[dict]:
    """A table as JSON-safe records (NaN becomes null), for ``--json`` output."""
    return json_safe(frame.to_dict(orient="records"))


def baselines_report(
    df: pd.DataFrame,
    targets,
    seed: int = 0,
    test_size: float = 0.2,
    val_size: float = 0.2,
    splits: Sequence[str] = ("val", "test"),
    streamed=None,
) -> dict:
    """Baselines for a table, JSON-safe, for ``python -m sattn_dash baselines``.

    ``targets`` is a ``Schema`` or one target column name or a list of them (the schema
    is then inferred as the app would). A ``streamed`` table (``StreamedData``; then
    ``df`` and ``targets`` are unused) is scored on every row of each split.
    """
    from sattn_dash.tabular import Schema, infer_schema, prepare

    if streamed is not None:
        prepared = streamed.prepared
    else:
        schema = targets if isinstance(targets, Schema) else infer_schema(df, targets=targets)
        prepared = prepare(df, schema, seed=seed, test_size=test_size, val_size=val_size)
    results = sklearn_baselines(prepared, splits, seed, streamed)
    return {
        "targets": {t: task for t, task in prepared.tasks.items()},
        "seed": seed,
        "rows": dict((streamed or prepared).rows),
        "features": len(prepared.feature_names),
        "summary": records(summary(results)),
        "results": records(results),
    }


def format_report(report: dict) -> str:
    """``baselines_report`` as plain text for the terminal: one block per target/split."""
    rows = pd.DataFrame(report["summary"])
    sizes = ", ".join(f"{n} {split}" for split, n in report.get("rows", {}).items())
    lines = [f"Baselines (seed {report['seed']}" + (f"; rows: {sizes})" if sizes else ")")]
    for (target, split), part in rows.groupby(["target", "split"], sort=False):
        metric = part["metric"].iloc[0]
        lines.append(f"\n{target} ({report['targets'][target]}), {split} split, {metric}:")
        for row in part.itertuples():
            value = "n/a" if row.value is None or pd.isna(row.value) else f"{row.value:.4f}"
            gain = (
                "" if pd.isna(row.gain_over_dummy) else f"  ({row.gain_over_dummy:+.4f} vs dummy)"
            )
            lines.append(f"  {row.model:<24} {value}{gain}")
    return "\n".join(lines)


def leaderboard(baselines: pd.DataFrame, run, target: str) -> pd.DataFrame:
    """The headline test metric of every baseline and of `run` for one target: ``model,
    metric, value, who`` ("this run" or "baseline"), best first."""
    rows = baselines[(baselines["target"] == target) & (baselines["split"] == "test")]
    task = run.tasks.get(target, rows["task"].iloc[0] if len(rows) else "")
    metric = HEADLINE_METRIC.get(task, "")
    rows = rows[rows["metric"] == metric][["model", "metric", "value"]].copy()
    ours = (run.metrics or {}).get(target, {}).get(metric)
    if ours is not None and not rows["model"].str.startswith("your model").any():
        mine = pd.DataFrame([{"model": f"this run: {run.title}", "metric": metric, "value": ours}])
        rows = pd.concat([rows, mine], ignore_index=True)
    rows["who"] = np.where(
        rows["model"].str.startswith(("this run", "your model")), "this run", "baseline"
    )
    return rows.sort_values("value", ascending=False, ignore_index=True)
