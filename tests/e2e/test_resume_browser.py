"""Resume in a real browser: the server training a run is killed with SIGKILL, a new
server on the same workspace shows the run as interrupted with a Resume button, and
pressing it carries the run on to the end."""

from __future__ import annotations

import re
import signal
import time

import pytest
from playwright.sync_api import expect

from sattn_dash.training import RunStore
from tests.e2e.server import start_server, stop_server
from tests.e2e.test_browser import (
    churn_csv,  # noqa: F401 (fixture)
    goto,
    pick_targets,
    progress,
    set_number,
    sidebar_to,
    start_training,
    upload,
    wait_finished,
)

pytestmark = pytest.mark.e2e
EPOCHS = 40  # enough that the server is killed mid-run, even though epochs are quick


def _wait_for_checkpoint(workspace, run_id, timeout=400):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if list((workspace / "runs" / run_id).glob("checkpoints/epoch-*")):
            return
        time.sleep(0.05)
    pytest.fail("no checkpoint was written in time")


def test_resume_after_the_server_was_killed(browser, tmp_path, artifacts, churn_csv):  # noqa: F811
    workspace = tmp_path / "workspace"
    server, url = start_server(workspace, artifacts / "resume-server-killed.log")
    context = browser.new_context(viewport={"width": 1400, "height": 1800})
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        goto(page, url, "data")
        upload(page, churn_csv)
        pick_targets(page, "y")
        sidebar_to(page, "Train")
        set_number(page, "Batch size", 32)
        page.get_by_test_id("stCheckbox").filter(has_text="Early stopping").click()
        start_training(page, epochs=EPOCHS)
        run_id = re.search(r"run=([\w-]+)", page.url).group(1)
        _wait_for_checkpoint(workspace, run_id)
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=30)

        server, url = start_server(workspace, artifacts / "resume-server-new.log")
        goto(page, url, f"train?run={run_id}")
        page.get_by_text(re.compile("stopped after epoch")).wait_for()
        page.screenshot(path=artifacts / "20-interrupted-with-resume.png", full_page=True)
        page.get_by_role("button", name="Resume").click()
        progress(page).filter(has_text=re.compile("running|finished")).first.wait_for(
            timeout=60_000
        )
        wait_finished(page)
        # The page redraws once more when it sees the run end: the results come with it.
        expect(page.get_by_text("Test-set results")).to_be_visible(timeout=60_000)
        page.screenshot(path=artifacts / "21-resumed-and-finished.png", full_page=True)
        assert not page.get_by_role("button", name="Resume").count()
    finally:
        context.close()
        stop_server(server)

    run = RunStore(workspace).load(run_id)
    assert run.status == "finished" and run.history["epoch"].tolist() == list(range(1, EPOCHS + 1))
    assert run.card["resumed"][0]["from_epoch"] >= 1
