"""The Search page through AppTest: start a small study in the background, follow it,
open the best trial; stop a study; a bad space is refused with its reason."""

from __future__ import annotations

import json
import time

import pytest

from sattn_dash.search import background
from sattn_dash.ui.shared import pages
from tests.app.helpers import by_label, chart_data, chart_titled, no_exception, texts

TINY = {
    "branches": 1,
    "branch_kinds": {"mlp": {"depth": 1, "width": 8}},
    "layout": "all_columns",
    "combiner": {"choices": ["sparse_attention", "mean"]},
    "batch_size": 64,
    "epochs": 2,
}


@pytest.fixture(autouse=True)
def no_search_left_running(workspace):
    """A failed test must not leave its background search training on."""
    yield
    for name in background.list_studies(workspace):
        if background.stop(name, workspace):
            _wait_until(lambda n=name: not background.launch_state(n, workspace)["alive"], 60)


def _search_page(app, space: dict, trials: int, name: str):
    at = app.run()
    at.switch_page(pages.DATA).run()
    at.selectbox(key="data.sample_picker").set_value("penguins")
    by_label(at.button, "Load sample").click().run()
    at.switch_page(pages.SEARCH).run()
    no_exception(at)
    at.text_input(key="search.form.name").set_value(name)
    at.number_input(key="search.form.trials").set_value(trials)
    at.text_area(key="search.form.space").set_value(json.dumps(space))
    return at


def _wait_until(predicate, timeout=300.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError("timed out")


def test_start_a_study_follow_it_and_open_the_best_trial(app, workspace):
    at = _search_page(app, TINY, 2, "page-study")
    at.button(key="search.form.start").click().run()
    no_exception(at)
    assert not at.error, texts(at.error)
    assert at.query_params["study"] == "page-study"
    _wait_until(lambda: not background.launch_state("page-study", workspace)["alive"])
    state = background.launch_state("page-study", workspace)
    assert state["result"]["counts"]["COMPLETE"] == 2, state

    at.run()  # as a refresh would: the study is found again from ?study=
    no_exception(at)
    trials = at.dataframe[0].value
    assert list(trials["state"]) == ["COMPLETE", "COMPLETE"]
    assert all(
        link == f"importance?run={r}"
        for link, r in zip(trials["open"], trials["run_id"], strict=True)
    )
    # Penguins' species has three classes: trials are judged as training judges them,
    # by validation accuracy (higher is better).
    curve = chart_data(chart_titled(at, "Best validation accuracy so far"))
    assert list(curve["best"]) == sorted(curve["best"])
    assert chart_titled(at, "Parameters of each trial against the metric")
    assert any("read it as a hint" in c.value for c in at.caption)  # 2 trials: a hint
    best = state["result"]["best"]
    links = [e for e in at.get("page_link") if "best trial" in e.proto.label]
    assert links and links[0].proto.page == "importance"  # one click to its page
    assert links[0].proto.query_string == f"run={best['run_id']}"
    at.switch_page(pages.IMPORTANCE)
    at.query_params["run"] = best["run_id"]
    at.run()
    no_exception(at)
    assert at.selectbox(key="analysis.run_picker").value == best["run_id"]


def test_stop_ends_the_running_trial_cleanly(app, workspace):
    slow = {**TINY, "epochs": 400, "patience": 400, "learning_rate": 1e-5}
    at = _search_page(app, slow, 5, "stopped-study")
    at.button(key="search.form.start").click().run()
    no_exception(at)

    def a_trial_runs() -> bool:
        at.run()
        return any("`stopped-study`" in t.value and "1 running" in t.value for t in at.markdown)

    _wait_until(a_trial_runs)
    at.button(key="search.form.stop").click().run()
    _wait_until(lambda: not background.launch_state("stopped-study", workspace)["alive"])
    result = background.launch_state("stopped-study", workspace)["result"]
    assert result["status"] == "stopped"
    assert [t["outcome"] for t in result["trials"]] == ["stopped"]


def test_a_bad_space_is_refused_with_its_reason(app, workspace):
    at = _search_page(app, {"dropout": 2}, 2, "bad-space")
    at.button(key="search.form.start").click().run()
    no_exception(at)
    assert any("space.dropout: expected a rate" in e for e in texts(at.error))
    assert background.launch_state("bad-space", workspace) is None
