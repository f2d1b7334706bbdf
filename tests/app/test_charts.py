"""The chart functions and the pure helpers behind them: real data in, a valid Vega-Lite
spec out, with exact-number tooltips and the one shared style."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sattn_dash.analysis.reports import tidy
from sattn_dash.charts import data as data_charts
from sattn_dash.charts import runs as runs_charts
from sattn_dash.charts import style
from sattn_dash.charts import training as training_charts
from sattn_dash.tabular import profile


def tooltips(spec: dict) -> list[dict]:
    """Every tooltip entry in a (possibly layered or faceted) Vega-Lite spec."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            tip = node.get("encoding", {}).get("tooltip")
            if tip:
                found.extend(tip if isinstance(tip, list) else [tip])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)
    return found


def assert_styled(spec: dict) -> None:
    assert spec["config"]["range"]["category"] == style.PALETTE
    assert spec["config"]["font"] == style.FONT
    tips = tooltips(spec)
    assert tips, "every chart shows exact numbers on hover"
    quantitative = [t for t in tips if t.get("type") == "quantitative"]
    assert quantitative and all("format" in t for t in quantitative)
    assert all(t.get("title") for t in tips)


@pytest.fixture
def table():
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "age": rng.normal(50, 10, 300),
            "city": rng.choice(["a", "b", "c"], 300),
            "y": rng.integers(0, 2, 300),
        }
    )
    df.loc[:29, "age"] = np.nan
    return df


def test_missing_table_counts_and_sorts(table):
    missing = profile.missing_table(table)
    assert list(missing["column"])[0] == "age"
    assert missing.set_index("column").loc["age", "missing"] == 30
    assert missing.set_index("column").loc["age", "missing_share"] == pytest.approx(0.1)
    assert_styled(data_charts.missing_values(missing).to_dict())


def test_histogram_bins_cover_every_present_value(table):
    counts = profile.distribution_table(table["age"], numeric=True)
    assert counts["count"].sum() == 270
    assert counts["share"].sum() == pytest.approx(1.0)
    assert (counts["end"] > counts["start"]).all()
    spec = data_charts.distribution(counts, "age").to_dict()
    assert_styled(spec)
    assert spec["encoding"]["x"]["bin"] == "binned"


def test_categories_beyond_the_top_are_summed():
    values = pd.Series([f"v{i}" for i in range(30)] * 2)
    counts = profile.distribution_table(values, numeric=False)
    assert len(counts) == profile.MAX_CATEGORIES + 1
    assert counts["count"].sum() == 60
    assert counts["label"].iloc[-1] == "(other 10)"
    assert_styled(data_charts.distribution(counts, "v").to_dict())


def test_target_balance_per_target(table):
    balance = profile.target_balance_table(table, ["y", "age"], {"y": False, "age": True})
    assert set(balance["target"]) == {"y", "age"}
    assert balance[balance["target"] == "y"]["count"].sum() == 300
    assert_styled(data_charts.target_balance(balance).to_dict())


HISTORY = pd.DataFrame(
    {
        "epoch": [1, 2, 3],
        "loss": [0.9, 0.6, 0.5],
        "val_loss": [1.0, 0.7, 0.65],
        "accuracy": [0.5, 0.7, 0.8],
        "val_accuracy": [0.45, 0.66, 0.7],
        "batches": [4, 4, 4],
        "time_s": [0.1, 0.2, 0.3],
    }
)


def test_history_long_splits_training_and_validation():
    long = tidy.history_long(HISTORY)
    assert len(long) == 12
    assert set(long["metric"]) == {"loss", "accuracy"}
    assert long.query("metric == 'loss' and split == 'validation'")["value"].tolist() == [
        1.0,
        0.7,
        0.65,
    ]
    assert set(long.query("metric == 'loss'")["kind"]) == {"loss"}
    assert_styled(training_charts.curves(long, "loss").to_dict())
    assert_styled(training_charts.curves(long, "score").to_dict())


def test_history_long_of_an_empty_history():
    assert tidy.history_long(pd.DataFrame({"epoch": []})).empty


def test_module_probabilities_chart():
    snapshots = pd.DataFrame(
        {"epoch": [1, 1, 2, 2], "branch": ["a", "b"] * 2, "probability": [0.5, 0.5, 0.7, 0.3]}
    )
    spec = training_charts.module_probabilities(snapshots).to_dict()
    assert_styled(spec)
    assert spec["encoding"]["y"]["scale"]["domain"] == [0, 1]


def test_metrics_long_keeps_numbers_only():
    metrics = {"y": {"n": 10, "accuracy": 0.8, "confusion_matrix": [[1, 2], [3, 4]], "note": "x"}}
    assert tidy.metrics_long(metrics).to_dict("records") == [
        {"target": "y", "split": "test", "metric": "accuracy", "value": 0.8}
    ]


def test_run_comparison_charts():
    history = pd.concat(
        [tidy.history_long(HISTORY).assign(run="r1"), tidy.history_long(HISTORY).assign(run="r2")]
    )
    assert_styled(runs_charts.overlaid_curves(history, "loss").to_dict())
    metrics = pd.concat(
        [tidy.metrics_long({"y": {"accuracy": a}}, r) for r, a in (("r1", 0.8), ("r2", 0.9))]
    )
    assert_styled(runs_charts.metrics_side_by_side(metrics).to_dict())
    importances = pd.DataFrame(
        {
            "run": ["r1", "r1", "r3", "r3"],
            "branch": ["a", "b", "a", "b"],
            "importance": [0.6, 0.4, 0.1, 0.9],
            "measure": ["module probability"] * 2 + ["mean routing weight"] * 2,
        }
    )
    assert_styled(runs_charts.importances_side_by_side(importances).to_dict())
