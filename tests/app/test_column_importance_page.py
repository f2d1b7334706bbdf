"""Which columns matter, on the Module importance page, for every model; the default
(TabM) model's members said as what they are; and per row, the attribution per column
always beside the one per branch (Predictions)."""

from __future__ import annotations

import pytest

from sattn_dash.analysis.attributions import explanations
from sattn_dash.training import RunStore
from sattn_dash.ui.shared import pages
from tests.app.conftest import train_run
from tests.app.helpers import chart_data, chart_titled, charts, no_exception, open_page, texts

COLUMNS_CHART = "Which columns matter"
MEMBERS_CHART = "Each member alone, and the ensemble (dashed)"


@pytest.fixture(scope="module")
def tabm_workspace(tmp_path_factory):
    """A workspace with one run of the default preset (one BatchEnsemble branch)."""
    path = tmp_path_factory.mktemp("tabm") / "workspace"
    return path, train_run(path, "penguins", "tabm", "tabm run")


@pytest.fixture
def tabm_app(tabm_workspace, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from tests.app.conftest import APP, TIMEOUT

    path, run_id = tabm_workspace
    monkeypatch.setenv("SATTN_DASH_WORKSPACE", str(path))
    return AppTest.from_file(APP, default_timeout=TIMEOUT), run_id


def _titles(at) -> list[str]:
    return [(c["spec"].get("title") or {}).get("text") for c in charts(at)]


def test_the_default_model_leads_with_columns_and_describes_its_members(tabm_app, tabm_workspace):
    app, run_id = tabm_app
    at = open_page(app, pages.IMPORTANCE, run_id)
    no_exception(at)
    assert not at.error, texts(at.error)
    titles = _titles(at)
    assert titles[0] == COLUMNS_CHART  # the columns lead
    assert MEMBERS_CHART in titles
    # No ranking of identical names, no verdict on them.
    assert "Module probabilities" not in titles
    assert "Attention vs ablation vs permutation" not in titles
    words = " ".join(texts(at.markdown))
    assert "interchangeable" in words and "Verdict" not in words
    run = RunStore(tabm_workspace[0]).load(run_id)
    columns = chart_data(chart_titled(at, COLUMNS_CHART))
    assert set(columns["column"]) == set(run.prepared.schema.feature_columns)
    assert (columns["permutation_std"] >= 0).all()
    assert any("Spearman" in t or "ranking" in t for t in texts(at.markdown))
    members = chart_data(chart_titled(at, MEMBERS_CHART))
    assert len(members) == 8 and members["member"].is_unique


def test_a_run_with_named_branches_shows_its_columns_beside_the_branches(
    trained_app, trained_workspace
):
    from sattn_dash.analysis.modules.members import interchangeable
    from sattn_dash.analysis.reports.runs import module_importance_for_run

    app, runs = trained_app
    at = open_page(app, pages.IMPORTANCE, runs["groups"])
    no_exception(at)
    titles = _titles(at)
    run = RunStore(trained_workspace[0]).load(runs["groups"])
    even = interchangeable(run.spec, module_importance_for_run(run)["importance"])
    # Weights too even to rank the branches: the columns lead; else the branches do.
    first, then = (COLUMNS_CHART, "Module probabilities")[:: 1 if even else -1]
    assert titles.index(first) < titles.index(then)
    columns = chart_data(chart_titled(at, COLUMNS_CHART))
    assert {"minutes_per_day", "support_calls", "plan"} <= set(columns["column"])


def test_one_row_shows_its_columns_and_branches_for_the_default_model(tabm_app, tabm_workspace):
    app, run_id = tabm_app
    run = RunStore(tabm_workspace[0]).load(run_id)
    explanations.explanations_for_run(run, "val", 50, 32)  # as the job would
    at = open_page(app, pages.PREDICTIONS, run_id)
    at.selectbox(key="predictions.widget.rows").set_value(50).run()
    no_exception(at)
    assert not at.error, texts(at.error)
    by_column = chart_data(chart_titled(at, "Attribution per column"))
    assert set(by_column["column"]) == set(run.prepared.schema.feature_columns)
    by_branch = chart_data(chart_titled(at, "Attribution per branch"))
    assert set(by_branch["branch"]) == {f"tabm_m{i}" for i in range(1, 9)}
    # The members are not ranked against the combiner's (even) weights, row by row or
    # over the rows: one sentence says why.
    titles = _titles(at)
    assert "Attention: combiner weights" not in titles
    assert "Row-by-row agreement over the explained rows" not in titles
    assert titles.count("Attribution per branch") == 1
    assert any("members of one BatchEnsemble branch" in t for t in texts(at.info))
