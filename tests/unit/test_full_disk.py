"""A full disk is the machine's, not a bug: the run is left interrupted with its last
whole checkpoint, the message says which disk is full and how to go on (free space,
``resume RUN_ID``), the CLI exits 2, and once space is freed the run resumes."""

from __future__ import annotations

import json

import keras
import pytest

from sattn_dash.cli import main
from sattn_dash.tabular import infer_schema
from sattn_dash.training import RunStore, TrainingConfig, TrainingSession
from sattn_dash.training.checkpoint import latest_checkpoint
from sattn_dash.training.resume import why_not_resumable
from tests.full_disk import SmallDisk
from tests.unit.conftest import make_training_table

CONFIG = TrainingConfig(epochs=4, batch_size=32, seed=3, patience=10)


@pytest.fixture
def disk(tmp_path, monkeypatch):
    small = SmallDisk(tmp_path / "disk", monkeypatch)
    yield small
    small.close()


class FillsTheDisk(keras.callbacks.Callback):
    """Fills the disk as epoch ``at`` ends, before its checkpoint is written."""

    checkpointed = False

    def __init__(self, disk, at):
        super().__init__()
        self.disk, self.at = disk, at

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.at:
            self.disk.fill()


def test_a_full_disk_interrupts_the_run_and_it_resumes_once_freed(disk, capsys):
    df = make_training_table(240)
    store = RunStore(disk.path / "ws")
    session = TrainingSession(
        df,
        infer_schema(df, targets=["label"]),
        "dropout_ladder",
        CONFIG,
        store,
        callbacks=[FillsTheDisk(disk, at=3)],
    )
    status = session.run()
    assert status.state == "interrupted" and status.error_kind == "disk"
    assert status.error.startswith("The disk is full: ")
    assert str(disk.path) in status.error  # which disk
    assert (
        f"sattn-dash resume {session.run_id}" in status.error and "Free some space" in status.error
    )
    assert "bug" not in status.error
    assert latest_checkpoint(store.path(session.run_id)).epoch == 2  # the last whole one
    info = store.info(session.run_id)  # the space set aside let the status be written
    assert info.status == "interrupted" and info.error == status.error

    disk.free()
    assert why_not_resumable(store, session.run_id) is None
    code = main(["resume", session.run_id, "--workspace", str(store.workspace), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out)["status"] == "finished"
    assert store.load(session.run_id).history["epoch"].tolist() == [1, 2, 3, 4]


def test_the_cli_says_the_disk_is_full_and_exits_2(disk, capsys, tmp_path):
    data = tmp_path / "table.csv"
    make_training_table(240).to_csv(data, index=False)
    disk.fill()
    code = main(
        [
            "train",
            "--data",
            str(data),
            "--target",
            "label",
            "--epochs",
            "2",
            "--workspace",
            str(disk.path / "ws"),
            "--json",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 2
    assert "Traceback" not in err and "bug" not in err
    (line,) = [x for x in err.splitlines() if x.startswith("error:")]
    assert line.startswith("error: The disk is full: ") and str(disk.path) in line
    assert "Free some space" in line
    assert json.loads(out)["status"] in ("error", "interrupted")


def test_a_search_on_a_full_disk_says_so_and_carries_on_once_freed(disk, capsys, tmp_path):
    from tests.unit.test_search import TINY, _space_file

    data = tmp_path / "table.csv"
    make_training_table(200).to_csv(data, index=False)
    space = _space_file(tmp_path, TINY)
    args = ["search", "--data", str(data), "--target", "label", "--space", str(space)]
    args += ["--workspace", str(disk.path / "ws"), "--study", "full", "--trials", "2", "--json"]
    assert main([*args[:-2], "1", "--json"]) == 0  # one trial done while there was room
    capsys.readouterr()
    disk.fill()
    code = main(args)
    out, err = capsys.readouterr()
    assert code == 2, err
    assert "Traceback" not in err and "bug" not in err
    (line,) = [x for x in err.splitlines() if x.startswith("error:")]
    assert line.startswith("error: The disk is full: ") and "Free some space" in line

    disk.free()
    code = main(args)
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out)["counts"]["COMPLETE"] == 2
