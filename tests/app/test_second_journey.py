"""What a second browser journey on unseen tables found (issue 25), page by page: the
run a user last trained or picked is the one every page opens, the Start button knows
this tab's own run after a reload, and the words and charts a user met."""

from __future__ import annotations

import pytest

from sattn_dash.ui.shared import pages
from tests.app.helpers import no_exception, open_page

PICKER = "analysis.run_picker"


@pytest.fixture(scope="module")
def mean_workspace(tmp_path_factory):
    """One real run on the penguins (three classes) whose three branches are averaged
    (the ``mean`` combiner: no weight per branch to read)."""
    from sattn_dash.tabular import SAMPLES, infer_schema, load_sample, prepare
    from sattn_dash.training import RunStore, TrainingConfig, TrainingSession, resolve_spec

    path = tmp_path_factory.mktemp("mean") / "workspace"
    df = load_sample("penguins")
    schema = infer_schema(df, targets=list(SAMPLES["penguins"].targets))
    config = TrainingConfig(epochs=2, seed=0)
    prepared = prepare(df, schema, seed=0, test_size=config.test_size, val_size=config.val_size)
    spec = resolve_spec("ensemble", prepared, combiner="mean")
    session = TrainingSession(
        df, schema, spec, config, RunStore(path), prepared=prepared, title="mean run"
    )
    assert session.start().wait(600).state == "finished"
    return path, session.run_id


@pytest.fixture
def mean_app(mean_workspace, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from tests.app.conftest import APP, TIMEOUT

    path, run_id = mean_workspace
    monkeypatch.setenv("SATTN_DASH_WORKSPACE", str(path))
    return AppTest.from_file(APP, default_timeout=TIMEOUT), run_id


# --- 2. the run last trained or picked is the one every page opens -----------------------


def test_the_run_followed_on_train_after_a_pick_is_the_one_the_analysis_pages_open(
    trained_app,
):
    """Pick run A on Module importance, then train run B (the Train page follows it in
    ``?run=``): the sidebar's links (which drop ``?run=``) must open B, not A."""
    at, runs = trained_app
    picked, trained = runs["groups"], runs["tokens"]
    at = open_page(at, pages.IMPORTANCE)
    at.selectbox(key=PICKER).set_value(picked).run()
    no_exception(at)
    assert at.selectbox(key=PICKER).value == picked

    at.switch_page(pages.TRAIN)
    at.query_params.clear()
    at.query_params["run"] = trained  # what Start writes, and what a refresh keeps
    at.run()
    no_exception(at)

    for page in (pages.ATTENTION, pages.PREDICTIONS, pages.IMPORTANCE):
        at.switch_page(page)
        at.query_params.clear()
        at.run()
        no_exception(at)
        assert at.selectbox(key=PICKER).value == trained, page

    # And a pick after that wins again.
    at.selectbox(key=PICKER).set_value(picked).run()
    at.switch_page(pages.ATTENTION)
    at.query_params.clear()
    at.run()
    assert at.selectbox(key=PICKER).value == picked


# --- 5. after a reload mid-training, this tab's own run is not "another user's" -----------


def test_after_a_reload_mid_training_start_does_not_blame_another_tab(app, workspace):
    from streamlit.testing.v1 import AppTest

    from tests.app.conftest import APP, TIMEOUT
    from tests.app.helpers import by_label

    app.run()
    by_label(app.button, "Try it now: sample data + one branch per column group").click().run()
    no_exception(app)
    app.number_input(key="train.form.epochs").set_value(10_000).run()
    app.button(key="train.form.start").click().run()
    no_exception(app)
    run_id = app.query_params["run"]
    address = {k: app.query_params[k] for k in ("run", "work")}
    from sattn_dash.ui.shared import sessions

    registry = sessions._registry(str(workspace.resolve()))
    try:
        assert registry.get(run_id) is not None and not registry.get(run_id).done
        # A reload: a new session with the same address, nothing in session state.
        again = AppTest.from_file(APP, default_timeout=TIMEOUT)
        again.run()
        again.switch_page(pages.TRAIN)
        for key, value in address.items():
            again.query_params[key] = value
        again.run()
        no_exception(again)
        label = again.button(key="train.form.start").label
        assert not label.startswith("Queue"), label
        assert label == "Start another run"
    finally:
        registry.stop(run_id)
        registry.get(run_id).wait(120)


# --- 3. the live panel keeps one layout from queued to finished ----------------------------


def _shape(node, path=()) -> dict:
    """``{path: "block" | "element"}`` of every node under ``node``: what the browser's
    element tree holds at each delta path."""
    from streamlit.testing.v1.element_tree import Block

    out = {}
    for index, child in node.children.items():
        here = (*path, index)
        if isinstance(child, Block):
            out[here] = "block"
            out.update(_shape(child, here))
        else:
            out[here] = "element"
    return out


def test_the_live_panel_never_turns_an_element_into_a_block_as_a_run_moves_on(app, workspace):
    """The browser raised "'setIn' cannot be called on an ElementNode" as a run finished:
    the live fragment's reruns addressed a path inside a block where the tree still held
    an element (the Stop button's slot became the curves' columns). Every state the
    panel draws (no epoch yet, training with curves, ended) must agree, at every path
    they share, on whether it is an element or a block."""
    import time

    from sattn_dash.training import RunStore
    from sattn_dash.ui.shared import sessions
    from tests.app.helpers import by_label

    app.run()
    by_label(app.button, "Try it now: sample data + one branch per column group").click().run()
    app.number_input(key="train.form.epochs").set_value(10_000).run()
    app.button(key="train.form.start").click().run()
    no_exception(app)
    run_id = app.query_params["run"]
    registry = sessions._registry(str(workspace.resolve()))
    shapes = {}
    try:
        shapes["started"] = _shape(app.main)
        deadline = time.monotonic() + 300
        while RunStore(workspace).load(run_id).history.empty:
            assert time.monotonic() < deadline, "no epoch ended in 300 s"
            time.sleep(0.5)
        app.run()
        no_exception(app)
        assert app.button(key="train.form.stop")  # busy here: the Stop button is drawn
        shapes["training"] = _shape(app.main)
    finally:
        registry.stop(run_id)
        registry.get(run_id).wait(120)
    app.run()  # the fragment sees the end and reruns the page once
    app.run()
    no_exception(app)
    assert "Test-set results" in [s.value for s in app.subheader] or app.dataframe
    shapes["ended"] = _shape(app.main)
    clashes = [
        (path, {name: shape[path] for name, shape in shapes.items() if path in shape})
        for path in set().union(*shapes.values())
        if len({shape[path] for shape in shapes.values() if path in shape}) > 1
    ]
    assert not clashes, sorted(clashes)


# --- 4. a mean-combiner run: no weights to read, so ablation and permutation are shown -----


def test_a_mean_combiner_run_shows_ablation_and_permutation_and_no_error(mean_app):
    at, run_id = mean_app
    at = open_page(at, pages.IMPORTANCE, run_id)
    no_exception(at)
    assert not at.error, [e.value for e in at.error]  # a normal state is not an error
    assert any("no weight" in i.value for i in at.info), [i.value for i in at.info]
    tables = [d.value for d in at.dataframe]
    assert any({"branch", "ablation", "permutation"} <= set(t.columns) for t in tables), [
        list(t.columns) for t in tables
    ]
    evidence = next(t for t in tables if "ablation" in t.columns)
    assert len(evidence) == 3 and evidence["ablation"].notna().all()


# --- 6. several classes: the full confusion matrix ------------------------------------------


def test_multiclass_predictions_show_the_full_confusion_matrix(mean_app):
    from tests.app.helpers import chart_data, chart_titled

    at, run_id = mean_app
    at = open_page(at, pages.PREDICTIONS, run_id)
    no_exception(at)
    matrix = chart_titled(at, "Confusion matrix, every class")
    cells = chart_data(matrix)
    classes = sorted(cells["true"].unique())
    assert len(classes) == 3 and len(cells) == 9, cells
    assert set(cells["predicted"]) == set(classes)
    assert cells.groupby("true")["share"].sum().round(6).eq(1.0).all()  # row shares


# --- 7. words: one branch is "1 branch", combiners by name ---------------------------------


def test_the_train_page_names_the_model_in_words(app):
    import dataclasses

    from tests.app.helpers import by_label

    app.run()
    by_label(app.button, "Try it now: sample data + one branch per column group").click().run()
    spec = app.session_state["arch.spec"]
    app.session_state["arch.spec"] = dataclasses.replace(spec, branches=spec.branches[:1])
    app.run()
    no_exception(app)
    line = next(m.value for m in app.markdown if m.value.startswith("**Model:**"))
    assert " 1 branch " in line and "branches" not in line, line
    assert "Sparse attention weighting" in line and "sparse_attention" not in line, line
