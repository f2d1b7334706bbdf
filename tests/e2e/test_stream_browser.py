"""A folder of Parquet files on the server, over the memory budget: in a real browser the
Data page says it streams and why, and a run started on the Train page finishes having
tested on every test row of the table."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from sattn_dash.tabular import split_codes
from sattn_dash.training import RunStore
from tests.e2e.server import start_server, stop_server, wait_for_app
from tests.e2e.test_browser import goto, pick_targets, set_number, sidebar_to

pytestmark = pytest.mark.e2e

ROWS = 3_000


@pytest.fixture
def stream_server(tmp_path, artifacts, monkeypatch):
    root = tmp_path / "data"
    (root / "events").mkdir(parents=True)
    rng = np.random.default_rng(5)
    df = pd.DataFrame({"x": rng.normal(size=ROWS), "z": rng.normal(size=ROWS)})
    df["clicked"] = np.where(df["x"] + 0.3 * df["z"] > 0, "yes", "no")
    for i in range(3):
        df.iloc[i * 1000 : (i + 1) * 1000].to_parquet(root / "events" / f"part-{i}.parquet")
    monkeypatch.setenv("SATTN_DASH_DATA_ROOT", str(root))
    monkeypatch.setenv("SATTN_DASH_MEMORY_BUDGET_MB", "0.01")  # this table streams
    workspace = tmp_path / "ws"
    process, url = start_server(workspace, artifacts / "streamlit-stream-server.log")
    yield url, workspace
    stop_server(process)


def test_a_streamed_table_trains_from_the_browser(page, stream_server, artifacts):
    url, workspace = stream_server
    goto(page, url, "data")
    page.get_by_text("…or read a file, folder or glob on the server").click()
    box = page.locator('input[aria-label="Path inside the data folder"]')
    box.fill("events")
    box.press("Enter")
    page.get_by_role("button", name="Read").click()
    wait_for_app(page)
    page.get_by_text("3,000 rows (streamed)").wait_for()
    page.get_by_text(re.compile(r"Streaming: 3,000 rows × 3 columns would need")).wait_for()
    pick_targets(page, "clicked")
    page.screenshot(path=str(artifacts / "stream-data.png"))

    sidebar_to(page, "Train")
    page.get_by_text(re.compile("Every one of its 3,000 rows is trained and tested on")).wait_for()
    set_number(page, "Epochs", 2)
    page.get_by_role("button", name="Start training").click()
    page.get_by_text(re.compile(r"· finished ·")).wait_for(timeout=240_000)
    wait_for_app(page)
    page.screenshot(path=str(artifacts / "stream-trained.png"), full_page=True)

    (run,) = RunStore(workspace).list()
    test_rows = int((split_codes(np.arange(ROWS), 0, 0.2, 0.2) == 2).sum())
    assert run.status == "finished"
    assert RunStore(workspace).load(run.run_id).metrics["clicked"]["n"] == test_rows
