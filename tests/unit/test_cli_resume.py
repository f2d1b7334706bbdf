"""``python -m sattn_dash resume``: a real training process killed with SIGKILL mid-epoch
carries on from its checkpoint to the run an uninterrupted process trains."""

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sattn_dash.training import RunStore
from tests.interrupt import assert_same_training, kill_after_first_checkpoint
from tests.unit.conftest import cli_json

REPO = Path(__file__).resolve().parents[2]
TRAIN = ["--target", "label", "--preset", "ensemble", "--epochs", "5", "--batch-size", "16"]


def _spawn_train(workspace, data):
    return subprocess.Popen(
        [sys.executable, "-m", "sattn_dash", "train", "--data", str(data), *TRAIN]
        + ["--seed", "2", "--workspace", str(workspace), "--json"],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_resume_a_killed_process_to_the_uninterrupted_result(capsys, tmp_path, training_table):
    data = tmp_path / "table.csv"
    pd.concat([training_table] * 3, ignore_index=True).to_csv(data, index=False)
    original = data.read_bytes()
    ws = tmp_path / "ws"

    run_id = kill_after_first_checkpoint(ws, _spawn_train(ws, data))
    store = RunStore(ws)
    killed = store.load(run_id)
    assert killed.status == "interrupted" and not (killed.path / "model.keras").exists()
    assert killed.history["epoch"].tolist() == list(range(1, len(killed.history) + 1))

    # The data file changed since: refused, with the run left as it was.
    data.write_text(data.read_text().replace("yes", "no", 1))
    code, result, err = cli_json(capsys, "resume", run_id, "--workspace", str(ws), "--json")
    assert code == 2 and "has changed since run" in result["error"]
    assert err.count("\n") == 1 and store.info(run_id).status == "interrupted"

    data.write_bytes(original)
    code, result, err = cli_json(capsys, "resume", run_id, "--workspace", str(ws), "--json")
    assert code == 0, err
    assert result["run_id"] == run_id and result["status"] == "finished"
    assert "resuming run" in err
    resumed = store.load(run_id)
    assert resumed.history["epoch"].tolist() == list(range(1, 6))
    assert resumed.card["resumed"][0]["from_epoch"] >= 1
    assert not (resumed.path / "checkpoints").exists()

    code, whole, err = cli_json(
        capsys,
        "train",
        "--data",
        str(data),
        *TRAIN,
        "--seed",
        "2",
        "--workspace",
        str(ws),
        "--json",
    )
    assert code == 0, err
    reference = store.load(whole["run_id"])
    assert_same_training(resumed, reference)
    mine, theirs = result["metrics"]["label"], whole["metrics"]["label"]
    assert mine["confusion_matrix"] == theirs["confusion_matrix"]
    assert mine["log_loss"] == pytest.approx(theirs["log_loss"], rel=1e-4)

    code, result, err = cli_json(capsys, "resume", run_id, "--workspace", str(ws), "--json")
    assert code == 2 and "is finished, not interrupted" in result["error"]
