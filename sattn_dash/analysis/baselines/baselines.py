"""What would a simpler model have scored on the same split?

A dummy, a linear model and three gradient-boosted trees (scikit-learn's
HistGradientBoosting, LightGBM and CatBoost, each at its library defaults), fitted on the
training split of the same ``PreparedData`` and scored with the same metrics as the
trained model, each with its fit time. Integer-coded categorical columns reach the trees
as categorical (HistGradientBoosting's ``categorical_features``, a pandas category dtype
for LightGBM, ``cat_features`` for CatBoost); one-hot columns stay 0/1. On request a
LightGBM tuned by Optuna on the validation split joins them (``tuned_lightgbm``). If the
attention ensemble does not beat the trees, the user should know.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder
from threadpoolctl import threadpool_limits

from sattn_dash.analysis.scoring import HEADLINE_METRIC, higher_is_better, score
from sattn_dash.files import json_safe

if TYPE_CHECKING:
    from sattn_dash.tabular.prepared import PreparedData

COLUMNS = ["target", "task", "model", "split", "metric", "value"]
#: Seconds the model's fit took (the same on every row of one model and target).
FIT_SECONDS = "fit_seconds"
#: Histogram gradient boosting treats a column as categorical only up to this many codes.
_MAX_TREE_CATEGORIES = 254
#: Threads every baseline fits on: scikit-learn's and LightGBM's OpenMP threads and
#: CatBoost's ``thread_count``. One thread: OpenMP threads spin-wait when the cores are
#: busy (a model training beside it, other users), which made gradient boosting 25x
#: slower on a loaded 2-core machine, while one thread costs little on these sizes.
BASELINE_THREADS = 1
#: The model names of the trees, as the leaderboard shows them.
TREES = ("gradient boosting", "LightGBM", "CatBoost")
#: What a tuning trial is judged by on the validation rows: the log loss for classes
#: (accuracy and AUC move in steps on small splits), R^2 for regression.
TUNING_METRIC = {"binary": "log_loss", "multiclass": "log_loss", "regression": "r2"}
#: A tuning trial costs about this many default LightGBM fits: the search space's trees
#: (50 to 300 of 4 to 128 leaves, against the default's 100 of 31) take about 1.5x on
#: average (10 trials on three bundled samples took 0.5x to 1.2x of the estimate).
TRIAL_COST = 1.5


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
        simple = {
            "dummy (mean)": DummyRegressor(strategy="mean"),
            "ridge regression": make_pipeline(one_hot, Ridge(alpha=1.0)),
            "gradient boosting": HistGradientBoostingRegressor(**tree_args),
        }
    else:
        simple = {
            "dummy (class prior)": DummyClassifier(strategy="prior"),
            "logistic regression": make_pipeline(one_hot, LogisticRegression(max_iter=2000)),
            "gradient boosting": HistGradientBoostingClassifier(**tree_args),
        }
    return {
        **simple,
        "LightGBM": lightgbm_model(task, prepared, seed),
        "CatBoost": catboost_model(task, prepared, seed),
    }


def lightgbm_model(task: str, prepared, seed: int, **params) -> object:
    """LightGBM at its defaults (or with ``params``), the coded columns as pandas
    categories, on ``BASELINE_THREADS`` threads."""
    import lightgbm as lgb

    kind = lgb.LGBMRegressor if task == "regression" else lgb.LGBMClassifier
    model = kind(random_state=seed, n_jobs=BASELINE_THREADS, verbose=-1, **params)
    cards = dict(prepared.categorical_features)
    return make_pipeline(FunctionTransformer(_as_categories, kw_args={"cards": cards}), model)


def catboost_model(task: str, prepared, seed: int) -> object:
    """CatBoost at its defaults, the coded columns as ``cat_features``, on
    ``BASELINE_THREADS`` threads, writing no files."""
    import catboost as cb

    kind = cb.CatBoostRegressor if task == "regression" else cb.CatBoostClassifier
    codes = list(prepared.categorical_features)
    model = kind(
        random_seed=seed,
        thread_count=BASELINE_THREADS,
        cat_features=codes or None,
        verbose=False,
        allow_writing_files=False,
    )
    return make_pipeline(FunctionTransformer(_as_integers, kw_args={"codes": codes}), model)


def _as_categories(X: pd.DataFrame, cards: dict[str, int]) -> pd.DataFrame:
    """The integer-coded columns as pandas categories with every code of the training
    split, so LightGBM treats them as categorical the same way in fit and predict."""
    if not cards:
        return X
    X = X.copy()
    for name, card in cards.items():
        X[name] = pd.Categorical(_codes(X[name]), categories=range(card))
    return X


def _as_integers(X: pd.DataFrame, codes: list[str]) -> pd.DataFrame:
    """The integer-coded columns as integers (CatBoost's categorical columns may not be
    floats)."""
    if not codes:
        return X
    X = X.copy()
    for name in codes:
        X[name] = _codes(X[name])
    return X


def _codes(column: pd.Series) -> np.ndarray:
    return np.rint(np.nan_to_num(column.to_numpy(dtype=np.float64))).astype(np.int64)


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
    """Scores of the baselines, one row per (target, model, split, metric), with each
    model's fit time in seconds (``FIT_SECONDS``).

    With `streamed` (the `StreamedData` a run trained on), they are fitted on the
    sample's training rows and scored on every row of each split of the table, a record
    batch at a time, as the run itself was. Every estimator fits on
    ``BASELINE_THREADS`` threads.
    """
    with threadpool_limits(limits=BASELINE_THREADS):
        seed = prepared.seed if seed is None else seed
        return _sklearn_baselines(prepared, splits, seed, streamed)


def _sklearn_baselines(
    prepared: PreparedData, splits: Sequence[str], seed: int, streamed
) -> pd.DataFrame:
    rows = []
    for target, task in prepared.tasks.items():
        y_train = _train_target(prepared, target)
        fitted, seconds = {}, {}
        for name, estimator in _estimators(task, prepared, seed).items():
            started = time.perf_counter()
            fitted[name] = estimator.fit(prepared.X_train, y_train)
            seconds[name] = time.perf_counter() - started
        rows += _scored(fitted, seconds, target, prepared, splits, streamed)
    return pd.DataFrame(rows, columns=[*COLUMNS, FIT_SECONDS])


def _train_target(prepared, target: str) -> np.ndarray:
    y = prepared.y_train[target]
    return y if prepared.tasks[target] == "regression" else y.astype(np.int64)


def _scored(fitted: dict, seconds: dict, target: str, prepared, splits, streamed) -> list:
    """Rows of ``COLUMNS`` + fit seconds for each fitted model on each split."""
    task = prepared.tasks[target]
    rows = []
    for split in splits:
        y, predicted = _split_predictions(fitted, target, prepared, split, streamed)
        for name, y_hat in predicted.items():
            for metric, value in score(task, y, y_hat).items():
                rows.append((target, task, name, split, metric, value, seconds[name]))
    return rows


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


def tuned_name(trials: int) -> str:
    """The leaderboard's name of the LightGBM tuned with ``trials`` trials."""
    return f"LightGBM (tuned, {trials} trials)"


def tuning_estimate(results: pd.DataFrame, trials: int) -> float:
    """Seconds a tuning of ``trials`` trials should take, from the default LightGBM's fit
    time in ``results`` (``sklearn_baselines``' rows): per target, ``trials`` fits of
    about ``TRIAL_COST`` default fits, and one more to refit the best."""
    default = results[results["model"] == "LightGBM"].groupby("target")[FIT_SECONDS].first()
    return float(default.sum() * (trials * TRIAL_COST + 1))


def tuned_lightgbm(
    prepared,
    trials: int,
    splits: Sequence[str] = ("test",),
    seed: int | None = None,
    streamed=None,
    progress: Callable[[float, str], None] | None = None,
) -> pd.DataFrame:
    """A LightGBM tuned by Optuna, scored like the other baselines (same columns).

    Per target, ``trials`` settings are each fitted on the training rows and judged on
    the validation rows alone (``TUNING_METRIC``); the best is refitted on the training
    rows and scored on ``splits``. The test rows are never read while tuning. Its fit time
    is the whole tuning's. ``progress(share, message)`` is called after every trial.
    """
    from sattn_dash.errors import UserError

    if trials < 1:
        raise UserError(f"Tuning needs at least one trial; got {trials}.")
    seed = prepared.seed if seed is None else seed
    name, rows = tuned_name(trials), []
    targets = list(prepared.tasks)
    with threadpool_limits(limits=BASELINE_THREADS):
        for i, target in enumerate(targets):
            started = time.perf_counter()

            def told(done: int, value: float, i=i, target=target) -> None:
                if progress is not None:
                    share = (i + done / trials) / len(targets)
                    progress(share, f"{target}: trial {done} of {trials}, best {value:.4f}")

            params = tune_lightgbm(prepared, target, trials, seed, told)
            model = lightgbm_model(prepared.tasks[target], prepared, seed, **params)
            model.fit(prepared.X_train, _train_target(prepared, target))
            seconds = {name: time.perf_counter() - started}
            rows += _scored({name: model}, seconds, target, prepared, splits, streamed)
    return pd.DataFrame(rows, columns=[*COLUMNS, FIT_SECONDS])


def tune_lightgbm(
    prepared, target: str, trials: int, seed: int, told: Callable[[int, float], None]
) -> dict:
    """The best LightGBM settings for ``target`` after ``trials`` Optuna (TPE) trials,
    each fitted on the training rows and scored on the validation rows only."""
    import optuna

    task = prepared.tasks[target]
    metric = TUNING_METRIC[task]
    n_classes = len(prepared.classes.get(target) or []) or 2
    y_train, y_val = _train_target(prepared, target), prepared.y_val[target]

    def objective(trial) -> float:
        params = {
            "n_estimators": trial.suggest_int("n_estimators", 50, 300, log=True),
            "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
            "num_leaves": trial.suggest_int("num_leaves", 4, 128, log=True),
            "min_child_samples": trial.suggest_int("min_child_samples", 2, 100, log=True),
            "subsample": trial.suggest_float("subsample", 0.5, 1.0),
            "subsample_freq": 1,
            "colsample_bytree": trial.suggest_float("colsample_bytree", 0.4, 1.0),
            "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 10.0, log=True),
        }
        model = lightgbm_model(task, prepared, seed, **params).fit(prepared.X_train, y_train)
        predicted = _predict(model, task, prepared.X_val, n_classes)
        return score(task, y_val, predicted)[metric]

    study = optuna.create_study(
        direction="maximize" if higher_is_better(metric) else "minimize",
        sampler=optuna.samplers.TPESampler(seed=seed),
    )
    study.optimize(
        objective,
        n_trials=trials,
        callbacks=[lambda study, trial: told(len(study.trials), study.best_value)],
    )
    return {**study.best_params, "subsample_freq": 1}


def summary(results: pd.DataFrame) -> pd.DataFrame:
    """Per target and split: each model's headline metric, its gain over the dummy and
    its fit time."""
    rows = []
    for (target, task, split), part in results.groupby(["target", "task", "split"], sort=False):
        metric = HEADLINE_METRIC[task]
        headline = part[part["metric"] == metric].set_index("model")
        scores = headline["value"]
        seconds = headline.get(FIT_SECONDS, pd.Series(np.nan, index=headline.index))
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
                    FIT_SECONDS: seconds[model],
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
    tune_trials: int = 0,
    say: Callable[[str], None] | None = None,
) -> dict:
    """Baselines for a table, JSON-safe, for ``python -m sattn_dash baselines``.

    ``targets`` is a ``Schema`` or one target column name or a list of them (the schema
    is then inferred as the app would). A ``streamed`` table (``StreamedData``; then
    ``df`` and ``targets`` are unused) is scored on every row of each split. With
    ``tune_trials`` a LightGBM tuned by Optuna joins them (``tuned_lightgbm``); its
    time estimate is told to ``say`` before it starts.
    """
    from sattn_dash.tabular import Schema, infer_schema, prepare

    if streamed is not None:
        prepared = streamed.prepared
    else:
        schema = targets if isinstance(targets, Schema) else infer_schema(df, targets=targets)
        prepared = prepare(df, schema, seed=seed, test_size=test_size, val_size=val_size)
    results = sklearn_baselines(prepared, splits, seed, streamed)
    if tune_trials:
        if say is not None:
            estimate = tuning_estimate(results, tune_trials)
            say(f"Tuning LightGBM: {tune_trials} trials, about {estimate:.0f} s.")
        tuned = tuned_lightgbm(prepared, tune_trials, splits, seed, streamed)
        results = pd.concat([results, tuned], ignore_index=True)
    return {
        "targets": {t: task for t, task in prepared.tasks.items()},
        "seed": seed,
        "rows": dict((streamed or prepared).rows),
        "features": len(prepared.feature_names),
        "summary": records(summary(results)),
        "results": records(results),
    }


def format_report(report: dict) -> str:
    """``baselines_report`` as plain text for the terminal: one block per target/split,
    each model with its fit time."""
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
            seconds = getattr(row, FIT_SECONDS, None)
            fit = "" if seconds is None or pd.isna(seconds) else f"  fit {seconds:.2f} s"
            lines.append(f"  {row.model:<28} {value}{gain}{fit}")
    lines.append(f"\nBaselines fit on {BASELINE_THREADS} thread(s) each.")
    return "\n".join(lines)


def leaderboard(baselines: pd.DataFrame, run, target: str) -> pd.DataFrame:
    """The headline test metric of every baseline and of `run` for one target: ``model,
    metric, value[, fit_seconds], who`` ("this run" or "baseline"), best first (the
    Importance page's leaderboard and the run report's)."""
    rows = baselines[(baselines["target"] == target) & (baselines["split"] == "test")]
    task = run.tasks.get(target, rows["task"].iloc[0] if len(rows) else "")
    metric = HEADLINE_METRIC.get(task, "")
    shown = ["model", "metric", "value", *(["fit_seconds"] if "fit_seconds" in rows else [])]
    rows = rows[rows["metric"] == metric][shown].copy()
    ours = (run.metrics or {}).get(target, {}).get(metric)
    if ours is not None and not rows["model"].str.startswith("your model").any():
        mine = pd.DataFrame([{"model": f"this run: {run.title}", "metric": metric, "value": ours}])
        rows = pd.concat([rows, mine], ignore_index=True)
    rows["who"] = np.where(
        rows["model"].str.startswith(("this run", "your model")), "this run", "baseline"
    )
    return rows.sort_values("value", ascending=False, ignore_index=True)
