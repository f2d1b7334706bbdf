"""Runs a user already has keep working: a run written by the first released version
(tests/fixtures/workspace_v1: its spec, preprocessing and model predate categorical
embeddings, the training recipe and checkpoints) is listed, loads, predicts what it
stored, predicts new rows (an unseen category too), and `show` explains it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sattn_dash.cli import main
from sattn_dash.training import RunStore

OLD = Path(__file__).resolve().parents[1] / "fixtures" / "workspace_v1"
RUN_ID = "20261206-175959-84c2c6"


@pytest.fixture
def workspace(tmp_path) -> Path:
    copy = tmp_path / "workspace"
    shutil.copytree(OLD, copy)
    return copy


def test_an_old_run_is_listed_loads_and_predicts_what_it_stored(workspace):
    store = RunStore(workspace)
    assert [info.run_id for info in store.list()] == [RUN_ID]
    run = store.load(RUN_ID)
    assert run.status == "finished" and run.combiner == "sparse_attention"
    assert [b.name for b in run.spec.branches] == ["relu", "tanh", "residual"]
    X, _ = run.prepared.split("test")
    out = run.model.predict(np.asarray(X, np.float32), verbose=0)
    stored = run.predictions["bought_proba_yes"].to_numpy()  # a binary head gives P(yes)
    assert np.allclose(np.asarray(out["head_bought"]).reshape(-1), stored, atol=1e-5)


def test_an_old_run_predicts_new_rows_with_an_unseen_category(workspace):
    run = RunStore(workspace).load(RUN_ID)
    rows = pd.read_csv(workspace / "old_table.csv").drop(columns="bought").head(4)
    rows.loc[0, "store"] = "a store it never saw"
    predicted = run.predict(rows)
    probabilities = predicted[["bought_proba_no", "bought_proba_yes"]].to_numpy()
    assert np.isfinite(probabilities).all()
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert set(predicted["bought_pred"]) <= {"no", "yes"}


def test_show_explains_an_old_run(workspace, capsys):
    code = main(["show", RUN_ID, "--workspace", str(workspace), "--explain-rows", "5", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    shown = json.loads(out)
    assert shown["module_importance"] == RunStore(workspace).load(RUN_ID).module_importance
    tables = shown["analysis"]["tables"]
    assert {r["branch"] for r in tables["module_importance"]} == {"relu", "tanh", "residual"}
    complete = tables["completeness"]
    assert len(complete) == 5 and all(r["complete"] for r in complete)
