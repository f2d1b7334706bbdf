"""Analysis of a stored run: a real training session, a real run folder, the whole report.

The run trains one branch per column group of ``synthetic_groups`` (churn depends on
``usage`` only), so the report's answers are known: the usage branch leads every
importance, it is the best branch alone, and the model beats the dummy.
"""

import json
import shutil

import pandas as pd
import pytest

from sattn_dash.analysis import (
    ablation_importance_for_run,
    baselines_for_run,
    entropy_over_training_for_run,
    faithfulness_for_run,
    importance_over_training_for_run,
    module_importance_for_run,
    permutation_importance_by_for_run,
    routing_co_selection_for_run,
    run_report,
    temperature_distribution_for_run,
    temperature_what_if_for_run,
    to_csv_bytes,
    tuned_lightgbm_for_run,
)
from sattn_dash.errors import RunError, SpecError
from sattn_dash.modeling import BlockSpec, BranchSpec, CombinerSpec, HeadSpec, ModelSpec
from sattn_dash.tabular import SAMPLES, infer_schema, load_sample
from sattn_dash.training import RunStore, TrainingConfig, TrainingSession

GROUPS = SAMPLES["synthetic_groups"].groups
EPOCHS = 6


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    df = load_sample("synthetic_groups").head(2000)  # half the table: a quicker run
    schema = infer_schema(df, targets="churned", groups=GROUPS)
    dense = BlockSpec("dense", units=8, activation="relu")
    spec = ModelSpec(
        name="per group",
        branches=tuple(BranchSpec(g, inputs=(g,), blocks=(dense,)) for g in GROUPS),
        combiner=CombinerSpec("sparse_attention", temperature=0.5),
        heads=(HeadSpec("churned"),),
        learning_rate=0.01,
    )
    store = RunStore(tmp_path_factory.mktemp("workspace"))
    config = TrainingConfig(epochs=EPOCHS, batch_size=64, seed=0, early_stopping=False)
    session = TrainingSession(df, schema, spec, config, store)
    assert session.run().state == "finished"
    return store.load(session.run_id)


def test_importance_over_training_has_every_epoch_with_its_entropy(run):
    frame = importance_over_training_for_run(run)
    assert sorted(frame["epoch"].unique()) == list(range(1, EPOCHS + 1))
    assert set(frame["branch"]) == set(GROUPS)
    sums = frame.groupby("epoch")["importance"].sum()
    assert sums.round(5).eq(1.0).all()
    entropy = entropy_over_training_for_run(run)
    assert len(entropy) == EPOCHS
    # training moves weight onto the usage branch: the distribution gets sharper
    assert entropy["entropy"].iloc[-1] < entropy["entropy"].iloc[0]
    assert entropy["top_branch"].iloc[-1] == "usage"
    assert entropy["normalized_entropy"].between(0, 1).all()


def test_wrappers_read_the_stored_model(run):
    verdict = faithfulness_for_run(run).iloc[0]
    assert verdict["top_by_attention"] == verdict["top_by_ablation"] == "usage"
    what_if = temperature_what_if_for_run(run, [0.25, 2.0])
    assert what_if.loc[what_if["trained"], "temperature"].tolist() == [0.5]
    ablation = ablation_importance_for_run(run)
    assert to_csv_bytes(ablation).startswith(b"branch,target,metric,mode")
    on_test = module_importance_for_run(run, split="test")
    assert on_test["branch"].iloc[on_test["importance"].argmax()] == "usage"
    columns = permutation_importance_by_for_run(run, "column", n_repeats=1, metric="log_loss")
    assert set(columns["column"]) == {c for cols in GROUPS.values() for c in cols}
    assert columns.sort_values("importance")["column"].iloc[-1] in GROUPS["usage"]
    distribution = temperature_distribution_for_run(run, [1.0])
    assert set(distribution["temperature"]) == {0.5, 1.0}
    with pytest.raises(SpecError, match="sparse_dense"):
        routing_co_selection_for_run(run)


def test_baselines_beat_the_dummy_and_show_what_attention_bought(run):
    frame = baselines_for_run(run, splits=("test",), retrain=True)
    auc = frame[frame["metric"] == "roc_auc"].set_index("model")["value"]
    assert set(auc.index) == {
        "dummy (class prior)",
        "logistic regression",
        "gradient boosting",
        "LightGBM",
        "CatBoost",
        "your model (sparse_attention combiner)",
        "best branch alone (usage, retrained)",
        "mean combiner (retrained)",
    }
    dummy = auc["dummy (class prior)"]
    assert (auc.drop("dummy (class prior)") > dummy + 0.15).all()
    # the user's model is scored exactly as the run page scores it
    assert auc["your model (sparse_attention combiner)"] == pytest.approx(
        run.metrics["churned"]["roc_auc"]
    )


def test_a_tuned_lightgbm_stays_with_the_run_after_a_restart(run, tmp_path):
    workspace = tmp_path / "workspace"
    shutil.copytree(run.path.parents[1], workspace)  # the module's run stays as it is
    tuned = tuned_lightgbm_for_run(RunStore(workspace).load(run.run_id), 2, ("val", "test"))
    again = RunStore(workspace).load(run.run_id)  # as a new process reads it
    frame = baselines_for_run(again, splits=("test",), retrain=False)
    kept = frame[frame["model"] == "LightGBM (tuned, 2 trials)"].reset_index(drop=True)
    expected = tuned[tuned["split"] == "test"].reset_index(drop=True)
    pd.testing.assert_frame_equal(kept, expected, check_dtype=False)
    # A damaged copy names itself and says how to get it back; the run is whole.
    (again.path / "tuned_lightgbm.json").write_text('[{"model": "LightGBM (tu')
    with pytest.raises(RunError, match=r"tuned_lightgbm\.json .*damaged.*compute it again"):
        baselines_for_run(RunStore(workspace).load(run.run_id), retrain=False)
    assert RunStore(workspace).load(run.run_id).metrics == run.metrics


def test_run_report_is_json_with_every_table(run):
    report = run_report(run, retrain=False)
    text = json.dumps(report, allow_nan=False)
    assert report["run_id"] == run.run_id and report["combiner"] == "sparse_attention"
    tables = report["tables"]
    for name in (
        "module_importance",
        "entropy_over_training",
        "ablation_importance",
        "permutation_importance_by_group",
        "permutation_importance_by_branch",
        "importance_comparison",
        "faithfulness",
        "baselines",
        "baseline_summary",
    ):
        assert tables[name], name
    assert "routing_by_class" in report["notes"] and "cls_attention" in report["notes"]
    comparison = {row["branch"]: row for row in tables["importance_comparison"]}
    assert comparison["usage"]["attention_rank"] == 1
    assert comparison["usage"]["ablation_rank"] == 1
    assert comparison["usage"]["permutation_rank"] == 1
    assert "usage" in text
