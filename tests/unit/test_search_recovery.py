"""A search rerun after a crash: trials a dead process asked for are failed and run
again at once, and a trial whose run finished is complete, not trained again."""

import os
import signal
import subprocess
import sys
import threading

import optuna
import pytest

from sattn_dash.search import worker
from sattn_dash.search.study import create_or_resume, load_study, open_storage
from sattn_dash.search.worker import load_data, run_worker
from sattn_dash.training import RunStore
from tests.unit.conftest import cli_json as _cli
from tests.unit.test_search import REPO, TINY, _search_command, _settings, _space_file

ASK_AND_HANG = """
import sys, time
from sattn_dash.search.study import load_study, open_storage
study, _ = load_study("crashed", open_storage("crashed", None, sys.argv[1]))
study.ask()  # a trial created, never claimed: the process dies before it says who it is
print("asked", flush=True)
time.sleep(600)
"""


def test_a_trial_a_killed_process_never_claimed_is_run_again(
    capsys, tmp_path, training_csv, training_table
):
    ws = tmp_path / "ws"
    space = _space_file(tmp_path)
    settings = _settings(training_csv, training_table, TINY, 2)
    create_or_resume("crashed", open_storage("crashed", None, ws), settings, space_given=True)
    proc = subprocess.Popen(
        [sys.executable, "-c", ASK_AND_HANG, str(ws)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "asked"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    # At once, not after the five-minute heartbeat timeout.
    code, out, err = _cli(capsys, *_search_command(training_csv, ws, space, "crashed", 2)[3:])
    assert code == 0, err
    assert out["counts"]["COMPLETE"] == 2 and out["counts"]["RUNNING"] == 0
    orphan = out["trials"][0]
    assert (orphan["state"], orphan["outcome"]) == ("FAIL", "interrupted")


def test_a_trial_whose_run_finished_is_complete_when_its_worker_is_interrupted(
    tmp_path, training_csv, training_table, monkeypatch
):
    """SIGINT (the parent died) lands after the trial's run finished, before the trial
    was told: the trial is complete with its run's result, and not trained again."""
    ws = tmp_path / "ws"
    settings = _settings(training_csv, training_table, TINY, 1)
    study, settings = create_or_resume(
        "cut", open_storage("cut", None, ws), settings, space_given=True
    )
    original = worker._objective_value
    calls = []

    def interrupted_once(*args):
        calls.append(1)
        if len(calls) == 1:
            raise KeyboardInterrupt  # the signal arrives while the result is read
        return original(*args)

    monkeypatch.setattr(worker, "_objective_value", interrupted_once)
    store = RunStore(ws)
    results = run_worker(study, settings, load_data(settings), store, stop=threading.Event())
    assert results == []  # the worker stopped, as it does on Ctrl-C
    study, _ = load_study("cut", open_storage("cut", None, ws))
    (trial,) = study.trials
    assert trial.state == optuna.trial.TrialState.COMPLETE
    assert trial.user_attrs["outcome"] == "complete"
    assert trial.value == pytest.approx(
        original(
            store.load(trial.user_attrs["run_id"]),
            "val_loss",
            store.load(trial.user_attrs["run_id"]).card["best_epoch"],
        )
    )
    assert [r.status for r in store.list()] == ["finished"]

    # A rerun of the same size has nothing left to train.
    monkeypatch.undo()
    run_worker(study, settings, load_data(settings), store, stop=threading.Event())
    assert len(store.list()) == 1
