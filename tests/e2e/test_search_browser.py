"""The Search page in a real browser: start a 3-trial study, watch the trials come in,
open the best trial's Module importance page."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from tests.e2e.server import wait_for_app
from tests.e2e.test_browser import goto, pick_targets, set_number, sidebar_to, upload

pytestmark = pytest.mark.e2e

SEARCH_TIMEOUT_MS = 300_000
TINY = {
    "branches": {"low": 1, "high": 2},
    "branch_kinds": {"mlp": {"depth": 1, "width": {"choices": [8, 16]}}},
    "layout": "all_columns",
    "combiner": "sparse_attention",  # the importance page's probabilities chart
    "batch_size": 64,
    "epochs": 2,
}


@pytest.fixture
def signal_csv(tmp_path):
    rng = np.random.default_rng(5)
    n = 300
    df = pd.DataFrame(
        {"x1": rng.normal(size=n), "x2": rng.normal(size=n), "noise": rng.normal(size=n)}
    )
    df["y"] = np.where(df["x1"] - df["x2"] > 0, "up", "down")
    path = tmp_path / "signal.csv"
    df.to_csv(path, index=False)
    return path


def test_start_a_search_watch_the_trials_and_open_the_best(page, app_server, artifacts, signal_csv):
    goto(page, app_server, "data")
    upload(page, signal_csv)
    pick_targets(page, "y")
    sidebar_to(page, "Search")

    name = page.get_by_label("Study name", exact=True)
    name.fill("browser-study")
    name.press("Enter")
    wait_for_app(page)
    set_number(page, "Trials", 3)
    page.get_by_text("Search space (JSON)").click()
    space = page.get_by_test_id("stTextArea").locator("textarea")
    space.fill(json.dumps(TINY, indent=2))
    space.press("Control+Enter")
    wait_for_app(page)
    page.screenshot(path=artifacts / "search-01-form.png", full_page=True)

    page.get_by_role("button", name=re.compile("Start search")).click()
    wait_for_app(page)
    page.wait_for_url(re.compile(r"[?&]study=browser-study"), timeout=30_000)  # the address follows
    main = page.get_by_test_id("stMain")
    # Small trials can all end between two refreshes: any count shows the table filling.
    main.get_by_text(re.compile(r"[123] / 3 trials done")).first.wait_for(timeout=SEARCH_TIMEOUT_MS)
    main.get_by_test_id("stDataFrame").first.wait_for()  # the trials table fills in
    page.screenshot(path=artifacts / "search-02-running.png", full_page=True)
    main.get_by_text(re.compile(r"3 / 3 trials done.*not running")).first.wait_for(
        timeout=SEARCH_TIMEOUT_MS
    )
    wait_for_app(page)
    main.get_by_test_id("stVegaLiteChart").first.wait_for()  # best so far, coordinates
    page.screenshot(path=artifacts / "search-03-done.png", full_page=True)
    assert page.get_by_test_id("stException").count() == 0

    page.get_by_role("link", name=re.compile("Open the best trial")).click()
    page.wait_for_url(re.compile(r"importance\?run=\d{8}-\d{6}-[0-9a-f]{6}"))
    wait_for_app(page)
    page.get_by_text("Module probabilities").first.wait_for(timeout=60_000)
    wait_for_app(page)
    page.screenshot(path=artifacts / "search-04-best-trial.png", full_page=True)
    assert page.get_by_test_id("stException").count() == 0
