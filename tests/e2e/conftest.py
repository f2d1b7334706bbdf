"""Real-browser fixtures: `streamlit run app.py` on a free port, driven by Chromium.

In the way Streamlit's own e2e_playwright suite works: start the server headless with a
temporary workspace, wait for /_stcore/health, then drive Debian's chromium through
Playwright's sync API. Screenshots go to test-artifacts/ (git-ignored).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.server import CHROMIUM, CHROMIUM_ARGS, ROOT, start_server, stop_server

ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def app_server(tmp_path_factory, artifacts):
    """The app served from a temporary workspace; yields its base URL."""
    workspace = tmp_path_factory.mktemp("workspace")
    process, url = start_server(workspace, artifacts / "streamlit-server.log")
    yield url
    stop_server(process)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1800})
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    yield tab
    context.close()


# --- comparing runs and a shared server (owner: packaging and runs engineer) --------------
@pytest.fixture(scope="session")
def compare_server(comparison_workspace, artifacts):
    """The app served on the three-run workspace; yields (base URL, {name: run_id})."""
    workspace, runs = comparison_workspace
    process, url = start_server(workspace, artifacts / "streamlit-compare-server.log")
    yield url, runs
    stop_server(process)


# --- explanations (owner: explanations engineer) -----------------------------------------
@pytest.fixture(scope="session")
def explained_server(tmp_path_factory, artifacts):
    """The app on a workspace holding one run trained with the library (routed experts on
    the penguins, so rows have routing to compare); yields ``(url, run_id)``."""
    from sattn_dash.tabular import infer_schema, load_sample
    from sattn_dash.training import RunStore, TrainingConfig, TrainingSession

    workspace = tmp_path_factory.mktemp("explained")
    df = load_sample("penguins")
    session = TrainingSession(
        df,
        infer_schema(df, targets="species"),
        "routed_experts",
        TrainingConfig(epochs=3, seed=0),
        RunStore(workspace),
        title="explained run",
    )
    assert session.run().state == "finished"
    process, url = start_server(workspace, artifacts / "streamlit-explained.log")
    yield url, session.run_id
    stop_server(process)
