"""Which columns matter, for every model: permutation beside attribution per source
column, on a table whose signal sits in known columns of groups nobody named; and the
members of the default (TabM) model said as what they are."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from sattn_dash.analysis import column_agreement, column_importance, column_importance_table
from sattn_dash.analysis.modules.members import interchangeable, members_summary, one_ensemble
from sattn_dash.analysis.reports import runs
from sattn_dash.analysis.reports.report import run_report
from sattn_dash.data.make_synthetic import make
from sattn_dash.tabular import infer_schema
from sattn_dash.training import RunStore, TrainingConfig, TrainingSession

PLANTED = {"minutes_per_day", "support_calls"}  # the two strongest of the usage columns


@pytest.fixture(scope="module")
def tabm_run(tmp_path_factory):
    """The default preset (TabM: one BatchEnsemble branch of 8 members) trained briefly
    on the synthetic churn table, with no column groups named."""
    df, _ = make(rows=2500, seed=3)
    schema = infer_schema(df, targets="churned")
    store = RunStore(tmp_path_factory.mktemp("workspace"))
    session = TrainingSession(df, schema, "tabm", TrainingConfig(epochs=4, seed=0), store)
    assert session.start().wait(600).state == "finished"
    return store.load(session.run_id)


def test_the_planted_columns_lead_by_both_measures_and_they_agree(tabm_run):
    table = runs.column_importance_for_run(tabm_run)
    assert set(table["column"]) == set(tabm_run.prepared.schema.feature_columns)  # one-hot = one
    by_permutation = table.sort_values("permutation_rank")["column"].head(2)
    by_attribution = table.sort_values("attribution_rank")["column"].head(2)
    assert set(by_permutation) == PLANTED
    assert set(by_attribution) == PLANTED
    assert (table["permutation_std"] >= 0).all()
    verdict = column_agreement(table).iloc[0]
    assert verdict["spearman_rho"] >= 0.7
    assert verdict["agreement"] == "strong"
    assert verdict["top_by_permutation"] in PLANTED


def test_the_members_of_one_ensemble_are_said_to_be_interchangeable(tabm_run):
    assert one_ensemble(tabm_run.spec) == "tabm"
    assert interchangeable(tabm_run.spec, None)
    scores = runs.member_scores_for_run(tabm_run)
    assert list(scores["member"]) == [f"tabm_m{i}" for i in range(1, 9)]
    assert scores["weight"].sum() == pytest.approx(1.0, abs=1e-5)
    assert (scores["correlation"] > 0.5).all()  # members trained alike agree
    assert scores["score"].between(0.5, 1.0).all()
    summary = members_summary(scores).iloc[0]
    assert summary["members"] == 8
    assert summary["worst_member"] <= summary["best_member"]
    assert "interchangeable" in summary["verdict"] and "together" in summary["verdict"]


def test_the_run_report_carries_column_importance_and_members(tabm_run):
    report = run_report(tabm_run, retrain=False)
    report = json.loads(json.dumps(report))  # JSON-safe, as `show --json` prints it
    records = report["column_importance"]
    assert {r["column"] for r in records} == set(tabm_run.prepared.schema.feature_columns)
    assert set(records[0]) >= {
        "column", "permutation", "permutation_std", "attribution",
        "permutation_rank", "attribution_rank",
    }  # fmt: skip
    assert report["column_agreement"] >= 0.7
    assert len(report["members"]["scores"]) == 8
    assert report["members"]["summary"][0]["branch"] == "tabm"


def test_column_importance_of_a_model_without_attention(modeling_data):
    """A mean combiner learns no weight per branch; its columns are still ranked."""
    import keras

    from sattn_dash.modeling import build_model, head_name
    from sattn_dash.training import resolve_spec

    prepared = modeling_data["binary"]
    spec = resolve_spec("three_branch", prepared, combiner="mean")
    keras.utils.set_random_seed(0)
    model = build_model(spec, prepared)
    X, y = prepared.split("train")
    model.fit(np.asarray(X, np.float32), {head_name("label"): y["label"]}, epochs=3, verbose=0)
    table = column_importance(model, prepared, n_repeats=2, rows=20, steps=8)
    assert set(table["column"]) == set(prepared.schema.feature_columns)
    assert table["attribution"].notna().all() and table["permutation"].notna().all()


def test_noise_columns_tie_instead_of_ranking_each_other():
    permutation = pd.DataFrame(
        {
            "column": ["a", "b", "c", "d"],
            "target": "y",
            "importance": [0.2, 0.1, 0.001, -0.001],
            "importance_std": [0.01, 0.01, 0.002, 0.002],
            "metric": "roc_auc",
        }
    )
    attributions = pd.DataFrame(
        {
            "row": [0, 0, 0, 0, 1, 1, 1, 1],
            "target": "y",
            "column": ["a", "b", "c", "d"] * 2,
            "attribution": [0.3, -0.1, 0.001, 0.002, -0.3, 0.1, 0.002, 0.001],
        }
    )
    table = column_importance_table(permutation, attributions)
    assert list(table["column"]) == ["a", "b", "c", "d"]
    assert table.loc[table["column"] == "a", "attribution"].item() == pytest.approx(0.3)
    assert list(table["attribution_rank"]) == [1, 2, 3, 3]
    # c and d are noise by both measures: they tie, and the rankings agree fully.
    assert column_agreement(table)["spearman_rho"].item() == pytest.approx(1.0)
