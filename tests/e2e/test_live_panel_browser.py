"""Follow several short runs to their end in a real browser: the live panel (a
``st.fragment(run_every=...)``) must never raise in the page. A run's end once blanked
the page with "'setIn' cannot be called on an ElementNode" (issue 25): the fragment's
element tree changed shape as the run finished. Any page error or console error fails."""

from __future__ import annotations

import re
import time

import numpy as np
import pandas as pd
import pytest

from sattn_dash.training import RunStore
from tests.e2e.server import start_server, stop_server, wait_for_app
from tests.e2e.test_browser import goto, pick_targets, progress, sidebar_to, upload

pytestmark = pytest.mark.e2e

RUNS = 3


@pytest.fixture
def live_server(tmp_path, artifacts):
    workspace = tmp_path / "ws"
    process, url = start_server(workspace, artifacts / "streamlit-live-server.log")
    yield url, workspace
    stop_server(process)


@pytest.fixture
def tiny_csv(tmp_path):
    rng = np.random.default_rng(7)
    df = pd.DataFrame({"a": rng.normal(size=160), "b": rng.normal(size=160)})
    df["y"] = np.where(df["a"] - df["b"] > 0, "up", "down")
    path = tmp_path / "tiny.csv"
    df.to_csv(path, index=False)
    return path


def _script_error(message, problems: list[str]) -> None:
    """Keep console errors of the page's scripts. A resource the box cannot fetch (it
    is offline: web fonts, a favicon) is the network's, not the app's."""
    if message.type == "error" and not message.text.startswith("Failed to load resource"):
        problems.append(f"console error: {message.text} at {message.location.get('url')}")


def test_several_runs_followed_to_their_end_raise_nothing_in_the_page(
    page, live_server, artifacts, tiny_csv
):
    url, workspace = live_server
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("console", lambda message: _script_error(message, problems))
    goto(page, url, "data")
    upload(page, tiny_csv)
    pick_targets(page, "y")
    sidebar_to(page, "Train")
    field = page.get_by_label("Epochs", exact=True)
    # the Train page's first visit loads TensorFlow: on a box shared with the other test
    # worker's training that once took longer than the 30 s default
    field.wait_for(timeout=90_000)
    field.fill("3")
    field.press("Enter")
    wait_for_app(page)

    seen = set()
    for i in range(RUNS):
        page.get_by_role("button", name=re.compile("Start training|Start another run")).click()
        deadline = time.monotonic() + 180
        while not (found := re.search(r"run=([\w-]+)", page.url)) or found.group(1) in seen:
            assert time.monotonic() < deadline, "the new run never reached the address"
            page.wait_for_timeout(200)
        run_id = found.group(1)
        seen.add(run_id)
        while RunStore(workspace).status(run_id).get("state") != "finished":
            assert time.monotonic() < deadline, f"run {i + 1} did not finish in time"
            page.wait_for_timeout(200)  # the page keeps polling meanwhile
        progress(page).filter(has_text="finished").first.wait_for(timeout=60_000)
        wait_for_app(page)
        page.wait_for_timeout(1_500)  # a fragment run that was in flight lands
        page.screenshot(path=artifacts / f"live-panel-run-{i + 1}.png", full_page=True)
        assert not problems, problems
        assert page.get_by_test_id("stException").count() == 0
        assert page.get_by_text("Test-set results").count() == 1  # the page is not blank
