"""SessionRegistry: sessions by run id, a queue, several at once; reproducibility."""

import time

import pandas as pd
import pytest

from sattn_dash.errors import RunError
from sattn_dash.tabular import infer_schema
from sattn_dash.training import RunStore, SessionRegistry, TrainingConfig, TrainingSession


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "ws")


def _config(seed, **kw):
    return TrainingConfig(**{"epochs": 3, "batch_size": 32, "seed": seed, **kw})


def _wait_until(predicate, timeout=120):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail("condition not reached in time")
        time.sleep(0.01)


def test_two_sessions_at_once_train_as_they_would_alone(store, training_table):
    """Reproducibility: the same data, spec and seed give the same metrics, also while a
    second session trains beside it; another seed gives another model."""
    df = training_table
    schema = infer_schema(df, targets=["label"])
    alone = TrainingSession(df, schema, "ensemble", _config(seed=0), store)
    assert alone.run().state == "finished"

    registry = SessionRegistry(store, max_concurrent=2)
    same = registry.submit(df, schema, "ensemble", _config(seed=0))
    other = registry.submit(df, schema, "ensemble", _config(seed=5))
    both_running = False
    while registry.active():
        states = {registry.status(same).state, registry.status(other).state}
        both_running |= states == {"running"}
        time.sleep(0.01)
    assert both_running, "the two sessions never trained at the same time"
    assert registry.status(same).state == registry.status(other).state == "finished"

    first, again, changed = (store.load(r) for r in (alone.run_id, same, other))
    assert again.metrics == first.metrics
    pd.testing.assert_frame_equal(
        again.history.drop(columns="time_s"), first.history.drop(columns="time_s")
    )
    pd.testing.assert_frame_equal(again.snapshots, first.snapshots)
    assert changed.history["loss"].tolist() != first.history["loss"].tolist()


def test_a_queue_one_at_a_time(store, training_table):
    df = training_table
    schema = infer_schema(df, targets=["label"])
    registry = SessionRegistry(store)  # one at a time by default
    assert registry.max_concurrent == 1
    ids = [registry.submit(df, schema, "ensemble", _config(seed=i, epochs=1)) for i in range(3)]
    first, second, third = ids
    assert registry.status(second).state == "queued"
    assert registry.queue_position(second) == 0 and registry.queue_position(third) == 1
    assert registry.stop(third) and registry.status(third).state == "stopped"
    assert [s.run_id for s in registry.active()] == [first, second]
    _wait_until(lambda: registry.status(second).state != "queued")
    assert registry.get(first).done  # the second started only once the first ended
    registry.wait_all(120)
    assert [registry.status(r).state for r in ids] == ["finished", "finished", "stopped"]
    assert {i.run_id: i.status for i in store.list()} == dict(
        zip(ids, ["finished", "finished", "stopped"], strict=True)
    )
    assert registry.get("20250101-120000-abcdef") is None
    assert registry.stop("20250101-120000-abcdef") is False
    assert registry.active() == []


def test_max_concurrent_must_be_positive(store):
    with pytest.raises(RunError, match="max_concurrent"):
        SessionRegistry(store, max_concurrent=0)
