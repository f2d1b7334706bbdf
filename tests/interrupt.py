"""Interrupted runs for resume tests: one made in this process (no subprocess needed),
or a real training process killed with SIGKILL."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from sattn_dash.training import TrainingSession, owner
from sattn_dash.training.callbacks import SessionCallback


def interrupted_run(store, df, schema, preset, config, monkeypatch, *, epoch, batch) -> str:
    """A run whose process 'dies' as the call into the graph that would run ``batch``
    (0-based) of ``epoch`` (1-based) begins: the exception ends fit as a kill would, with
    no final status, then the process's claim on the run is dropped, so the run reads
    as interrupted."""
    original = SessionCallback.on_train_batch_begin

    def dying(callback, b, logs=None):
        if callback.epoch == epoch and b <= batch < b + callback.model.steps_per_execution:
            raise KeyboardInterrupt
        original(callback, b, logs)

    with monkeypatch.context() as patch:
        patch.setattr(SessionCallback, "on_train_batch_begin", dying)
        session = TrainingSession(df, schema, preset, config, store)
        with pytest.raises(KeyboardInterrupt):
            session.run()
    owner.release(session.run_id)
    assert store.info(session.run_id).status == "interrupted"
    return session.run_id


def kill_after_first_checkpoint(workspace, proc, timeout=180) -> str:
    """SIGKILL a training process once a checkpoint exists, a moment into the next
    epoch; returns the run's id."""
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


def assert_same_training(resumed, reference) -> None:
    """A resumed run's history and final weights are those of the uninterrupted run."""
    import numpy as np
    import pandas as pd

    pd.testing.assert_frame_equal(
        resumed.history.drop(columns="time_s"), reference.history.drop(columns="time_s")
    )
    for mine, theirs in zip(
        resumed.model.get_weights(), reference.model.get_weights(), strict=True
    ):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)
