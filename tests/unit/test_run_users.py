"""With sign-in on, a run belongs to the user who started it: the store and the training
queue opened for one user (as ``ui.shared.sessions`` opens them for the signed-in user) show
and touch that user's runs only, and answer "no such run" for anyone else's."""

import pytest

from sattn_dash.errors import RunError
from sattn_dash.tabular import infer_schema
from sattn_dash.training import RunStore, SessionRegistry, TrainingConfig
from sattn_dash.training.users import can_see, user_key

ALICE = "https://id.example.org#alice-1"
BOB = "https://id.example.org#bob-2"


def test_a_user_is_known_by_issuer_and_subject():
    claims = {"iss": "https://id.example.org", "sub": "alice-1", "email": "a@example.org"}
    assert user_key(claims) == ALICE
    assert user_key({"email": "a@example.org"}) == "a@example.org"
    assert user_key({"name": "nobody"}) is None
    assert can_see(ALICE, ALICE) and not can_see(ALICE, BOB) and not can_see(None, BOB)
    assert can_see(ALICE, None) and can_see(None, None)  # sign-in off: every run


@pytest.fixture(scope="module")
def trained(tmp_path_factory, training_table_module):
    """One real run each for Alice and Bob, trained through one shared queue as the
    app does, plus one from before sign-in was turned on."""
    workspace = tmp_path_factory.mktemp("users") / "ws"
    queue = SessionRegistry(RunStore(workspace))
    df = training_table_module
    schema = infer_schema(df, targets=["label"])
    config = TrainingConfig(epochs=1, batch_size=64, seed=0)
    runs = {
        "alice": queue.for_user(ALICE).submit(df, schema, "ensemble", config, title="alice's"),
        "bob": queue.for_user(BOB).submit(df, schema, "ensemble", config, title="bob's"),
        "before": queue.submit(df, schema, "ensemble", config, title="before sign-in"),
    }
    queue.wait_all(600)
    return workspace, queue, runs


@pytest.fixture(scope="module")
def training_table_module():
    from tests.unit.conftest import make_training_table

    return make_training_table(rows=200)


def test_each_user_lists_and_opens_only_their_own_runs(trained):
    workspace, _, runs = trained
    alice, bob, everyone = (RunStore(workspace, user=u) for u in (ALICE, BOB, None))
    assert [r.run_id for r in alice.list()] == [runs["alice"]]
    assert [r.run_id for r in bob.list()] == [runs["bob"]]
    assert {r.run_id for r in everyone.list()} == set(runs.values())
    assert alice.list()[0].user == ALICE and alice.list()[0].status == "finished"
    assert alice.load(runs["alice"]).metrics
    assert alice.skipped == []  # others' runs are not "skipped folders" either

    for other in (runs["bob"], runs["before"]):
        for reach in (alice.info, alice.load, alice.status, alice.writer):
            with pytest.raises(RunError, match="No run"):
                reach(other)
        with pytest.raises(RunError, match="No run"):
            alice.rename(other, "mine now")
        with pytest.raises(RunError, match="No run"):
            alice.delete(other)
    assert everyone.info(runs["bob"]).title == "bob's"  # untouched
    assert everyone.info(runs["before"]).user is None


def test_the_queue_shows_and_stops_only_a_users_own_sessions(trained):
    _, queue, runs = trained
    alice, bob = queue.for_user(ALICE), queue.for_user(BOB)
    assert [s.run_id for s in alice.sessions()] == [runs["alice"]]
    assert alice.get(runs["bob"]) is None and alice.status(runs["bob"]) is None
    assert alice.stop(runs["bob"]) is False
    assert alice.queue_position(runs["bob"]) is None
    assert bob.get(runs["bob"]).run_id == runs["bob"]
    assert {s.run_id for s in queue.sessions()} == set(runs.values())
    assert not alice.would_wait()  # everything finished: a new run starts at once
    # The views share one queue: the same sessions and the same training slots.
    assert alice.max_concurrent == queue.max_concurrent
    assert alice.store.workspace == queue.store.workspace and alice.store.user == ALICE


def test_a_user_renames_and_deletes_their_own_run(trained, tmp_path):
    import shutil

    workspace, _, runs = trained
    copy = tmp_path / "ws"
    shutil.copytree(workspace, copy)
    bob = RunStore(copy, user=BOB)
    assert bob.rename(runs["bob"], "bob's best") == "bob's best"
    bob.delete(runs["bob"])
    assert bob.list() == []
    assert len(RunStore(copy).list()) == 2


def test_a_user_learns_a_new_run_would_wait_without_seeing_whose(trained, training_table_module):
    _, queue, _ = trained
    alice, bob = queue.for_user(ALICE), queue.for_user(BOB)
    df = training_table_module
    schema = infer_schema(df, targets=["label"])
    long = TrainingConfig(epochs=500, batch_size=8, seed=0, early_stopping=False)
    run_id = bob.submit(df, schema, "ensemble", long, title="bob's long one")
    try:
        assert alice.would_wait() and bob.would_wait()
        assert alice.active() == [] and [s.run_id for s in bob.active()] == [run_id]
        assert alice.stop(run_id) is False  # not hers to stop
    finally:
        assert bob.stop(run_id)
        bob.get(run_id).wait(300)
    assert bob.status(run_id).state == "stopped"
    assert not alice.would_wait()
