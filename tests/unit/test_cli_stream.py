"""`train --stream`: a folder of Parquet files trained on in record batches through the
CLI, evaluated on every test row, and a streamed process killed with SIGKILL resumed to
the run an uninterrupted one trains."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sattn_dash.analysis.reports.runs import baselines_for_run, run_stream
from sattn_dash.tabular import split_codes
from sattn_dash.training import RunStore
from tests.interrupt import assert_same_training, kill_after_first_checkpoint
from tests.unit.conftest import cli_json

REPO = Path(__file__).resolve().parents[2]
TRAIN = ["--target", "y", "--preset", "ensemble", "--epochs", "4", "--batch-size", "16"]


@pytest.fixture
def parts(tmp_path):
    """A table of 3,000 rows in three Parquet files: y is a threshold on a and city."""
    rng = np.random.default_rng(0)
    n = 3_000
    df = pd.DataFrame({"a": rng.normal(5, 2, n), "b": rng.normal(size=n)})
    df["city"] = rng.choice(["oslo", "rome", "lima"], n)
    df["y"] = np.where(df["a"] - 5 + (df["city"] == "rome") > 0, "yes", "no")
    folder = tmp_path / "table"
    folder.mkdir()
    for i in range(3):
        df.iloc[i * 1000 : (i + 1) * 1000].to_parquet(folder / f"part-{i}.parquet")
    return df, folder


def test_a_streamed_run_reads_every_row_and_keeps_its_sample_held_out(capsys, tmp_path, parts):
    df, folder = parts
    ws = tmp_path / "ws"
    argv = ["train", "--data", str(folder), *TRAIN, "--workspace", str(ws), "--json"]
    code, result, err = cli_json(capsys, *argv, "--stream", "always")
    assert code == 0, err
    assert "Streaming (asked for): 3,000 rows" in err
    run = RunStore(ws).load(result["run_id"])
    codes = split_codes(np.arange(len(df)), 0, 0.2, 0.2)
    expected = {s: int((codes == c).sum()) for c, s in enumerate(("train", "val", "test"))}
    assert run.card["rows"] == expected
    assert run.card["streamed"]["table_rows"] == 3_000 and run.card["streamed"]["files"] == 3
    assert result["metrics"]["y"]["n"] == expected["test"]
    assert result["metrics"]["y"]["accuracy"] > 0.85
    # The sample the analysis pages read keeps each row's split in the table.
    for split, code_ in (("train", 0), ("val", 1), ("test", 2)):
        assert (codes[run.prepared.row_index[split]] == code_).all()
    assert json.loads((run.path / "stream.json").read_text())["rows"] == expected
    assert run_stream(run).rows == expected  # the analysis pages open the table again
    board = baselines_for_run(run, retrain=False)
    assert set(board["model"]) >= {"gradient boosting", "logistic regression"}

    code, report, err = cli_json(
        capsys, "baselines", "--data", str(folder), "--target", "y", "--stream", "always", "--json"
    )
    assert code == 0, err
    assert report["rows"] == expected and "Streaming" in err
    test_rows = [r for r in report["results"] if r["split"] == "test"]
    assert {r["model"] for r in test_rows} >= {"gradient boosting", "dummy (class prior)"}

    code, small, err = cli_json(capsys, *argv)  # auto: 3,000 rows fit in memory
    assert code == 0, err
    assert "Streaming" not in err
    assert not (RunStore(ws).path(small["run_id"]) / "stream.json").exists()


def test_a_killed_streamed_run_resumes_to_the_uninterrupted_result(capsys, tmp_path, parts):
    _, folder = parts
    ws = tmp_path / "ws"
    argv = ["--data", str(folder), *TRAIN, "--stream", "always", "--seed", "3"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "sattn_dash", "train", *argv, "--workspace", str(ws), "--json"],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    run_id = kill_after_first_checkpoint(ws, proc)
    store = RunStore(ws)
    assert store.info(run_id).status == "interrupted"

    # A file of the stream changed since: refused, the run left as it was.
    part = folder / "part-1.parquet"
    original = part.read_bytes()
    pd.read_parquet(part).iloc[:-1].to_parquet(part)
    code, result, _ = cli_json(capsys, "resume", run_id, "--workspace", str(ws), "--json")
    assert code == 2 and "has changed since the run started" in result["error"]
    assert store.info(run_id).status == "interrupted"

    part.write_bytes(original)
    moved = folder.rename(tmp_path / "moved")  # the files moved: found again with --data
    code, result, _ = cli_json(capsys, "resume", run_id, "--workspace", str(ws), "--json")
    assert code == 2 and "is gone" in result["error"]
    resume = ["resume", run_id, "--data", str(moved), "--workspace", str(ws), "--json"]
    code, result, err = cli_json(capsys, *resume)
    assert code == 0, err
    assert result["status"] == "finished"
    resumed = store.load(run_id)
    assert resumed.history["epoch"].tolist() == [1, 2, 3, 4]
    assert resumed.card["resumed"][0]["from_epoch"] >= 1

    argv[argv.index(str(folder))] = str(moved)
    code, whole, err = cli_json(capsys, "train", *argv, "--workspace", str(ws), "--json")
    assert code == 0, err
    reference = store.load(whole["run_id"])
    assert_same_training(resumed, reference)
    assert result["metrics"]["y"]["n"] == whole["metrics"]["y"]["n"]
