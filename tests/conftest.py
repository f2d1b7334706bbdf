"""Fixtures shared by the test folders. Each part adds its own section; keep others'."""

from __future__ import annotations

from pathlib import Path

import pytest


# --- comparing runs (owner: packaging and runs engineer) ---------------------------------
def train_comparison_runs(workspace: Path) -> dict[str, str]:
    """Three real runs on the penguins with the same three branches (the ``ensemble``
    preset), differing where a comparison must show it: ``attention`` (sparse_attention,
    2 epochs), ``routed`` (sparse_dense combiner, 3 epochs) and ``slow`` (sparse_attention,
    learning rate 0.0003, seed 1, 2 epochs). Returns {name: run_id}."""
    from sattn_dash.tabular import SAMPLES, infer_schema, load_sample, prepare
    from sattn_dash.training import RunStore, TrainingConfig, TrainingSession, resolve_spec
    from sattn_dash.training.config import split_arguments

    df = load_sample("penguins")
    schema = infer_schema(df, targets=list(SAMPLES["penguins"].targets))
    plans = {
        "attention": ("sparse_attention", TrainingConfig(epochs=2, seed=0)),
        "routed": ("sparse_dense", TrainingConfig(epochs=3, seed=0)),
        "slow": ("sparse_attention", TrainingConfig(epochs=2, seed=1, learning_rate=3e-4)),
    }
    runs = {}
    for name, (combiner, config) in plans.items():
        prepared = prepare(df, schema, **split_arguments(config))
        spec = resolve_spec("ensemble", prepared, combiner=combiner)
        session = TrainingSession(
            df, schema, spec, config, RunStore(workspace), prepared=prepared, title=f"{name} run"
        )
        status = session.start().wait(600)
        assert status.state == "finished", status
        runs[name] = session.run_id
    return runs


@pytest.fixture(scope="session")
def comparison_workspace(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    path = tmp_path_factory.mktemp("compare") / "workspace"
    return path, train_comparison_runs(path)


# --- predictions, export and the run report (owner: predict engineer) --------------------
@pytest.fixture(scope="session")
def two_target_run(tmp_path_factory):
    """A stored run of the per-group preset on the modeling table with a class target
    (``kind``) and a number target (``amount``), trained for two epochs (read-only: the
    predict, export and report tests share it)."""
    from sattn_dash.tabular import infer_schema
    from sattn_dash.training import RunStore, TrainingConfig, TrainingSession
    from tests.unit.conftest import make_modeling_table

    table = make_modeling_table(rows=160).drop(columns=["label"])
    store = RunStore(tmp_path_factory.mktemp("two_targets"))
    schema = infer_schema(table, targets=["kind", "amount"], groups={"signal": ("x0", "x1")})
    session = TrainingSession(table, schema, "per_group", TrainingConfig(epochs=2, seed=0), store)
    assert session.start().wait(300).state == "finished"
    return store.load(session.run_id)
