"""A model whose modules a user can name: groups of columns found from the table (or the
user's), one module each beside an all-columns TabM branch that is left out of half the
rows while training and priced at a share of the loss, so a group's weight says how much
the model needs it and the all-columns weight how much it leans on interactions. Checked
on tables where the answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sattn_dash.analysis.attributions.attributions import explain_inputs
from sattn_dash.analysis.reports import runs
from sattn_dash.data.make_synthetic import make
from sattn_dash.modeling import preset_spec
from sattn_dash.modeling.presets import DEFAULT_PRESET
from sattn_dash.tabular import infer_schema, prepare
from sattn_dash.tabular.groups import column_groups
from sattn_dash.training import RunStore, TrainingConfig, TrainingSession
from sattn_dash.ui.importance.importance_view import whole_table_lines
from tests.unit.conftest import MODELING_GROUPS

PLANTED = {"minutes_per_day", "support_calls"}  # the two strongest planted columns


def test_found_groups_follow_how_columns_go_together():
    rng = np.random.default_rng(0)
    rows = 600
    a, b, c = (rng.normal(size=rows) for _ in range(3))
    frame = pd.DataFrame(
        {
            "a1": a,
            "a2": a + 0.3 * rng.normal(size=rows),
            "a3": np.exp(a + 0.3 * rng.normal(size=rows)),  # the same order, bent
            "b1": b,
            "b2": -b + 0.3 * rng.normal(size=rows),  # against b1: |Spearman| counts
            "c1": c,
            "c2": c + 0.3 * rng.normal(size=rows),
            "colour": rng.choice(["red", "green", "blue"], size=rows),
            "flag": rng.integers(0, 2, size=rows),
            "y": a + b > 0,
        }
    )
    prepared = prepare(frame, infer_schema(frame, targets="y"), seed=0)
    groups = column_groups(prepared)
    found = {frozenset(columns) for columns in groups.values()}
    assert found == {
        frozenset({"a1", "a2", "a3"}),
        frozenset({"b1", "b2"}),
        frozenset({"c1", "c2"}),
        frozenset({"colour", "flag"}),
    }
    assert groups["categorical"] == ["colour", "flag"]
    assert {name for name in groups if name != "categorical"} == {"group1", "group2", "group3"}


def test_the_default_keeps_the_users_groups_beside_tabm_over_all_columns(modeling_data):
    prepared = modeling_data["binary"]
    groups = column_groups(prepared)
    assert set(MODELING_GROUPS) <= set(groups)
    spec = preset_spec(DEFAULT_PRESET, prepared)
    assert [b.name for b in spec.branches] == [*groups, "all_columns"]
    assert spec.branches[-1].blocks == preset_spec("tabm", prepared).branches[0].blocks
    c = spec.combiner
    assert (c.branch_dropout, c.all_columns_dropout, c.all_columns_price) == (0.0, 0.5, 0.05)


@pytest.fixture(scope="module")
def groups_run(tmp_path_factory):
    """The column-groups preset trained on the synthetic churn table, no groups named:
    the signal sits in minutes_per_day, support_calls and plan."""
    df, _ = make(rows=2000, seed=0)
    store = RunStore(tmp_path_factory.mktemp("workspace"))
    schema = infer_schema(df, targets="churned")
    session = TrainingSession(df, schema, "column_groups", TrainingConfig(seed=0), store)
    assert session.start().wait(900).state == "finished"
    return store.load(session.run_id)


def planted_group(run) -> str:
    """The found group that holds minutes_per_day, the strongest planted column."""
    (name,) = [
        name for name, columns in column_groups(run.prepared).items()
        if "minutes_per_day" in columns
    ]  # fmt: skip
    return name


def test_the_group_holding_the_signal_leads_by_weight_and_by_ablation(groups_run):
    weights = runs.module_importance_for_run(groups_run)
    # the members of the all-columns branch count as that branch: one row per name, and
    # the run card (train --json, show --json, the Runs page) holds the same numbers
    assert list(weights["branch"]) == [b.name for b in groups_run.spec.branches]
    assert weights["importance"].sum() == pytest.approx(1.0, abs=1e-5)
    assert groups_run.module_importance == pytest.approx(
        dict(zip(weights["branch"], weights["importance"], strict=True))
    )
    # an additive table: the group holding the signal leads, and the all-columns branch,
    # whose weight says how much the model leans on interactions, keeps little
    assert weights.loc[weights["importance"].idxmax(), "branch"] == planted_group(groups_run)
    assert weights.set_index("branch")["importance"]["all_columns"] < 0.2
    (line,) = whole_table_lines(groups_run)  # the page says what that weight means
    share = weights.set_index("branch")["importance"]["all_columns"]
    assert f"here it has {share:.0%} of it" in line
    ablation = runs.ablation_importance_for_run(groups_run)
    assert set(ablation["metric"]) == {"log_loss"}
    assert list(ablation["branch"]) == list(weights["branch"])
    needed = ablation[ablation["branch"] != "all_columns"]
    assert needed.loc[needed["importance"].idxmax(), "branch"] == planted_group(groups_run)
    verdict = runs.faithfulness_for_run(groups_run).iloc[0]
    assert verdict["spearman_rho"] >= 0.6 and verdict["agreement"] == "strong"


def test_the_weights_over_training_are_per_named_branch_too(groups_run):
    path = runs.importance_over_training_for_run(groups_run)
    names = [b.name for b in groups_run.spec.branches]
    assert sorted(set(path["branch"])) == sorted(names)  # all_columns, not its members
    assert path.groupby("epoch")["importance"].sum().round(4).eq(1.0).all()


def test_its_top_two_columns_are_the_planted_ones(groups_run):
    table = runs.column_importance_for_run(groups_run)
    assert set(table.sort_values("permutation_rank")["column"].head(2)) == PLANTED
    assert set(table.sort_values("attribution_rank")["column"].head(2)) == PLANTED


def test_a_row_is_explained_by_the_branches_the_user_can_name(groups_run):
    X = np.asarray(groups_run.prepared.split("val")[0], np.float32)[:4]
    frames = explain_inputs(groups_run.model, groups_run.prepared, X, steps=16)
    names = [b.name for b in groups_run.spec.branches]
    assert list(dict.fromkeys(frames["branches"]["branch"])) == names
    assert frames["completeness"]["complete"].all()  # the members' parts summed whole
    weights = frames["attention"].query("comparison == 'combiner weights'")
    assert list(dict.fromkeys(weights["item"])) == names
    assert weights.groupby("row")["attention"].sum().round(5).eq(1.0).all()


def all_columns_weight(frame: pd.DataFrame) -> float:
    """The default's weight on its all-columns branch, fitted on ``frame`` (target y,
    the user's groups a and b)."""
    from sattn_dash.training.importance import branch_importance
    from sattn_dash.training.pipeline import prepare_fit

    groups = {"a": ["a1", "a2"], "b": ["b1", "b2"]}
    config = TrainingConfig(seed=0)
    schema = infer_schema(frame, targets="y", groups=groups)
    prepared = prepare(frame, schema, seed=0, options=config.prepare_options())
    model, batches, fit_arguments = prepare_fit(
        preset_spec(DEFAULT_PRESET, prepared), prepared, config
    )
    model.fit(batches, **fit_arguments)
    return branch_importance(model, prepared)["all_columns"]


def test_the_all_columns_weight_says_how_much_the_model_leans_on_interactions():
    rng = np.random.default_rng(0)
    columns = {name: rng.normal(size=2000) for name in ("a1", "a2", "b1", "b2")}
    noise = rng.normal(size=2000)  # as noisy as a real table: R2 about 2/3 at best
    additive = pd.DataFrame({**columns, "y": columns["a1"] + columns["b1"] + noise})
    across = pd.DataFrame({**columns, "y": columns["a1"] * columns["b1"] + noise})
    assert all_columns_weight(additive) < 0.25  # each group carries its own part
    assert all_columns_weight(across) > 0.6  # only columns of both groups together can
