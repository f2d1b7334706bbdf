"""AppTest fixtures: a temporary workspace per test, clean Streamlit caches, and one
real trained run (trained once per session through the training library)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
TIMEOUT = 120  # seconds per script run: the first TensorFlow import alone takes ~5 s


@pytest.fixture(autouse=True)
def clear_streamlit_caches():
    """Each test starts with empty st.cache_resource / st.cache_data (no shared registry)."""
    import streamlit as st

    st.cache_resource.clear()
    st.cache_data.clear()
    yield
    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.fixture
def workspace(tmp_path, monkeypatch) -> Path:
    """An empty workspace for this test only."""
    path = tmp_path / "workspace"
    monkeypatch.setenv("SATTN_DASH_WORKSPACE", str(path))
    return path


@pytest.fixture
def app(workspace):
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(APP, default_timeout=TIMEOUT)


def train_run(workspace: Path, sample: str, preset: str, title: str) -> str:
    """Train ``preset`` on a bundled sample for two epochs with the real training
    library; returns the run id."""
    from sattn_dash.tabular import SAMPLES, infer_schema, load_sample
    from sattn_dash.training import RunStore, TrainingConfig, TrainingSession

    info = SAMPLES[sample]
    df = load_sample(sample)
    schema = infer_schema(df, targets=list(info.targets), groups=dict(info.groups) or None)
    session = TrainingSession(
        df, schema, preset, TrainingConfig(epochs=2, seed=0), RunStore(workspace), title=title
    )
    status = session.start().wait(600)
    assert status.state == "finished", status
    return session.run_id


@pytest.fixture(scope="session")
def trained_workspace(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A workspace with two finished runs: ``groups`` (one branch per column group on the
    synthetic sample, a SparseAttentionWeighting combiner) and ``tokens`` (feature
    attention on the penguins, for token attention)."""
    path = tmp_path_factory.mktemp("trained") / "workspace"
    runs = {
        "groups": train_run(path, "synthetic_groups", "per_group", "groups run"),
        "tokens": train_run(path, "penguins", "feature_attention", "tokens run"),
    }
    return path, runs


@pytest.fixture
def trained_app(trained_workspace, monkeypatch):
    """The app on the workspace with trained runs; returns (AppTest, {name: run_id})."""
    from streamlit.testing.v1 import AppTest

    path, runs = trained_workspace
    monkeypatch.setenv("SATTN_DASH_WORKSPACE", str(path))
    return AppTest.from_file(APP, default_timeout=TIMEOUT), runs


# --- comparing runs (owner: packaging and runs engineer) ---------------------------------
# The three-run workspace is tests/conftest.py's comparison_workspace (shared with e2e).
@pytest.fixture
def comparison_app(comparison_workspace, monkeypatch):
    """The app on the three-run workspace; returns (AppTest, {name: run_id})."""
    from streamlit.testing.v1 import AppTest

    path, runs = comparison_workspace
    monkeypatch.setenv("SATTN_DASH_WORKSPACE", str(path))
    return AppTest.from_file(APP, default_timeout=TIMEOUT), runs
