"""Baselines (linear, HistGradientBoosting, LightGBM, CatBoost, a tuned LightGBM) on
the same split and metrics as the trained models."""

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from sattn_dash.analysis import (
    BASELINE_THREADS,
    baselines_report,
    format_report,
    sklearn_baselines,
    summary,
    tuned_lightgbm,
    tuning_estimate,
)
from sattn_dash.analysis.baselines.baselines import (
    FIT_SECONDS,
    TREES,
    catboost_model,
    lightgbm_model,
    tune_lightgbm,
)
from sattn_dash.tabular import SAMPLES, infer_schema, load_sample, prepare

MAX_ROWS = 3000  # diamonds has 54k rows; a sample keeps the test quick


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_baselines_beat_the_dummy_on_every_sample(name):
    df = load_sample(name)
    if len(df) > MAX_ROWS:
        df = df.sample(MAX_ROWS, random_state=0)
    report = baselines_report(df, list(SAMPLES[name].targets), seed=0)
    json.dumps(report, allow_nan=False)
    assert report["targets"] == {SAMPLES[name].targets[0]: SAMPLES[name].task}
    rows = pd.DataFrame(report["summary"])
    test = rows[rows["split"] == "test"].set_index("model")
    dummy = test.index[test.index.str.startswith("dummy")]
    assert len(dummy) == 1 and test.loc[dummy[0], "gain_over_dummy"] == 0
    # every real baseline clearly beats predicting the prior / the mean
    assert (test.drop(dummy)["gain_over_dummy"] > 0.1).all(), test


def test_scores_use_the_split_and_metrics_of_training():
    df = load_sample("penguins")
    prepared = prepare(df, infer_schema(df, targets="species"), seed=3)
    frame = sklearn_baselines(prepared, splits=("val", "test"))
    assert set(frame["split"]) == {"val", "test"}
    # training's classification metrics, one row each (no confusion matrix, no counts)
    assert set(frame["metric"]) == {"accuracy", "balanced_accuracy", "roc_auc", "log_loss"}
    dummy = frame[(frame["model"] == "dummy (class prior)") & (frame["metric"] == "accuracy")]
    for split in ("val", "test"):
        y = prepared.split(split)[1]["species"]
        majority = np.bincount(prepared.y_train["species"]).argmax()
        expected = float(np.mean(y == majority))
        got = dummy.loc[dummy["split"] == split, "value"].item()
        assert got == pytest.approx(expected)


def test_high_cardinality_codes_are_one_hot_for_linear_and_categorical_for_trees():
    # The target depends on which of 40 stores a row comes from: integer codes carry no
    # order, so only a model that treats them as categories can learn it.
    prepared = _stores()
    assert prepared.categorical_features  # the store column became integer codes
    frame = summary(sklearn_baselines(prepared))
    r2 = frame.set_index("model")["value"]
    assert r2["ridge regression"] > 0.8
    for tree in TREES:  # every tree learns the stores, far above the dummy's 0
        assert r2[tree] > 0.8, frame
    seconds = frame.set_index("model")[FIT_SECONDS]
    assert (seconds > 0).all() and seconds.notna().all(), frame


def _stores(rows: int = 1500, seed: int = 0):
    """A table whose target depends on which of 40 stores a row comes from."""
    rng = np.random.default_rng(seed)
    stores = np.array([f"store_{i:02d}" for i in range(40)])
    effect = dict(zip(stores, rng.normal(0, 3, size=40), strict=True))
    store = rng.choice(stores, size=rows)
    df = pd.DataFrame(
        {
            "store": store,
            "noise": rng.normal(size=rows),
            "sales": [effect[s] for s in store] + rng.normal(0, 0.5, size=rows),
        }
    )
    return prepare(df, infer_schema(df, targets="sales"), seed=0)


def test_lightgbm_and_catboost_take_the_coded_columns_as_categorical():
    prepared = _stores(600)
    (coded,) = prepared.categorical_features
    y = prepared.y_train["sales"]
    lgbm = lightgbm_model("regression", prepared, seed=0).fit(prepared.X_train, y)
    booster = lgbm[-1].booster_
    # LightGBM saw a pandas category column with every code of the training split
    assert booster.pandas_categorical == [list(range(prepared.categorical_features[coded]))]
    assert lgbm[-1].n_jobs == BASELINE_THREADS
    cat = catboost_model("regression", prepared, seed=0).fit(prepared.X_train, y)
    assert cat[-1].get_cat_feature_indices() == [prepared.feature_names.index(coded)]
    assert cat[-1].get_params()["thread_count"] == BASELINE_THREADS


def test_trees_fit_every_target_of_a_multi_target_table():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(800, 3))
    df = pd.DataFrame(x, columns=["a", "b", "c"])
    df["price"] = 3 * x[:, 0] + x[:, 1] ** 2 + rng.normal(0, 0.1, 800)
    df["kind"] = np.where(x[:, 2] + x[:, 0] > 0, "up", "down")
    prepared = prepare(df, infer_schema(df, targets=["price", "kind"]), seed=0)
    frame = summary(sklearn_baselines(prepared))
    for target in ("price", "kind"):
        part = frame[frame["target"] == target].set_index("model")
        for tree in TREES:
            assert part.loc[tree, "gain_over_dummy"] > 0.3, part
            assert part.loc[tree, FIT_SECONDS] > 0


def test_tuned_lightgbm_runs_its_trials_on_the_validation_rows_only():
    prepared = _stores(800)
    told = []
    tuned = tuned_lightgbm(
        prepared, trials=4, splits=("val", "test"), progress=lambda *a: told.append(a)
    )
    assert set(tuned["model"]) == {"LightGBM (tuned, 4 trials)"}
    assert set(tuned["split"]) == {"val", "test"}
    assert len(told) == 4 and told[-1][0] == pytest.approx(1.0)
    r2 = tuned[(tuned["split"] == "test") & (tuned["metric"] == "r2")]["value"].item()
    assert r2 > 0.5  # far above the dummy's 0
    assert (tuned[FIT_SECONDS] > 0).all()
    # The test rows are never read while tuning: with their targets shuffled, the same
    # seed picks the same settings.
    rng = np.random.default_rng(0)
    scrambled = dataclasses.replace(
        prepared, y_test={"sales": rng.permutation(prepared.y_test["sales"])}
    )

    def best(data):
        return tune_lightgbm(data, "sales", 4, seed=0, told=lambda *a: None)

    assert best(scrambled) == best(prepared)
    # ...while different validation rows change what is judged best
    shuffled_val = dataclasses.replace(
        prepared, y_val={"sales": rng.permutation(prepared.y_val["sales"])}
    )
    assert best(shuffled_val) != best(prepared)


def test_the_tuning_estimate_scales_with_trials_and_the_default_fit():
    prepared = _stores(400)
    frame = sklearn_baselines(prepared)
    lgbm = frame[frame["model"] == "LightGBM"][FIT_SECONDS].iloc[0]
    assert tuning_estimate(frame, 20) > tuning_estimate(frame, 10) > lgbm * 10


def test_the_cli_report_adds_the_tuned_lightgbm_and_says_its_estimate_first():
    said = []
    report = baselines_report(
        load_sample("cars"), "Miles_per_Gallon", seed=0, tune_trials=3, say=said.append
    )
    assert len(said) == 1 and "3 trials" in said[0]
    models = {row["model"] for row in report["summary"]}
    assert {"LightGBM", "CatBoost", "LightGBM (tuned, 3 trials)"} <= models


def test_plain_text_report_names_each_model_and_its_gain():
    report = baselines_report(load_sample("cars"), "Miles_per_Gallon", seed=0)
    text = format_report(report)
    assert "Miles_per_Gallon (regression), test split, r2:" in text
    for model in ("dummy (mean)", "ridge regression", "gradient boosting", "LightGBM", "CatBoost"):
        assert model in text
    assert "vs dummy" in text
    assert "fit " in text and f"fit on {BASELINE_THREADS} thread" in text
