"""The per-row view in a real browser: open a trained run's Predictions page, pay for the
explanation after reading its cost, watch the progress, then read one row's routing
beside its attributions and pick another row."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.server import wait_for_app

pytestmark = pytest.mark.e2e


def test_explain_rows_and_read_one_row(page, explained_server, artifacts):
    url, run_id = explained_server
    page.goto(f"{url}/predictions?run={run_id}")
    wait_for_app(page)
    page.get_by_text("Reliability diagram (test rows)").first.wait_for(timeout=60_000)
    start = page.get_by_role("button", name=re.compile(r"Explain \d+ rows \(about .+\)"))
    start.wait_for(timeout=60_000)
    page.screenshot(path=artifacts / "explain-01-cost.png", full_page=True)
    start.click()
    page.get_by_text("One row: attention beside attribution").wait_for(timeout=180_000)
    wait_for_app(page)
    page.get_by_text("Row-by-row agreement over the explained rows").first.wait_for()
    page.get_by_text("Attention: routing").first.wait_for()
    page.get_by_text("Attribution per branch").first.wait_for()
    page.screenshot(path=artifacts / "explain-02-row.png", full_page=True)

    row_box = page.get_by_test_id("stSelectbox").filter(has_text="Row").last
    row_box.scroll_into_view_if_needed()
    choice = row_box.get_by_role("combobox")
    before = choice.input_value()
    assert before.startswith("row ")
    choice.click()  # opens the list; the keys pick the next row
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    wait_for_app(page)
    expect(choice).not_to_have_value(before, timeout=60_000)  # another row is shown
    page.get_by_text("Attribution per branch").first.wait_for()
    assert page.get_by_test_id("stVegaLiteChart").count() >= 6
    assert page.get_by_test_id("stException").count() == 0
    page.screenshot(path=artifacts / "explain-03-another-row.png", full_page=True)
