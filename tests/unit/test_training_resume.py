"""Checkpoints and resume: a run cut off mid-epoch carries on to the weights an
uninterrupted run reaches, and damaged checkpoints fall back to the previous one."""

import numpy as np
import pandas as pd
import pytest

from sattn_dash.errors import RunError
from sattn_dash.tabular import infer_schema
from sattn_dash.training import RunStore, TrainingConfig, TrainingSession, owner
from sattn_dash.training.checkpoint import CHECKPOINTS, latest_checkpoint
from sattn_dash.training.resume import resume_session, why_not_resumable
from tests.interrupt import interrupted_run
from tests.unit.conftest import make_training_table

# dropout_ladder has dropout (seed states) and early stopping restores best weights.
CONFIG = TrainingConfig(epochs=5, batch_size=32, seed=3, patience=2)
PRESET = "dropout_ladder"


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "ws")


@pytest.fixture(scope="module")
def table():
    df = make_training_table(240)
    return df, infer_schema(df, targets=["label"])


@pytest.fixture(scope="module")
def reference(table, tmp_path_factory):
    """The same run, never interrupted."""
    store = RunStore(tmp_path_factory.mktemp("reference"))
    whole = TrainingSession(*table, PRESET, CONFIG, store)
    assert whole.run().state == "finished"
    return store.load(whole.run_id)


def _killed(store, table, monkeypatch, epoch, batch):
    return interrupted_run(store, *table, PRESET, CONFIG, monkeypatch, epoch=epoch, batch=batch)


def _weights(run):
    return run.model.get_weights()


def _same_weights(run, reference):
    for mine, theirs in zip(_weights(run), _weights(reference), strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)


def test_a_resumed_run_ends_where_an_uninterrupted_one_does(store, table, reference, monkeypatch):
    run_id = _killed(store, table, monkeypatch, epoch=4, batch=2)
    folder = store.path(run_id) / CHECKPOINTS
    assert sorted(p.name for p in folder.iterdir()) == ["epoch-000002", "epoch-000003"]
    # The callbacks a checkpoint holds are those of checkpoints written before several
    # steps per call existed, so those still resume.
    saved = latest_checkpoint(store.path(run_id)).manifest["callbacks"]
    assert [c["class"] for c in saved] == ["SessionCallback", "MetricEarlyStopping"]
    assert len(store.load(run_id).history) == 3
    assert why_not_resumable(store, run_id) is None

    session = resume_session(run_id, store)
    assert session.run_id == run_id and session.status().epoch == 3
    assert session.run().state == "finished"

    resumed = store.load(run_id)
    assert resumed.history["epoch"].tolist() == list(range(1, len(reference.history) + 1))
    pd.testing.assert_frame_equal(
        resumed.history.drop(columns="time_s"), reference.history.drop(columns="time_s")
    )
    assert resumed.history["time_s"].is_monotonic_increasing
    pd.testing.assert_frame_equal(resumed.snapshots, reference.snapshots)
    _same_weights(resumed, reference)
    assert resumed.metrics["label"]["accuracy"] == pytest.approx(
        reference.metrics["label"]["accuracy"]
    )
    assert resumed.card["best_epoch"] == reference.card["best_epoch"]
    assert [r["from_epoch"] for r in resumed.card["resumed"]] == [3]
    assert not folder.exists(), "a finished run keeps no checkpoints"
    assert "finished" in why_not_resumable(store, run_id)


def test_a_run_resumes_watching_what_its_early_stopping_watched(
    store, table, reference, monkeypatch
):
    """The automatic monitor may change between a crash and its resume (a binary
    target's ROC AUC became its log loss): the resumed run goes on watching what it
    watched, so it ends where the uninterrupted run did."""
    from types import SimpleNamespace

    from sattn_dash.training import pipeline
    from sattn_dash.training.checkpoint import trained_monitor

    run_id = _killed(store, table, monkeypatch, epoch=4, batch=1)
    checkpoint = latest_checkpoint(store.path(run_id))
    assert checkpoint.state["monitor"] == ["val_loss", "min"]  # one output: its log loss
    monkeypatch.setitem(pipeline.MONITORED_METRIC, "binary", ("auc", "max"))
    session = resume_session(run_id, store)
    assert session.run().state == "finished"
    resumed = store.load(run_id)
    pd.testing.assert_frame_equal(
        resumed.history.drop(columns="time_s"), reference.history.drop(columns="time_s")
    )
    _same_weights(resumed, reference)
    assert resumed.card["best_epoch"] == reference.card["best_epoch"]
    assert resumed.card["monitor"] == {"name": "val_loss", "mode": "min"}

    # Checkpoints from before the monitor was recorded: their early stopping's own.
    before = SimpleNamespace(state={}, manifest=checkpoint.manifest)
    assert trained_monitor(before) == ("val_loss", "min")
    assert trained_monitor(SimpleNamespace(state={}, manifest={"callbacks": []})) is None


def test_a_damaged_or_half_written_checkpoint_falls_back(store, table, reference, monkeypatch):
    run_id = _killed(store, table, monkeypatch, epoch=4, batch=1)
    folder = store.path(run_id) / CHECKPOINTS
    # A write cut off by the kill leaves only a hidden temporary folder: never read.
    (folder / ".epoch-000004.tmp-dead").mkdir()
    (folder / ".epoch-000004.tmp-dead" / "state.npz").write_bytes(b"PK\x03")
    newest = folder / "epoch-000003" / "state.npz"
    newest.write_bytes(newest.read_bytes()[:-100])  # damaged on disk after it was written

    checkpoint = latest_checkpoint(store.path(run_id))
    assert checkpoint.epoch == 2
    assert "epoch-000003" in checkpoint.skipped[0] and "checksum" in checkpoint.skipped[0]

    session = resume_session(run_id, store)
    assert any("damaged" in note for note in session.resumed_from.notes)
    assert session.run().state == "finished"
    resumed = store.load(run_id)
    assert resumed.history["epoch"].tolist() == list(range(1, len(resumed.history) + 1))
    assert resumed.card["resumed"][0]["from_epoch"] == 2
    _same_weights(resumed, reference)


def test_what_cannot_be_resumed_says_why(store, table, monkeypatch):
    run_id = _killed(store, table, monkeypatch, epoch=1, batch=2)
    assert "before its first epoch ended" in why_not_resumable(store, run_id)
    with pytest.raises(RunError, match="no checkpoint"):
        resume_session(run_id, store)

    run_id = _killed(store, table, monkeypatch, epoch=3, batch=0)
    folder = store.path(run_id) / CHECKPOINTS
    for checkpoint in folder.iterdir():
        (checkpoint / "checkpoint.json").write_text("{not json")
    with pytest.raises(RunError, match="Every checkpoint .* is damaged"):
        resume_session(run_id, store)


def test_killed_while_evaluating_resumes_without_training_again(
    store, table, reference, monkeypatch
):
    def dying(session, model, prepared):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(TrainingSession, "_evaluate", dying)
        session = TrainingSession(*table, PRESET, CONFIG, store)
        with pytest.raises(KeyboardInterrupt):
            session.run()
    owner.release(session.run_id)
    checkpoint = latest_checkpoint(store.path(session.run_id))
    assert checkpoint.epoch == len(reference.history)

    resumed = resume_session(session.run_id, store)
    assert resumed.run().state == "finished"
    run = store.load(session.run_id)
    pd.testing.assert_frame_equal(
        run.history.drop(columns="time_s"), reference.history.drop(columns="time_s")
    )
    _same_weights(run, reference)  # early stopping's best weights put back as fit would
    assert run.card["best_epoch"] == reference.card["best_epoch"]


def test_an_automatic_batch_size_resumes_at_the_size_it_trained_with(store, table, monkeypatch):
    """The automatic rule may change between a crash and its resume (an upgrade): the
    resumed run keeps the size it trained with, so it takes the same steps."""
    import dataclasses
    from types import SimpleNamespace

    from sattn_dash.training.resume import trained_batch_size

    config = dataclasses.replace(CONFIG, batch_size=None, epochs=3)
    run_id = interrupted_run(store, *table, PRESET, config, monkeypatch, epoch=3, batch=1)
    steps = int(store.load(run_id).history["batches"].iloc[0])
    trained = config.batch_size_for(144)  # the training split of the 240 rows
    changed_rule = lambda self, rows, smallest=0: self.batch_size or 8  # noqa: E731
    monkeypatch.setattr(TrainingConfig, "batch_size_for", changed_rule)
    session = resume_session(run_id, store)
    assert session.config.batch_size == trained == 64
    assert session.run().state == "finished"
    assert store.load(run_id).history["batches"].tolist() == [steps] * 3

    monkeypatch.undo()
    before_recorded = SimpleNamespace(state={})  # a checkpoint from before sizes were kept
    assert trained_batch_size(config, before_recorded, 144).batch_size == 32
    assert trained_batch_size(CONFIG, before_recorded, 144) is CONFIG  # a size of its own


# A target the columns cannot predict: validation loss is best at epoch 2 of 5 and
# early stopping ends the run there, putting epoch 2's weights back.
STOPPING = TrainingConfig(epochs=12, batch_size=32, seed=3, patience=3, learning_rate=0.01)


@pytest.fixture(scope="module")
def stopping(tmp_path_factory):
    df = make_training_table(240)
    df["label"] = np.random.default_rng(1).permutation(df["label"].to_numpy())
    table = (df, infer_schema(df, targets=["label"]))
    store = RunStore(tmp_path_factory.mktemp("stopping"))
    whole = TrainingSession(*table, PRESET, STOPPING, store)
    assert whole.run().state == "finished"
    reference = store.load(whole.run_id)
    best, last = reference.card["best_epoch"], len(reference.history)
    assert best == 2 and last == 5, (best, last)  # stopped early, best weights put back
    return table, reference


@pytest.mark.parametrize("epoch", [3, 4, 5], ids=["at-best", "after-best", "last-epoch"])
def test_early_stopping_best_weights_survive_a_kill(tmp_path, stopping, monkeypatch, epoch):
    """The best weights early stopping holds are checkpointed (the model's weights
    include a 0-d temperature, which ``get_weights()`` hands back as a numpy scalar):
    killed as the epoch after the best, the one after that or the last one begins, the
    resumed run ends on exactly the weights of the uninterrupted run."""
    table, reference = stopping
    store = RunStore(tmp_path / "ws")
    run_id = interrupted_run(store, *table, PRESET, STOPPING, monkeypatch, epoch=epoch, batch=1)
    saved = latest_checkpoint(store.path(run_id)).manifest["callbacks"][1]["state"]
    assert saved["best_weights"]["count"] == len(reference.model.get_weights())
    assert resume_session(run_id, store).run().state == "finished"
    resumed = store.load(run_id)
    assert resumed.card["best_epoch"] == 2
    for mine, theirs in zip(_weights(resumed), _weights(reference), strict=True):
        np.testing.assert_array_equal(mine, theirs)
