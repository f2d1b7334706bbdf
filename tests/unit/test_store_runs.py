"""RunStore: create, list, load, rename, delete; ids, titles, corrupt and orphaned runs."""

import json
import subprocess
import sys

import pandas as pd
import pytest

from sattn_dash.errors import RunError
from sattn_dash.files import read_json, write_json, write_text, write_with
from sattn_dash.training import owner
from sattn_dash.training.store import RUN_ID_PATTERN, RunStore, clean_title


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "ws")


def _finish(store, run_id, **status):
    store.writer(run_id).status({"state": "finished", "epochs_run": 3, **status})


def test_create_list_load(store):
    run_id = store.create(
        "My first run",
        targets={"churn": "binary"},
        model="Three paths",
        preset="three_paths",
        files={"config.json": {"epochs": 3, "seed": 7}},
    )
    assert RUN_ID_PATTERN.match(run_id)
    assert store.path(run_id).is_dir()
    [info] = store.list()
    assert (info.run_id, info.title, info.status) == (run_id, "My first run", "queued")
    owner.release(run_id)  # nobody trains it: the run reads as interrupted
    assert store.list()[0].status == "interrupted"
    assert info.targets == ("churn",) and info.tasks == {"churn": "binary"}
    assert info.preset == "three_paths"
    run = store.load(run_id)
    assert run.config.epochs == 3 and run.config.seed == 7
    assert run.history.empty and list(run.history.columns) == ["epoch"]
    assert run.metrics == {} and run.predictions.empty and run.snapshots.empty
    assert run.module_importance is None


def test_list_is_newest_first_and_ids_unique(store):
    ids = [store.create(f"run {i}") for i in range(5)]
    assert len(set(ids)) == 5
    listed = [info.run_id for info in store.list()]
    assert listed == sorted(ids, reverse=True)


def test_history_snapshots_and_lazy_files(store):
    run_id = store.create("t", targets={"y": "regression"})
    writer = store.writer(run_id)
    writer.history_row({"epoch": 1, "loss": 1.0, "val_loss": 1.5})
    writer.history_row({"epoch": 2, "loss": 0.5, "val_loss": 0.9})
    writer.snapshot(
        {"epoch": 1, "module_probabilities": {"a": 0.25, "b": 0.75}, "temperature": 0.5}
    )
    writer.snapshot(
        {"epoch": 2, "module_probabilities": {"a": 0.5, "b": 0.5}, "routing": {"a": 0.1, "b": 0.9}}
    )
    with open(writer.directory / "snapshots.jsonl", "a") as f:
        f.write('{"epoch": 3, "module_proba')  # a torn line from a crash
    writer.json("metrics.json", {"y": {"rmse": 1.0, "r2": float("nan")}})
    _finish(store, run_id)
    run = store.load(run_id)
    assert run.status == "finished" and run.epochs_run == 3
    assert run.history["loss"].tolist() == [1.0, 0.5]
    assert run.metrics == {"y": {"rmse": 1.0, "r2": None}}  # NaN stored as null
    snaps = run.snapshots
    assert list(snaps.columns) == [
        "epoch",
        "branch",
        "probability",
        "routing_weight",
        "temperature",
    ]
    assert snaps["epoch"].tolist() == [1, 1, 2, 2]
    assert snaps.loc[snaps.epoch == 2, "routing_weight"].tolist() == [0.1, 0.9]
    assert snaps.loc[snaps.epoch == 1, "temperature"].tolist() == [0.5, 0.5]
    with pytest.raises(RunError, match="no saved model"):
        _ = run.model
    with pytest.raises(RunError, match="no saved preprocessing"):
        _ = run.prepared


@pytest.mark.parametrize(
    "bad", ["../etc", "..", "", "20250101-120000-zzzzzz", "/tmp/x", "a/b", 7, None]
)
def test_bad_run_ids_never_become_paths(store, bad):
    with pytest.raises(RunError, match="not a run id"):
        store.path(bad)
    with pytest.raises(RunError):
        store.load(bad)
    with pytest.raises(RunError):
        store.delete(bad)


def test_unknown_run(store):
    with pytest.raises(RunError, match="No run 20250101-120000-abcdef"):
        store.load("20250101-120000-abcdef")


def test_titles_are_cleaned_text(store):
    assert clean_title("  a\n\tb\x00c  ") == "a b c"
    assert clean_title("../../etc/passwd") == "../../etc/passwd"  # text, never a path
    assert len(clean_title("x" * 500)) == 80
    run_id = store.create("../../evil\r\nname")
    assert store.list()[0].title == "../../evil name"
    assert [p.name for p in store.root.iterdir()] == [run_id]
    default = store.create(None, model="Ensemble", targets={"y": "binary"})
    title = store.info(default).title  # the targets, the time, then the model
    assert title.startswith("y · ") and title.endswith(" · Ensemble → y")


def test_rename(store):
    run_id = store.create("old")
    assert store.rename(run_id, "  new\ntitle ") == "new title"
    assert store.load(run_id).title == "new title"
    with pytest.raises(RunError, match="cannot be empty"):
        store.rename(run_id, " \n ")


def test_delete(store):
    keep, gone = store.create("keep"), store.create("gone")
    _finish(store, gone)
    store.delete(gone)
    assert [i.run_id for i in store.list()] == [keep]
    assert not store.path(gone).exists()
    with pytest.raises(RunError, match="No run"):
        store.delete(gone)


def test_delete_refuses_a_live_run(store):
    run_id = store.create("live")
    with pytest.raises(RunError, match="still queued; stop it"):
        store.delete(run_id)
    store.writer(run_id).status({"state": "running", **owner.this_owner()})
    with pytest.raises(RunError, match="still running; stop it"):
        store.delete(run_id)
    owner.release(run_id)  # as a session does when it ends
    assert store.info(run_id).status == "interrupted"  # no final status was written
    store.delete(run_id)


def test_corrupt_runs_are_reported_and_skipped(store):
    good = store.create("good")
    broken_json = store.create("broken")
    write_text(store.path(broken_json) / "run.json", "{not json")
    no_status = store.create("nostatus")
    (store.path(no_status) / "status.json").unlink()
    not_object = store.create("list")
    write_json(store.path(not_object) / "status.json", [1, 2])
    (store.root / "stray-file.txt").write_text("x")
    (store.root / "notes").mkdir()
    (store.root / f".{good}.creating").mkdir()  # a create in progress: silently ignored
    _finish(store, good)
    infos = store.list()
    assert [i.run_id for i in infos] == [good]
    skipped = {s.name: s.reason for s in store.skipped}
    assert set(skipped) == {broken_json, no_status, not_object, "stray-file.txt", "notes"}
    assert "run.json is not valid JSON" in skipped[broken_json]  # names the file
    with pytest.raises(RunError, match="cannot be read"):
        store.load(broken_json)
    store.delete(good)
    assert store.list() == []


def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_run_whose_process_died_is_interrupted(store):
    run_id = store.create("orphan")
    writer = store.writer(run_id)
    writer.history_row({"epoch": 1, "loss": 0.7})
    dead = {**owner.this_owner(), "pid": _dead_pid(), "pid_start": None, "heartbeat": 0}
    writer.status({"state": "running", "epoch": 2, **dead})
    [info] = store.list()
    assert info.status == "interrupted"
    run = store.load(run_id)
    assert run.status == "interrupted" and run.history["loss"].tolist() == [0.7]
    store.delete(run_id)


def test_a_recycled_pid_is_not_the_owner(store):
    run_id = store.create("recycled")
    this = owner.this_owner()
    store.writer(run_id).status({"state": "running", **this})
    assert store.status(run_id)["state"] == "running"  # own pid: the claim decides
    owner.release(run_id)
    assert store.status(run_id)["state"] == "interrupted"
    # Another live process's pid with another start time: the pid was recycled.
    parent = {**this, "pid": __import__("os").getppid(), "pid_start": "1"}
    store.writer(run_id).status({"state": "running", **parent})
    assert store.status(run_id)["state"] == "interrupted"
    store.writer(run_id).status(
        {"state": "running", **parent, "pid_start": owner._process_start(parent["pid"])}
    )
    assert store.status(run_id)["state"] == "running"


def test_other_host_uses_the_heartbeat(store, monkeypatch):
    import time

    run_id = store.create("elsewhere")
    writer = store.writer(run_id)
    writer.status({"state": "running", "host": "other-host", "pid": 1, "heartbeat": time.time()})
    assert store.list()[0].status == "running"
    writer.status({"state": "running", "host": "other-host", "pid": 1, "heartbeat": 0})
    assert store.list()[0].status == "interrupted"


def test_unknown_state_reads_as_interrupted(store):
    run_id = store.create("odd")
    store.writer(run_id).status({"state": "exploded"})
    assert store.list()[0].status == "interrupted"


def test_workspace_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SATTN_DASH_WORKSPACE", str(tmp_path / "env-ws"))
    assert RunStore().root == tmp_path / "env-ws" / "runs"


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "metrics.json"
    write_json(target, {"v": 1})

    def explode(temp):
        temp.write_text('{"v": 2, "half')
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_with(target, explode)
    assert read_json(target) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]  # no temp file left


def test_json_is_strict_and_numpy_safe(tmp_path):
    import numpy as np

    write_json(tmp_path / "x.json", {"a": np.float32(0.5), "b": np.arange(2), "c": float("inf")})
    assert json.loads((tmp_path / "x.json").read_text()) == {"a": 0.5, "b": [0, 1], "c": None}


def test_predictions_round_trip(store):
    run_id = store.create("p")
    frame = pd.DataFrame({"row": [3, 1], "y_true": ["a", "b"], "y_pred": ["a", "a"]})
    store.writer(run_id).predictions(frame)
    pd.testing.assert_frame_equal(store.load(run_id).predictions, frame)
