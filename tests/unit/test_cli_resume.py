"""``python -m sattn_dash resume``: a real training process killed with SIGKILL mid-epoch
carries on from its checkpoint to the run an uninterrupted process trains."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sattn_dash.cli import main
from sattn_dash.training import RunStore

REPO = Path(__file__).resolve().parents[2]
TRAIN = ["--target", "label", "--preset", "ensemble", "--epochs", "5", "--batch-size", "16"]


def _cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else {}), err


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


def _kill_after_first_checkpoint(workspace, proc, timeout=180):
    """SIGKILL the process once a checkpoint exists, a moment into the next epoch."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = list(Path(workspace).glob("runs/*/checkpoints/epoch-*"))
        if found:
            time.sleep(0.1)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            return found[0].parents[1].name
        if proc.poll() is not None:
            pytest.fail(f"training ended before it was killed: {proc.communicate()}")
        time.sleep(0.02)
    proc.kill()
    pytest.fail("no checkpoint was written in time")


def test_resume_a_killed_process_to_the_uninterrupted_result(capsys, tmp_path, training_table):
    data = tmp_path / "table.csv"
    pd.concat([training_table] * 3, ignore_index=True).to_csv(data, index=False)
    original = data.read_bytes()
    ws = tmp_path / "ws"

    run_id = _kill_after_first_checkpoint(ws, _spawn_train(ws, data))
    store = RunStore(ws)
    killed = store.load(run_id)
    assert killed.status == "interrupted" and not (killed.path / "model.keras").exists()
    assert killed.history["epoch"].tolist() == list(range(1, len(killed.history) + 1))

    # The data file changed since: refused, with the run left as it was.
    data.write_text(data.read_text().replace("yes", "no", 1))
    code, result, err = _cli(capsys, "resume", run_id, "--workspace", str(ws), "--json")
    assert code == 2 and "has changed since run" in result["error"]
    assert err.count("\n") == 1 and store.info(run_id).status == "interrupted"

    data.write_bytes(original)
    code, result, err = _cli(capsys, "resume", run_id, "--workspace", str(ws), "--json")
    assert code == 0, err
    assert result["run_id"] == run_id and result["status"] == "finished"
    assert "resuming run" in err
    resumed = store.load(run_id)
    assert resumed.history["epoch"].tolist() == list(range(1, 6))
    assert resumed.card["resumed"][0]["from_epoch"] >= 1
    assert not (resumed.path / "checkpoints").exists()

    code, whole, err = _cli(
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
    pd.testing.assert_frame_equal(
        resumed.history.drop(columns="time_s"), reference.history.drop(columns="time_s")
    )
    for mine, theirs in zip(
        resumed.model.get_weights(), reference.model.get_weights(), strict=True
    ):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)
    mine, theirs = result["metrics"]["label"], whole["metrics"]["label"]
    assert mine["confusion_matrix"] == theirs["confusion_matrix"]
    assert mine["log_loss"] == pytest.approx(theirs["log_loss"], rel=1e-4)

    code, result, err = _cli(capsys, "resume", run_id, "--workspace", str(ws), "--json")
    assert code == 2 and "is finished, not interrupted" in result["error"]
