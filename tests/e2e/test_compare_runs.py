"""Comparing three real runs on the Runs page in a real browser: pick them, read the
overlaid curves, switch tabs, and download the comparison as CSV."""

from __future__ import annotations

import pandas as pd
import pytest

from sattn_dash.analysis.reports import comparison
from sattn_dash.training import RunStore
from tests.e2e.server import wait_for_app

pytestmark = pytest.mark.e2e


def test_compare_three_runs_and_download_the_csv(
    page, compare_server, comparison_workspace, artifacts
):
    url, runs = compare_server
    store = RunStore(comparison_workspace[0])
    labels = {name: comparison.label(store.load(run_id)) for name, run_id in runs.items()}
    page.goto(f"{url}/runs")
    wait_for_app(page)

    picker = page.get_by_test_id("stMultiSelect").filter(has_text="Runs to compare")
    picker.wait_for()
    chosen = picker.inner_text()
    missing = [run_id for run_id in runs.values() if run_id not in chosen]
    assert len(missing) == 1, "two runs are picked to begin with"
    picker.locator("input").click()
    page.get_by_role("option", name=f"· {missing[0]}").click()
    page.keyboard.press("Escape")
    wait_for_app(page)
    assert all(run_id in picker.inner_text() for run_id in runs.values())

    main = page.get_by_test_id("stMain")
    charts = main.get_by_test_id("stVegaLiteChart")
    charts.first.wait_for()
    assert charts.count() >= 2  # loss and accuracy, overlaid
    page.screenshot(path=artifacts / "20-compare-curves.png", full_page=True)

    for tab in ("Settings", "Metrics", "Module importance"):
        page.get_by_role("tab", name=tab).click()
        wait_for_app(page)
        page.screenshot(path=artifacts / f"21-compare-{tab.lower().replace(' ', '-')}.png")
    panel = page.get_by_role("tabpanel").filter(has_text="Module importance by run")
    assert panel.count() == 1 or main.get_by_text("as the Module importance page").count() == 1
    assert page.get_by_test_id("stException").count() == 0

    with page.expect_download() as download:
        page.get_by_role("button", name="Download the comparison (CSV)").click()
    table = pd.read_csv(download.value.path())
    assert list(table.columns[:3]) == ["section", "item", "detail"]
    assert set(table.columns[3:]) == set(labels.values())
    assert {"setting", "best epoch", "final epoch", "test (saved model)"} <= set(table["section"])
    combiner = table[(table["section"] == "setting") & (table["item"] == "spec.combiner.kind")]
    assert combiner[labels["routed"]].item() == "sparse_dense"
    importance = table[table["section"] == "module importance"]
    routed = importance.set_index("item")[labels["routed"]].astype(float)
    assert routed.to_dict() == pytest.approx(store.load(runs["routed"]).module_importance)
