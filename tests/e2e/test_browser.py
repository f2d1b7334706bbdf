"""The dashboard in a real browser: Chromium (Debian's) driven by Playwright against
`streamlit run app.py` on a free port with a temporary workspace.

Screenshots of every step are kept in test-artifacts/ for a person to look at.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from tests.e2e.server import wait_for_app

pytestmark = pytest.mark.e2e

TRAINING_TIMEOUT_MS = 240_000


@pytest.fixture
def churn_csv(tmp_path):
    """A table whose answer is known: y depends on x1 and x2 only."""
    rng = np.random.default_rng(3)
    n = 600
    df = pd.DataFrame(
        {
            "x1": rng.normal(size=n),
            "x2": rng.normal(size=n),
            "noise": rng.normal(size=n),
            "city": rng.choice(["north", "south", "east"], size=n),
        }
    )
    df["y"] = np.where(df["x1"] + df["x2"] > 0, "yes", "no")
    path = tmp_path / "churn.csv"
    df.to_csv(path, index=False)
    return path


def goto(page, url: str, path: str = "") -> None:
    page.goto(f"{url}/{path}")
    wait_for_app(page)


def sidebar_to(page, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
    wait_for_app(page)


def upload(page, path) -> None:
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(path))
    wait_for_app(page)


def pick_targets(page, *names: str) -> None:
    box = page.get_by_test_id("stMultiSelect").filter(has_text="Target column(s) to predict")
    for name in names:
        box.locator("input").click()
        page.get_by_role("option", name=name, exact=True).click()
        wait_for_app(page)
    page.keyboard.press("Escape")


def set_number(page, label: str, value) -> None:
    field = page.get_by_label(label, exact=True)
    field.fill(str(value))
    field.press("Enter")
    wait_for_app(page)


def progress(page):
    """The live panel's progress bar (the sidebar has its own for every running job)."""
    return page.get_by_test_id("stMain").get_by_test_id("stProgress")


def start_training(page, epochs: int) -> None:
    set_number(page, "Epochs", epochs)
    page.get_by_role(
        "button", name=re.compile("Start training|Start another run|Queue training")
    ).click()
    progress(page).first.wait_for(timeout=60_000)


def wait_finished(page) -> None:
    progress(page).filter(has_text="finished").wait_for(timeout=TRAINING_TIMEOUT_MS)
    wait_for_app(page)


def test_upload_train_and_read_importance(page, app_server, artifacts, churn_csv):
    goto(page, app_server)
    page.screenshot(path=artifacts / "01-home.png", full_page=True)

    sidebar_to(page, "Data")
    upload(page, churn_csv)
    page.get_by_text("What to predict").wait_for()
    pick_targets(page, "y")
    page.get_by_test_id("stSelectbox").filter(has_text="Task for").first.wait_for()
    page.screenshot(path=artifacts / "02-data.png", full_page=True)

    sidebar_to(page, "Architecture")
    page.get_by_test_id("stRadioGroup").get_by_text("KMR: relu / tanh / residual").click()
    wait_for_app(page)
    page.get_by_test_id("stGraphVizChart").wait_for()
    page.screenshot(path=artifacts / "03-architecture.png", full_page=True)

    sidebar_to(page, "Train")
    start_training(page, epochs=2)
    assert "run=" in page.url
    wait_finished(page)
    page.get_by_test_id("stVegaLiteChart").first.wait_for()
    page.screenshot(path=artifacts / "04-train-finished.png", full_page=True)

    page.get_by_role("link", name="Module importance").first.click()
    wait_for_app(page)
    page.get_by_text("Module probabilities").first.wait_for(timeout=60_000)
    chart = page.get_by_test_id("stVegaLiteChart").first
    chart.wait_for()
    assert chart.locator("canvas, svg").count() > 0
    wait_for_app(page)  # every section drawn, the slow ones (baselines) included
    page.screenshot(path=artifacts / "05-importance.png", full_page=True)
    assert page.get_by_test_id("stException").count() == 0


def test_malformed_upload_shows_its_error_and_the_session_goes_on(
    page, app_server, artifacts, tmp_path
):
    bad = tmp_path / "broken.csv"
    bad.write_bytes(b'a,b\n1,"2\n3,4\n')
    goto(page, app_server, "data")
    upload(page, bad)
    alert = page.get_by_test_id("stAlert").filter(has_text="never ends")
    alert.wait_for()
    assert "broken.csv" in alert.inner_text()
    page.screenshot(path=artifacts / "06-malformed-upload.png", full_page=True)
    assert page.get_by_test_id("stException").count() == 0

    # The session is still usable: a sample loads and shows its schema.
    page.get_by_role("button", name="Load sample").click()
    wait_for_app(page)
    page.get_by_text("What to predict").wait_for()
    page.screenshot(path=artifacts / "07-after-malformed-sample.png", full_page=True)


def test_refresh_during_training_reattaches(page, app_server, artifacts, churn_csv):
    goto(page, app_server, "data")
    upload(page, churn_csv)
    pick_targets(page, "y")
    sidebar_to(page, "Train")
    set_number(page, "Batch size", 8)
    page.get_by_test_id("stCheckbox").filter(has_text="Early stopping").click()  # run long
    wait_for_app(page)
    start_training(page, epochs=5000)  # far more than the test lasts: Stop ends it
    run_id = re.search(r"run=([\w-]+)", page.url).group(1)
    moving = re.compile(r"batch [1-9]|epoch [2-9]")
    progress(page).filter(has_text=moving).first.wait_for(timeout=180_000)

    page.reload()
    wait_for_app(page)
    assert f"run={run_id}" in page.url
    live = progress(page).filter(has_text="batch")
    live.first.wait_for(timeout=60_000)
    first = live.first.inner_text()
    for _ in range(60):  # the reattached panel keeps updating (it polls once a second)
        page.wait_for_timeout(500)
        if live.first.inner_text() != first:
            break
    page.screenshot(path=artifacts / "08-refresh-reattached.png", full_page=True)
    assert live.first.inner_text() != first, "the reattached panel keeps updating"

    # A second tab with the same link follows the same run.
    other = page.context.new_page()
    other.goto(page.url)
    wait_for_app(other)
    progress(other).filter(has_text="batch").first.wait_for()
    other.close()

    # The fresh session has no table, yet the Stop button works on the reattached run.
    page.get_by_role("button", name="Stop", exact=True).click()
    progress(page).filter(has_text="stopped").wait_for(timeout=TRAINING_TIMEOUT_MS)
    page.screenshot(path=artifacts / "09-stopped.png", full_page=True)
