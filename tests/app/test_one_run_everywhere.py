"""One run, seen the same way on every page: the run picked on one analysis page stays
picked on the others, its test headline metric is one number with one label (Train,
Module importance, Runs), the Start button says what pressing it will do, and a
sparse-dense router that picks every branch is flagged on Module importance."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from sattn_dash.ui.shared import pages
from tests.app.conftest import APP, TIMEOUT
from tests.app.helpers import by_label, chart_data, chart_titled, no_exception, open_page, texts
from tests.app.test_sign_in import AUTH, ISSUER

PICKER = "analysis.run_picker"
START = "train.form.start"


# --- 1. the picked run follows the user across analysis pages ----------------------------


def test_a_run_picked_on_module_importance_stays_picked_on_the_other_pages(
    trained_app, trained_workspace
):
    from sattn_dash.training import RunStore

    app, runs = trained_app
    path, _ = trained_workspace
    newest = RunStore(path).list()[0].run_id
    picked = runs["groups"] if newest != runs["groups"] else runs["tokens"]

    at = open_page(app, pages.IMPORTANCE)
    no_exception(at)
    assert at.selectbox(key=PICKER).value == newest  # the default: the newest run
    at.selectbox(key=PICKER).set_value(picked).run()
    no_exception(at)
    assert at.selectbox(key=PICKER).value == picked

    for page, title in ((pages.ATTENTION, "Token attention"), (pages.PREDICTIONS, "Predictions")):
        at.switch_page(page)
        # Moving between pages in the browser drops ?run=: the pick must outlive the URL.
        at.query_params.clear()
        at.run()
        no_exception(at)
        assert [t.value for t in at.title] == [title]
        assert at.selectbox(key=PICKER).value == picked, page
        assert at.query_params["run"] == picked

    at.switch_page(pages.IMPORTANCE)
    at.query_params.clear()
    at.run()
    no_exception(at)
    assert at.selectbox(key=PICKER).value == picked


# --- 2. one number, one label: the test headline metric ----------------------------------


def test_the_test_headline_metric_is_one_number_named_test_on_every_page(
    trained_app, trained_workspace
):
    from sattn_dash.analysis import HEADLINE_METRIC
    from sattn_dash.training import RunStore

    app, runs = trained_app
    path, _ = trained_workspace
    run_id = runs["groups"]
    run = RunStore(path).load(run_id)
    (target,) = run.targets
    metric = HEADLINE_METRIC[run.tasks[target]]
    expected = run.metrics[target][metric]
    assert isinstance(expected, float)

    # Train page: the finished run's result table.
    at = open_page(app, pages.TRAIN, run_id)
    no_exception(at)
    assert "Test-set results" in texts(at.subheader)
    result = next(d.value for d in at.dataframe if "split" in d.value.columns)
    row = result[(result["target"] == target) & (result["metric"] == metric)]
    assert len(row) == 1, result
    assert row["split"].iloc[0] == "test"
    assert row["value"].iloc[0] == pytest.approx(expected, abs=1e-12)

    # Module importance: this run's bar on the baselines leaderboard, on the test rows.
    at = open_page(app, pages.IMPORTANCE, run_id)
    no_exception(at)
    leaderboard = chart_titled(at, "Leaderboard")
    board = chart_data(leaderboard)
    ours = board[board["who"] == "this run"]
    assert len(ours) == 1, board
    assert ours["metric"].iloc[0] == metric
    assert ours["value"].iloc[0] == pytest.approx(expected, abs=1e-12)
    assert f"{metric} on the test rows" in json.dumps(leaderboard["spec"])
    # Any other number of this metric on the page names its split, and it is not "test".
    for shown in at.metric:
        if metric in shown.label:
            assert "validation" in shown.label and "test" not in shown.label, shown.label

    # Runs page: the run table's column names the split.
    at = open_page(app, pages.RUNS)
    no_exception(at)
    table = at.dataframe[0].value
    column = f"{target} · test {metric}"
    assert column in table.columns, list(table.columns)
    assert table.set_index("run_id").loc[run_id, column] == pytest.approx(expected, abs=1e-12)


# --- 3. the Start button's label ----------------------------------------------------------


class _Session:
    """Stands in for a TrainingSession in the shared registry: only what start_label,
    the sidebar and Home read (no training, no CPU)."""

    def __init__(self, run_id: str, user: str | None = None, done: bool = False):
        self.run_id = run_id
        self.store = SimpleNamespace(user=user)
        self.started = True
        self.done = done

    def status(self):
        return SimpleNamespace(
            done=self.done,
            state="finished" if self.done else "running",
            epoch=1,
            epochs=3,
            progress=1.0 if self.done else 0.3,
        )


def _shared_registry():
    """The registry the app under test uses (st.cache_resource is process-wide)."""
    from sattn_dash.ui.shared import sessions
    from sattn_dash.workspace import default_workspace

    return sessions._registry(str(default_workspace().resolve()))


def _train_page(at):
    at.run()
    by_label(at.button, "Try it now: sample data + one branch per column group").click().run()
    no_exception(at)
    assert [t.value for t in at.title] == ["Train"]
    return at


def _start_label(at) -> str:
    return at.button(key=START).label


def test_start_button_says_start_unless_another_run_holds_the_slot(app, workspace):
    at = _train_page(app)
    registry = _shared_registry()
    assert registry.max_concurrent == 1
    assert _start_label(at) == "Start training"

    # This tab's own run finished: nothing is busy, a new run starts at once.
    registry._sessions["mine-done"] = _Session("mine-done", done=True)
    at.session_state["train.my_runs"] = ["mine-done"]
    at.run()
    no_exception(at)
    assert _start_label(at) == "Start training"

    # This tab's own run is still training: the new one follows it; no "Queue".
    registry._sessions["mine-busy"] = _Session("mine-busy")
    at.session_state["train.my_runs"] = ["mine-done", "mine-busy"]
    at.run()
    no_exception(at)
    assert _start_label(at) == "Start another run"
    assert "Queue" not in _start_label(at)

    # Another tab's run holds the only slot: now, and only now, it says Queue.
    del registry._sessions["mine-busy"]
    registry._sessions["theirs"] = _Session("theirs")
    at.run()
    no_exception(at)
    assert _start_label(at).startswith("Queue training")

    # The slot frees up: back to Start.
    registry._sessions["theirs"].done = True
    at.run()
    no_exception(at)
    assert _start_label(at) == "Start training"


def test_start_button_says_queue_when_another_signed_in_user_holds_the_slot(workspace):
    """With sign-in on, another user's run is hidden from this user, but it still takes
    the one training slot: a run started now waits, and the button must say so."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": True, "iss": ISSUER, "sub": "alice", "email": "a@example.org"}
    at = _train_page(at)
    assert _start_label(at) == "Start training"

    registry = _shared_registry()
    registry._sessions["bobs"] = _Session("bobs", user=f"{ISSUER}#bob")
    alice = registry.for_user(f"{ISSUER}#alice")
    assert alice.would_wait() and not alice.active()  # hidden from her, yet in the way
    at.run()
    no_exception(at)
    assert _start_label(at).startswith("Queue training"), _start_label(at)


# --- 4. a sparse-dense router that picks every branch is flagged -------------------------

NOT_SPARSE = "**Not sparse**"


@pytest.fixture(scope="module")
def routed_workspace(tmp_path_factory):
    """Two tiny sparse_dense runs over three branches: top_k = 3 (every branch) and 2."""
    from sattn_dash.modeling import BlockSpec, BranchSpec, CombinerSpec, HeadSpec, ModelSpec
    from sattn_dash.tabular import infer_schema
    from sattn_dash.training import RunStore, TrainingConfig, TrainingSession

    rng = np.random.default_rng(0)
    n = 240
    df = pd.DataFrame({f"x{i}": rng.normal(size=n) for i in range(1, 5)})
    df["y"] = np.where(df["x1"] + 0.5 * df["x2"] > 0, "yes", "no")
    schema = infer_schema(df, targets=["y"])
    path = tmp_path_factory.mktemp("routed") / "workspace"
    runs = {}
    for top_k in (3, 2):
        spec = ModelSpec(
            name=f"router top {top_k}",
            branches=tuple(
                BranchSpec(name, blocks=(BlockSpec("dense", units=8, activation=act),))
                for name, act in (("relu", "relu"), ("tanh", "tanh"), ("linear", "linear"))
            ),
            combiner=CombinerSpec("sparse_dense", top_k=top_k, num_heads=1, key_dim=4),
            heads=(HeadSpec("y"),),
        )
        session = TrainingSession(
            df,
            schema,
            spec,
            TrainingConfig(epochs=2, seed=0),
            RunStore(path),
            title=f"top {top_k} of 3",
        )
        status = session.start().wait(600)
        assert status.state == "finished", status
        runs[top_k] = session.run_id
    return path, runs


def _importance_of(workspace, monkeypatch, run_id):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("SATTN_DASH_WORKSPACE", str(workspace))
    at = open_page(AppTest.from_file(APP, default_timeout=TIMEOUT), pages.IMPORTANCE, run_id)
    no_exception(at)
    assert at.selectbox(key=PICKER).value == run_id
    return at


def test_a_router_whose_top_k_covers_every_branch_is_flagged(routed_workspace, monkeypatch):
    from sattn_dash.training import RunStore

    path, runs = routed_workspace
    spec = RunStore(path).load(runs[3]).spec
    assert spec.combiner.kind == "sparse_dense"
    assert spec.combiner.top_k == len(spec.branches) == 3
    at = _importance_of(path, monkeypatch, runs[3])
    flags = [m for m in texts(at.info) if NOT_SPARSE in m]
    assert len(flags) == 1, texts(at.info)
    assert "top 3 of 3 branches" in flags[0]


def test_a_router_with_top_k_below_the_branch_count_is_not_flagged(routed_workspace, monkeypatch):
    from sattn_dash.training import RunStore

    path, runs = routed_workspace
    spec = RunStore(path).load(runs[2]).spec
    assert spec.combiner.kind == "sparse_dense"
    assert spec.combiner.top_k < len(spec.branches)
    at = _importance_of(path, monkeypatch, runs[2])
    assert chart_titled(at, "Module probabilities")  # the page got past the flag's place
    assert not [m for m in texts(at.info) if NOT_SPARSE in m], texts(at.info)
