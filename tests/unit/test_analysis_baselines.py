"""scikit-learn baselines on the same split and metrics as the trained models."""

import json

import numpy as np
import pandas as pd
import pytest

from sattn_dash.analysis import baselines_report, format_report, sklearn_baselines, summary
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
    rng = np.random.default_rng(0)
    stores = np.array([f"store_{i:02d}" for i in range(40)])
    effect = dict(zip(stores, rng.normal(0, 3, size=40), strict=True))
    store = rng.choice(stores, size=1500)
    df = pd.DataFrame(
        {
            "store": store,
            "noise": rng.normal(size=1500),
            "sales": [effect[s] for s in store] + rng.normal(0, 0.5, size=1500),
        }
    )
    prepared = prepare(df, infer_schema(df, targets="sales"), seed=0)
    assert prepared.categorical_features  # the store column became integer codes
    frame = summary(sklearn_baselines(prepared))
    r2 = frame.set_index("model")["value"]
    assert r2["ridge regression"] > 0.8 and r2["gradient boosting"] > 0.8


def test_plain_text_report_names_each_model_and_its_gain():
    report = baselines_report(load_sample("cars"), "Miles_per_Gallon", seed=0)
    text = format_report(report)
    assert "Miles_per_Gallon (regression), test split, r2:" in text
    for model in ("dummy (mean)", "ridge regression", "gradient boosting"):
        assert model in text
    assert "vs dummy" in text
