"""The Predictions page through AppTest, beyond test_predictions_page.py: the regression
view (residuals and split-conformal intervals, checked against the analysis library) and
the per-row what-if (an edited row gets its own prediction and attributions)."""

from __future__ import annotations

import math
import re

import pytest

from sattn_dash.analysis.calibration import calibration
from sattn_dash.training import RunStore
from sattn_dash.ui.shared import pages, state
from tests.app.conftest import APP, TIMEOUT, train_run
from tests.app.helpers import by_label, chart_titled, charts, no_exception, open_page, texts
from tests.app.test_predictions_page import _wait_for_explanations

TARGET = "Miles_per_Gallon"
RESIDUALS = "Residuals of the test rows"


@pytest.fixture(scope="module")
def regression_workspace(tmp_path_factory):
    """A workspace with one finished regression run: the ``ensemble`` preset (a sparse
    attention combiner over three branches) on the bundled cars sample, two epochs."""
    path = tmp_path_factory.mktemp("regression") / "workspace"
    return path, train_run(path, "cars", "ensemble", "cars run")


@pytest.fixture
def regression_app(regression_workspace, monkeypatch):
    from streamlit.testing.v1 import AppTest

    path, run_id = regression_workspace
    monkeypatch.setenv("SATTN_DASH_WORKSPACE", str(path))
    return AppTest.from_file(APP, default_timeout=TIMEOUT), run_id


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _metric(at, label: str):
    return next(m for m in at.metric if m.label == label)


def test_regression_run_shows_residuals_and_conformal_intervals(
    regression_app, regression_workspace
):
    app, run_id = regression_app
    workspace, _ = regression_workspace
    run = RunStore(workspace).load(run_id)
    assert run.tasks[TARGET] == "regression"
    at = open_page(app, pages.PREDICTIONS, run_id)
    no_exception(at)
    assert not at.error, texts(at.error)

    # The same tables the page computes, straight from the library.
    residual = calibration.residuals_for_run(run, TARGET)
    expected = calibration.conformal_for_run(run, TARGET, 0.9)
    test_rows = run.predictions.dropna(subset=[f"{TARGET}_true", f"{TARGET}_pred"])
    assert len(residual) == len(expected) == len(test_rows) > 0

    # Residuals against predictions: one point per test row, true - predicted.
    chart = chart_titled(at, RESIDUALS)
    points = max(chart["data"], key=len)
    assert len(points) == len(test_rows)
    assert sorted(points["row_index"]) == sorted(test_rows["row"])
    assert points["residual"].to_numpy() == pytest.approx(
        (points["true"] - points["prediction"]).to_numpy(), abs=1e-9
    )
    assert points["prediction"].to_numpy() == pytest.approx(
        residual["prediction"].to_numpy(), rel=1e-6
    )

    # Split-conformal intervals at the default 90%, as the library computes them.
    width = float(expected["half_width"].iloc[0])
    assert math.isfinite(width) and width > 0
    metrics = _metrics(at)
    assert metrics["Interval"] == f"± {width:.4g}"
    assert metrics["Covered on the test rows"] == f"{expected['covered'].mean():.1%}"
    assert metrics["Calibration rows"] == f"{len(run.prepared.row_index['val']):,}"
    assert int(expected["calibration_rows"].iloc[0]) == len(run.prepared.row_index["val"])
    # The dashed band of the residual chart is the interval, as a residual.
    band = min(chart["data"], key=len)
    assert sorted(band["y"]) == pytest.approx([-width, width])
    assert any("Split-conformal intervals" in c.value for c in at.caption)

    # Another coverage: the numbers follow the library again, and the interval narrows.
    slider = at.select_slider(key=f"{state.PREDICTIONS_WIDGET.name}.coverage.{TARGET}")
    assert slider.value == 0.9
    slider.set_value(0.5).run()
    no_exception(at)
    half = calibration.conformal_for_run(run, TARGET, 0.5)
    narrow = float(half["half_width"].iloc[0])
    assert narrow < width
    metrics = _metrics(at)
    assert metrics["Interval"] == f"± {narrow:.4g}"
    assert metrics["Covered on the test rows"] == f"{half['covered'].mean():.1%}"
    band = min(chart_titled(at, RESIDUALS)["data"], key=len)
    assert sorted(band["y"]) == pytest.approx([-narrow, narrow])

    # The classification-only parts are absent.
    titles = [c["spec"].get("title", {}).get("text") for c in charts(at)]
    assert "Reliability diagram (test rows)" not in titles
    assert "Confusion matrix at this threshold" not in titles
    assert "Expected calibration error" not in metrics
    assert not any("Decision threshold" in m.value for m in at.markdown)
    assert not any(s.label.startswith("Predict ") for s in at.slider)


def test_edit_one_explained_row_gives_its_own_prediction_and_attributions(
    regression_app, regression_workspace
):
    app, run_id = regression_app
    workspace, _ = regression_workspace
    run = RunStore(workspace).load(run_id)
    # The table the run was trained on, loaded on the Data page (the what-if needs it).
    at = open_page(app, pages.DATA)
    at.selectbox(key="data.sample_picker").set_value("cars")
    by_label(at.button, "Load sample").click().run()
    no_exception(at)
    at.switch_page(pages.PREDICTIONS)
    at.query_params["run"] = run_id
    at.run()
    no_exception(at)

    # Explain 50 validation rows in the background, as a user would, and wait for them.
    at.selectbox(key=f"{state.PREDICTIONS_WIDGET.name}.rows").set_value(50).run()
    next(b for b in at.button if b.label.startswith("Explain 50 rows")).click().run()
    no_exception(at)
    found = _wait_for_explanations(workspace, run_id, 50)
    at.run()
    no_exception(at)
    assert not at.error, texts(at.error)

    # The picked row as stored: its prediction and attributions.
    done = found["completeness"]
    record = done[done["row"] == 0].iloc[0]
    output = record["output"]
    before = _metrics(at)
    assert before[output] == f"{record['prediction']:.4g}"
    assert before["Sum of attributions"] == f"{record['column_sum']:+.4g}"
    attribution_before = max(chart_titled(at, "Attribution per branch")["data"], key=len)
    assert len(attribution_before)

    # Turn on the what-if: the editor holds the picked row's feature values.
    at.toggle(key=f"{state.PREDICTIONS_WIDGET.name}.edit").set_value(True).run()
    no_exception(at)
    assert not at.error, texts(at.error)
    index = record["row_index"]
    key = f"{state.EXPLAIN_EDITOR.name}.{run_id}.{index}"
    editor = at.data_editor(key=key)
    features = run.prepared.schema.feature_columns
    assert list(editor.value.columns) == features
    unedited = _metrics(at)
    # Unedited, the what-if reproduces the stored row.
    assert float(unedited[output]) == pytest.approx(float(before[output]), rel=1e-3)

    # Edit one cell (AppTest applies a keyed editor's edit state given before run()).
    weight = float(editor.value["Weight_in_lbs"].iloc[0])
    new_weight = 5000 if weight < 3000 else 1700
    at.session_state[key] = {
        "edited_rows": {"0": {"Weight_in_lbs": new_weight}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    no_exception(at)
    assert not at.error, texts(at.error)
    after = _metrics(at)

    # A new prediction and new attributions for the edited row.
    assert after[output] != before[output]
    assert after["Sum of attributions"] != before["Sum of attributions"]
    attribution_after = max(chart_titled(at, "Attribution per branch")["data"], key=len)
    assert set(attribution_after["branch"]) == set(attribution_before["branch"])
    merged = attribution_before.merge(attribution_after, on="branch", suffixes=("_0", "_1"))
    assert (merged["attribution_0"] != merged["attribution_1"]).any()
    # ... which still add up: the page's completeness figure is within its tolerance, and
    # the sum of attributions is the prediction minus the baseline prediction.
    gap = _metric(at, "Completeness gap")
    assert gap.delta == "within tolerance", (gap.value, gap.delta, gap.proto.help)
    tolerance = float(re.search(r"tolerance ([0-9.e+-]+)", gap.proto.help).group(1))
    assert float(gap.value) <= tolerance
    prediction = float(after[output])
    baseline = float(after["Baseline prediction"])
    total = float(after["Sum of attributions"])
    assert baseline == pytest.approx(float(before["Baseline prediction"]), rel=1e-3)
    shown = 1e-3 * (abs(prediction) + abs(baseline))  # the metrics show 4 significant digits
    assert abs(total - (prediction - baseline)) <= tolerance + shown
    assert abs(attribution_after["attribution"].sum() - total) <= 2 * tolerance + shown
