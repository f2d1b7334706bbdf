"""The Predictions page through AppTest, on runs trained with the real library: the
calibration view, the cost shown before explaining, the background job, the dataset
agreement view and one row's attention beside its attribution."""

from __future__ import annotations

import time

import pytest

from sattn_dash.analysis.attributions import explanations
from sattn_dash.training import RunStore
from sattn_dash.ui.shared import pages
from tests.app.helpers import chart_data, chart_titled, charts, no_exception, open_page, texts


def _wait_for_explanations(workspace, run_id, rows, timeout=240):
    run = RunStore(workspace).load(run_id)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = explanations.cached_explanations(run, "val", rows, 32)
        if found is not None:
            return found
        time.sleep(0.5)
    raise AssertionError("the explanation job did not finish")


def test_calibration_of_a_classification_run(trained_app):
    app, runs = trained_app
    at = open_page(app, pages.PREDICTIONS, runs["groups"])
    no_exception(at)
    bins = chart_data(chart_titled(at, "Reliability diagram (test rows)"))
    assert bins["rows"].sum() > 0
    assert {"mean_predicted", "observed"} <= set(bins.columns)
    metrics = {m.label: m.value for m in at.metric}
    assert 0 <= float(metrics["Expected calibration error"]) <= 1
    slider = at.slider[0]
    before = chart_data(chart_titled(at, "Confusion matrix at this threshold"))
    slider.set_value(0.9).run()
    after = chart_data(chart_titled(at, "Confusion matrix at this threshold"))
    assert before["rows"].sum() == after["rows"].sum()
    predicted_yes = lambda f: f.loc[f["predicted"] == f["true"].iloc[0], "rows"].sum()  # noqa: E731
    assert predicted_yes(after) <= predicted_yes(before)  # a higher bar: fewer positive calls


def test_explain_rows_in_the_background_then_read_them(trained_app, trained_workspace):
    app, runs = trained_app
    workspace, _ = trained_workspace
    at = open_page(app, pages.PREDICTIONS, runs["groups"])
    at.selectbox(key="predictions.widget.rows").set_value(50).run()
    start = next(b for b in at.button if b.label.startswith("Explain 50 rows"))
    assert "about" in start.label  # the cost is shown before it is paid
    start.click().run()
    no_exception(at)
    found = _wait_for_explanations(workspace, runs["groups"], 50)
    assert found["completeness"]["row"].nunique() == 50
    at.run()
    no_exception(at)
    assert not at.error, texts(at.error)
    assert any("Completeness:" in t for t in texts(at.success) + texts(at.warning))
    histogram = chart_data(chart_titled(at, "Row-by-row agreement over the explained rows"))
    assert histogram["comparison"].eq("combiner weights").all()
    titles = [c["spec"].get("title", {}).get("text") for c in charts(at)]
    assert "Attribution per branch" in titles and "Attention: combiner weights" in titles
    # A second visit reads the stored tables: no button, no job.
    again = open_page(app, pages.PREDICTIONS, runs["groups"])
    again.selectbox(key="predictions.widget.rows").set_value(50).run()
    assert not [b for b in again.button if b.label.startswith("Explain")]


@pytest.mark.parametrize("run_name", ["tokens"])
def test_feature_attention_rows_compare_attention_over_columns(
    trained_app, trained_workspace, run_name
):
    app, runs = trained_app
    workspace, _ = trained_workspace
    run = RunStore(workspace).load(runs[run_name])
    explanations.explanations_for_run(run, "val", 50, 32)  # as the job would
    at = open_page(app, pages.PREDICTIONS, runs[run_name])
    at.selectbox(key="predictions.widget.rows").set_value(50).run()
    no_exception(at)
    assert not at.error, texts(at.error)
    attribution = chart_data(chart_titled(at, "Attribution per column"))
    assert set(attribution["column"]) <= set(run.prepared.schema.feature_columns)
