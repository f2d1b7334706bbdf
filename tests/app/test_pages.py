"""Every page through streamlit.testing.v1.AppTest: empty, with trained runs, and the
main flow from an uploaded CSV to the module importance chart."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from sattn_dash.charts.attention import HEAD_TITLE
from sattn_dash.ui.shared import pages
from tests.app.helpers import (
    by_label,
    chart_data,
    chart_titled,
    charts,
    no_exception,
    open_page,
    texts,
)

PAGE_FILES = [path for path, *_ in pages.ALL]


@pytest.mark.parametrize("page", PAGE_FILES)
def test_every_page_renders_on_an_empty_workspace(app, page):
    at = open_page(app, page)
    no_exception(at)
    assert at.title, "every page has a title"
    if page not in (pages.HOME, pages.DATA):
        # Nothing to show yet: the page says what to do next and links there.
        assert at.info, f"{page} shows no hint on an empty workspace"


def test_home_shows_the_empty_workspace(app):
    at = open_page(app, pages.HOME)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Runs in workspace"] == "0"
    assert metrics["Training now"] == "0"


@pytest.mark.parametrize("page", PAGE_FILES)
def test_every_page_renders_with_trained_runs(trained_app, page):
    app, runs = trained_app
    at = open_page(app, page, runs["groups"])
    no_exception(at)
    assert not at.error, texts(at.error)


def test_module_importance_of_a_trained_run(trained_app):
    app, runs = trained_app
    at = open_page(app, pages.IMPORTANCE, runs["groups"])
    no_exception(at)
    probabilities = chart_data(chart_titled(at, "Module probabilities"))
    assert set(probabilities["branch"]) == {"usage", "billing", "profile", "device"}
    assert probabilities["probability"].sum() == pytest.approx(1.0, abs=1e-5)
    path = chart_data(chart_titled(at, "How the weights moved during training"))
    assert sorted(path["epoch"].unique()) == [1, 2]
    methods = chart_data(chart_titled(at, "Attention vs ablation vs permutation"))
    assert set(methods["method"]) == {"attention", "ablation", "permutation"}
    assert len(at.get("download_button")) >= len(charts(at))


def test_the_leaderboard_holds_the_trees_and_a_tuned_lightgbm_on_request(trained_app):
    app, runs = trained_app
    at = open_page(app, pages.IMPORTANCE, runs["groups"])
    no_exception(at)
    board = chart_data(chart_titled(at, "Leaderboard"))
    models = set(board["model"])
    assert {"gradient boosting", "LightGBM", "CatBoost"} <= models, models
    trees = board[board["model"].isin(["LightGBM", "CatBoost"])]
    assert (trees["fit_seconds"] > 0).all() and trees["value"].notna().all(), trees
    assert any("1 thread" in c.value for c in at.caption)
    # The switch shows the estimate before anything starts, then tunes in the background.
    assert not [n for n in at.number_input if n.key == "importance.widget.tune_trials"]
    at.toggle(key="importance.widget.tune").set_value(True).run()
    at.number_input(key="importance.widget.tune_trials").set_value(3).run()
    start = at.button(key="importance.widget.tune_start")
    assert "3 trials (about" in start.label
    start.click().run()
    no_exception(at)
    deadline = time.monotonic() + 120
    while "LightGBM (tuned, 3 trials)" not in set(board["model"]):
        assert time.monotonic() < deadline, "the tuning never finished"
        time.sleep(1)
        at.run()
        no_exception(at)
        assert not at.error, texts(at.error)
        board = chart_data(chart_titled(at, "Leaderboard"))
    tuned = board[board["model"] == "LightGBM (tuned, 3 trials)"]
    assert tuned["value"].item() > 0.5 and tuned["fit_seconds"].item() > 0


def test_temperature_what_if_rescores_without_retraining(trained_app):
    app, runs = trained_app
    at = open_page(app, pages.IMPORTANCE, runs["groups"])
    slider = at.select_slider(key="importance.temperature")
    trained = slider.value
    slider.set_value(5.0).run()
    no_exception(at)
    curve = chart_data(chart_titled(at, "Module probabilities at other temperatures"))
    hot = curve[np.isclose(curve["temperature"], curve["temperature"].max())]
    cold = curve[np.isclose(curve["temperature"], curve["temperature"].min())]
    # Higher temperature spreads the weight: the top branch gets less of it.
    assert hot["probability"].max() < cold["probability"].max()
    assert any("T=5" in m.label for m in at.metric)
    assert trained != 5.0


def test_token_attention_of_a_feature_attention_run(trained_app):
    app, runs = trained_app
    at = open_page(app, pages.ATTENTION, runs["tokens"])
    no_exception(at)
    heads = chart_data(chart_titled(at, HEAD_TITLE))
    selected = heads[heads["selected"]]
    # Each query's weights sum to 1 over its selected keys, and are 0 elsewhere.
    sums = selected.groupby(["head", "query_column"])["weight"].sum()
    assert np.allclose(sums, 1.0, atol=1e-4)
    assert (heads.loc[~heads["selected"], "weight"] == 0).all()
    overall = chart_data(chart_titled(at, "Attention per token over the test rows"))
    assert "[CLS]" in set(overall["key_token"])
    at.segmented_control(key="attention.row_mode").set_value("By class").run()
    no_exception(at)
    at.segmented_control(key="attention.row_mode").set_value("Misclassified").run()
    no_exception(at)


def test_token_attention_what_if_with_the_table_loaded(trained_app):
    app, runs = trained_app
    at = open_page(app, pages.DATA)
    at.selectbox(key="data.sample_picker").set_value("penguins")
    by_label(at.button, "Load sample").click().run()
    at.switch_page(pages.ATTENTION)
    at.query_params["run"] = runs["tokens"]
    at.run()
    no_exception(at)
    assert any(
        c["spec"].get("title", {}).get("text", "").endswith("attention before and after the edit")
        for c in charts(at)
    )


def test_attention_page_explains_a_run_without_token_attention(trained_app):
    app, runs = trained_app
    at = open_page(app, pages.ATTENTION, runs["groups"])
    no_exception(at)
    assert any("Feature attention" in m for m in texts(at.info))


def test_refresh_reattaches_to_a_run_from_the_url(trained_app):
    """A new session (a refresh or a second tab) with ?run=<id> shows that run."""
    app, runs = trained_app
    at = open_page(app, pages.TRAIN, runs["groups"])
    no_exception(at)
    progress = [p.proto.text for p in at.get("progress")]
    assert any("groups run" in t and "finished" in t for t in progress), progress
    assert chart_titled(at, "Loss per epoch")
    assert at.query_params["run"] == runs["groups"]


def test_runs_table_and_comparison(trained_app):
    app, runs = trained_app
    at = open_page(app, pages.RUNS)
    no_exception(at)
    table = at.dataframe[0].value
    assert set(table["run_id"]) == set(runs.values())
    assert (table["status"].str.contains("finished")).all()
    at.multiselect(key="runs.compare").set_value(list(runs.values())).run()
    no_exception(at)
    curves = chart_data(chart_titled(at, "loss per epoch"))
    assert curves["run"].nunique() == 2
    assert chart_titled(at, "Test metrics")


def test_rename_and_delete_a_run(trained_workspace, tmp_path, monkeypatch):
    import shutil

    from streamlit.testing.v1 import AppTest

    from sattn_dash.training import RunStore
    from tests.app.conftest import APP, TIMEOUT

    source, runs = trained_workspace
    workspace = tmp_path / "copy"
    shutil.copytree(source, workspace)
    monkeypatch.setenv("SATTN_DASH_WORKSPACE", str(workspace))
    run_id = runs["groups"]
    at = open_page(AppTest.from_file(APP, default_timeout=TIMEOUT), pages.RUNS, run_id)
    at.text_input(key=f"runs.widget.title.{run_id}").set_value("Churn by group, first try")
    at.button(key=f"runs.widget.rename.{run_id}").click().run()
    no_exception(at)
    assert RunStore(workspace).info(run_id).title == "Churn by group, first try"
    assert any("Renamed" in s for s in texts(at.success))
    at.button(key=f"runs.widget.delete.{run_id}").click().run()
    no_exception(at)
    assert run_id not in [r.run_id for r in RunStore(workspace).list()]


def flow_csv() -> bytes:
    rng = np.random.default_rng(1)
    n = 400
    df = pd.DataFrame(
        {"x1": rng.normal(size=n), "x2": rng.normal(size=n), "city": rng.choice(["a", "b"], n)}
    )
    df["y"] = np.where(df["x1"] - df["x2"] > 0, "yes", "no")
    return df.to_csv(index=False).encode()


def test_flow_from_upload_to_the_importance_chart(app):
    """Upload a CSV through the file uploader, pick the target and a preset, train two
    epochs and find the module importance chart's data."""
    from sattn_dash.ui.shared.sessions import registry

    at = open_page(app, pages.DATA)
    at.file_uploader[0].set_value(("flow.csv", flow_csv(), "text/csv")).run()
    no_exception(at)
    assert not at.error, texts(at.error)
    by_label(at.multiselect, "Target column(s) to predict").set_value(["y"]).run()
    no_exception(at)
    assert at.session_state["data.schema"].target_names == ["y"]

    at.switch_page(pages.ARCHITECTURE).run()
    at.radio(key="arch.preset_picker").set_value("ensemble").run()
    no_exception(at)
    assert at.session_state["arch.spec"].preset == "ensemble"
    assert at.get("graphviz_chart")

    at.switch_page(pages.TRAIN).run()
    at.number_input(key="train.form.epochs").set_value(2)
    at.button(key="train.form.start").click().run()
    no_exception(at)
    run_id = at.query_params["run"]
    assert registry().get(run_id).wait(600).state == "finished"

    at.switch_page(pages.IMPORTANCE).run()
    no_exception(at)
    probabilities = chart_data(chart_titled(at, "Module probabilities"))
    assert set(probabilities["branch"]) == {"linear", "nonlinear", "deep"}
    assert probabilities["probability"].sum() == pytest.approx(1.0, abs=1e-5)


def test_a_bad_upload_shows_its_error_and_the_session_goes_on(app):
    at = open_page(app, pages.DATA)
    at.file_uploader[0].set_value(("broken.csv", b'a,b\n1,"2\n3,4\n', "text/csv")).run()
    no_exception(at)
    assert any("broken.csv" in e and "never ends" in e for e in texts(at.error))
    assert at.session_state.get("data.table") is None
    # A message that names the file already is not led by its name again.
    at.file_uploader[0].set_value(("ragged.csv", b"a,b\n1,2\n3,4,5\n", "text/csv")).run()
    (message,) = [e for e in texts(at.error) if "ragged.csv" in e]
    assert message.count("ragged.csv") == 1, message
    at.selectbox(key="data.sample_picker").set_value("penguins")
    by_label(at.button, "Load sample").click().run()
    no_exception(at)
    assert at.session_state["data.table"] is not None
    assert not at.error


def test_quick_start_loads_a_sample_and_a_preset(app):
    at = open_page(app, pages.HOME)
    by_label(at.button, "Try it now: sample data + one branch per column group").click().run()
    no_exception(at)
    assert at.session_state["data.sample_name"] == "synthetic_groups"
    assert at.session_state["arch.spec"].preset == "per_group"
    assert [t.value for t in at.title] == ["Train"]
    assert at.button(key="train.form.start")


def test_the_train_settings_are_made_from_the_training_options(app):
    """Each setting on the Train page is its option record's widget (label, default);
    what is set there is the run's config."""
    from sattn_dash.training.config import TRAINING_OPTIONS
    from sattn_dash.ui.shared.sessions import registry, store
    from sattn_dash.ui.train.train_panel import LAYOUT

    at = open_page(app, pages.HOME)
    by_label(at.button, "Try it now: sample data + one branch per column group").click().run()
    spec = at.session_state["arch.spec"]
    for name in (n for row in LAYOUT for n in row):
        option = TRAINING_OPTIONS[name]
        widgets = [*at.number_input, *at.selectbox, *at.slider, *at.toggle]
        widget = next(w for w in widgets if w.key == f"train.form.{name}")
        expected = spec.learning_rate if name == "learning_rate" else option.default
        assert (widget.label, widget.value) == (option.label, expected), name
    at.number_input(key="train.form.epochs").set_value(1)
    at.selectbox(key="train.form.scaling").set_value("robust")
    at.number_input(key="train.form.clip").set_value(5.0)
    at.toggle(key="train.form.early_stopping").set_value(False)
    at.button(key="train.form.start").click().run()
    no_exception(at)
    run_id = at.query_params["run"]
    registry().get(run_id).wait(600)
    config = store().load(run_id).config
    assert (config.epochs, config.scaling, config.clip, config.early_stopping) == (
        1,
        "robust",
        5.0,
        False,
    )
    assert (config.batch_size, config.learning_rate, config.seed) == (None, None, 0)
