"""What a kill leaves in a run folder is tidied when the run is next opened, and `runs`
reports each unreadable folder once, and nothing for a run deleted while it lists."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sattn_dash.tabular import infer_schema
from sattn_dash.training import RunStore, TrainingConfig, TrainingSession
from sattn_dash.training.resume import resume_session
from sattn_dash.training.store import RESUME_LOCK
from tests.interrupt import interrupted_run
from tests.unit.conftest import make_training_table

ROOT = Path(__file__).resolve().parents[2]
CONFIG = TrainingConfig(epochs=2, batch_size=32, seed=0)


@pytest.fixture(scope="module")
def table():
    df = make_training_table(120)
    return df, infer_schema(df, targets=["label"])


def test_a_kill_during_the_final_save_leaves_nothing_once_reopened(tmp_path, table, monkeypatch):
    store = RunStore(tmp_path / "ws")
    run_id = interrupted_run(store, *table, "ensemble", CONFIG, monkeypatch, epoch=2, batch=0)
    folder = store.path(run_id)
    # What SIGKILL during model.save leaves: the 0-byte temporary file Keras was
    # writing, and a prepared/ folder being built.
    (folder / ".model.keras.tmp-5f0c1a2b.keras").write_bytes(b"")
    (folder / ".prepared.tmp-0badc0de").mkdir()
    store.load(run_id)
    assert not list(folder.glob(".*.tmp-*"))

    session = resume_session(run_id, store)  # takes and releases the resume lock
    assert (folder / RESUME_LOCK).exists()
    assert session.run().state == "finished"
    store.load(run_id)  # finished: nothing left to resume, so the lock goes too
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []


def test_runs_prints_each_skipped_folder_once(tmp_path, table):
    store = RunStore(tmp_path / "ws")
    session = TrainingSession(*table, "ensemble", CONFIG, store)
    assert session.run().state == "finished"
    broken = store.root / "20260101-000000-abcdef"
    broken.mkdir()
    (broken / "run.json").write_text("{")
    done = subprocess.run(
        [sys.executable, "-m", "sattn_dash", "runs", "--workspace", str(store.workspace)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert [line for line in done.stderr.splitlines() if broken.name in line] == [
        f"warning: skipped {broken.name}: ValueError: run.json is not valid JSON (Expecting "
        "property name enclosed in double quotes: line 1 column 2 (char 1)). Delete it "
        f"(`sattn-dash delete {broken.name}`) or restore the file from a backup; the other "
        "runs are unaffected"
    ]
    assert session.run_id in done.stdout


def test_a_run_deleted_while_runs_lists_is_not_a_skip(tmp_path, table, monkeypatch):
    store = RunStore(tmp_path / "ws")
    ids = []
    for _ in range(2):
        session = TrainingSession(*table, "ensemble", CONFIG, store)
        assert session.run().state == "finished"
        ids.append(session.run_id)
    original = RunStore._info

    def deleted_meanwhile(self, directory):
        if directory.name == ids[0]:  # `delete` in another process renames it aside now
            os.replace(directory, directory.with_name(f".{directory.name}.deleting-1"))
        return original(self, directory)

    monkeypatch.setattr(RunStore, "_info", deleted_meanwhile)
    assert [info.run_id for info in store.list()] == [ids[1]]
    assert store.skipped == []
