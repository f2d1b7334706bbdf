"""Charts and words a user met on unseen tables (issue 25, item 7): loss curves named in
the user's words and drawn one panel per loss, default run titles that tell two runs
apart, the what-if table as text Arrow can hold with probabilities rounded, and the
completeness warning naming the cause the combiner can have."""

from __future__ import annotations

import pandas as pd

from sattn_dash.analysis.reports import tidy
from sattn_dash.charts import training as training_charts

HISTORY = pd.DataFrame(
    {
        "epoch": [1, 2],
        "loss": [9.1e6, 8.2e6],
        "head_price_loss": [8.0e6, 7.9e6],
        "head_price_members_tabm_loss": [1.1, 1.0],
        "head_price_rmse": [2900.0, 2800.0],
        "val_loss": [9.3e6, 8.4e6],
        "val_head_price_loss": [8.2e6, 8.1e6],
        "val_head_price_members_tabm_loss": [1.2, 1.1],
        "val_head_price_rmse": [2950.0, 2850.0],
    }
)


def test_history_curves_are_named_in_the_users_words():
    long = tidy.history_long(HISTORY, targets=["price"])
    labels = dict(zip(long["metric"], long["label"], strict=False))
    assert labels == {
        "loss": "total loss",
        "head_price_loss": "price loss",
        "head_price_members_tabm_loss": "price: tabm members' loss",
        "head_price_rmse": "price RMSE",
    }
    assert tidy.history_long(HISTORY[["epoch", "loss", "val_loss"]])["label"].unique().tolist() == [
        "loss"
    ]


def test_each_loss_gets_its_own_panel_and_scale():
    long = tidy.history_long(HISTORY, targets=["price"])
    spec = training_charts.curves(long, "loss").to_dict()
    assert spec["facet"]["field"] == "label"
    assert spec["resolve"]["scale"]["y"] == "independent"
    assert spec["spec"]["encoding"]["color"]["field"] == "label"


def test_two_default_titles_made_in_the_same_minute_differ(tmp_path):
    from sattn_dash.training import RunStore

    store = RunStore(tmp_path)
    model = "TabM: piecewise-linear + BatchEnsemble MLP, 32 members"
    a, b = (
        store.create(targets={"price": "regression"}, model=model, source="houses.csv")
        for _ in range(2)
    )
    first, second = store.info(a).title, store.info(b).title
    assert first != second
    assert first.startswith("houses.csv") and second.startswith("houses.csv")
    assert first[:30] != second[:30]  # a cut title still tells them apart


def test_a_long_model_name_is_shortened_not_the_title_end(tmp_path):
    """The default preset's name made the title run past its limit, which cut it at
    "... BatchEnsemble (default": the target went and a parenthesis stayed open."""
    from sattn_dash.training import RunStore
    from sattn_dash.training.store import TITLE_MAX

    store = RunStore(tmp_path)
    model = "TabM: piecewise-linear + BatchEnsemble (default)"
    run_id = store.create(targets={"churned": "binary"}, model=model, source="customers.csv")
    title = store.info(run_id).title
    assert len(title) <= TITLE_MAX
    assert title.startswith("customers.csv · ")
    assert title.endswith("… → churned")
    assert title.count("(") == title.count(")")


def test_the_loss_panels_sit_in_one_row():
    long = tidy.history_long(HISTORY, targets=["price"])
    assert training_charts.loss_panels(long) == 3
    spec = training_charts.curves(long, "loss").to_dict()
    assert spec["columns"] == 3
    assert spec["spec"]["encoding"]["color"]["legend"] is None  # each panel has its title
    assert training_charts.loss_panels(long[long["metric"] == "loss"]) == 1


def test_the_leaderboard_draws_its_models_best_first():
    from sattn_dash.charts.importance import baselines_leaderboard

    board = pd.DataFrame(
        {
            "model": ["this run: x", "CatBoost", "LightGBM", "dummy (class prior)"],
            "metric": "roc_auc",
            "value": [0.79, 0.75, 0.74, 0.5],
            "who": ["this run", "baseline", "baseline", "baseline"],
        }
    )
    spec = baselines_leaderboard(board).to_dict()
    sorts = [layer["encoding"]["y"]["sort"] for layer in spec["layer"]]
    assert sorts == [list(board["model"])] * 2
    assert spec["layer"][0]["encoding"]["color"]["legend"]["orient"] == "bottom"


def test_the_what_if_table_is_text_with_rounded_probabilities():
    import pyarrow as pa

    from sattn_dash.analysis.attributions.what_if import compare_predictions

    predictions = pd.DataFrame(
        {
            "row": [0, 1],
            "species_pred": ["Adelie", "Gentoo"],
            "species_proba_Adelie": [0.09665340185165405, 0.5],
            "species_proba_Gentoo": [0.90334659814834595, 0.5],
        }
    )
    table = compare_predictions(predictions)
    assert list(table.columns) == ["output", "original", "edited"]
    assert table.set_index("output").loc["species_proba_Adelie", "original"] == "0.0967"
    assert table.set_index("output").loc["species_pred", "edited"] == "Gentoo"
    pa.Table.from_pandas(table)  # raised ArrowTypeError on the mixed column before


def test_the_completeness_warning_names_the_cause_this_combiner_can_have():
    from sattn_dash.analysis.attributions.per_row import incompleteness_cause

    assert "top-k" in incompleteness_cause("sparse_dense")
    for combiner in ("sparse_attention", "mean", "concat", None):
        assert "top-k" not in incompleteness_cause(combiner), combiner
