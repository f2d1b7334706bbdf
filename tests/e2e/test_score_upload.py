"""Score a new file on the Predictions page in a real browser (AppTest cannot upload):
upload a few rows of the run's own table, read the first predictions and download them
all; then upload a file without a column the model reads and see its reason, with the
earlier result kept and no page error."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.e2e.server import start_server, stop_server, wait_for_app
from tests.unit.conftest import make_modeling_table

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def scoring_server(two_target_run, artifacts):
    """The app on the workspace of ``two_target_run``; yields its base URL."""
    workspace = two_target_run.path.parents[1]  # <workspace>/runs/<run id>
    process, url = start_server(workspace, artifacts / "streamlit-score.log")
    yield url
    stop_server(process)


def upload(page, path) -> None:
    box = page.get_by_test_id("stFileUploader").filter(has_text="CSV, TSV, Parquet")
    box.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(path))
    wait_for_app(page)


def test_score_an_uploaded_file_then_a_file_lacking_a_column(
    page, scoring_server, two_target_run, artifacts, tmp_path
):
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    rows = make_modeling_table(rows=6, seed=7).drop(columns=["label", "kind", "amount"])
    rows.insert(0, "id", [f"n{i}" for i in range(len(rows))])
    good = tmp_path / "new_rows.csv"
    rows.to_csv(good, index=False)
    bad = tmp_path / "no_x2.csv"
    rows.drop(columns=["x2"]).to_csv(bad, index=False)

    page.goto(f"{scoring_server}/predictions?run={two_target_run.run_id}")
    wait_for_app(page)
    page.get_by_text("Score a new file").first.wait_for(timeout=60_000)
    keep = page.get_by_label("Id column to keep (optional)", exact=True)
    keep.fill("id")
    keep.press("Enter")
    wait_for_app(page)

    upload(page, good)
    main = page.get_by_test_id("stMain")
    main.get_by_text("new_rows.csv: 6 rows scored.").wait_for(timeout=60_000)
    # The grid is drawn on a canvas; focused, it lays out its accessible table.
    grid = main.get_by_test_id("stDataFrame").last.get_by_test_id("data-grid-canvas")
    grid.focus()
    headers = grid.locator("th[role=columnheader]")
    headers.first.wait_for(state="attached")  # canvas fallback content: never "visible"
    shown = headers.all_inner_texts()
    assert shown[:2] == ["id", "kind_pred"] and "amount_pred" in shown, shown
    first_cells = grid.locator("td[aria-colindex='1']").all_inner_texts()
    assert first_cells == list(rows["id"]), first_cells
    kind_cells = grid.locator("td[aria-colindex='2']").all_inner_texts()
    button = page.get_by_role("button", name="Download every prediction (CSV)")
    assert button.is_visible()
    page.screenshot(path=artifacts / "score-01-scored.png", full_page=True)
    with page.expect_download() as download:
        button.click()
    scored = pd.read_csv(download.value.path())
    assert list(scored.columns) == shown
    assert {"amount_lower", "amount_upper"} <= set(shown)
    assert list(scored["id"]) == list(rows["id"])
    assert kind_cells == list(scored["kind_pred"])  # the rows shown are these predictions

    upload(page, bad)
    alert = main.get_by_test_id("stAlert").filter(has_text="no_x2.csv")
    alert.wait_for()
    assert "lacks 1 column(s) the model reads: x2" in alert.inner_text()
    assert main.get_by_text("new_rows.csv: 6 rows scored.").is_visible()  # kept
    assert page.get_by_role("button", name="Download every prediction (CSV)").is_visible()
    page.screenshot(path=artifacts / "score-02-missing-column.png", full_page=True)
    assert page.get_by_test_id("stException").count() == 0
    assert errors == []
