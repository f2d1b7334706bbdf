"""An interrupted run made in this process, for resume tests that need no subprocess."""

from __future__ import annotations

import pytest

from sattn_dash.training import TrainingSession, owner
from sattn_dash.training.callbacks import SessionCallback


def interrupted_run(store, df, schema, preset, config, monkeypatch, *, epoch, batch) -> str:
    """A run whose process 'dies' at ``batch`` (0-based) of ``epoch`` (1-based): the
    exception ends fit as a kill would, with no final status, then the process's claim
    on the run is dropped, so the run reads as interrupted."""
    original = SessionCallback.on_train_batch_begin

    def dying(callback, b, logs=None):
        if callback.epoch == epoch and b == batch:
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
