"""TrainingSession on real data, the real presets and real Keras training (CPU)."""

import json
import time

import numpy as np
import pandas as pd
import pytest

from sattn_dash.tabular import infer_schema
from sattn_dash.training import RunStore, TrainingConfig, TrainingSession
from sattn_dash.training.steps_per_call import steps_per_call
from tests.unit.conftest import make_training_table

FAST = {"epochs": 3, "batch_size": 32}


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "ws")


@pytest.fixture
def binary(training_table):
    return training_table, infer_schema(training_table, targets=["label"])


def _train(store, df, schema, spec="ensemble", **config):
    session = TrainingSession(df, schema, spec, TrainingConfig(**{**FAST, **config}), store)
    status = session.run()
    return session, status, store.load(session.run_id)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """One run trained to the end, shared by the tests that only read it."""
    df = make_training_table()
    store = RunStore(tmp_path_factory.mktemp("ws"))
    session, status, run = _train(store, df, infer_schema(df, targets=["label"]), epochs=6)
    return df, store, session, status, run


def test_a_finished_run_has_every_file_and_learned_the_rule(finished):
    df, store, session, status, run = finished
    assert status.state == "finished" and status.error is None
    assert status.phase == "finished" and status.progress == 1.0
    files = {p.name for p in run.path.iterdir()}
    assert {
        "run.json",
        "status.json",
        "spec.json",
        "schema.json",
        "config.json",
        "history.csv",
        "snapshots.jsonl",
        "metrics.json",
        "predictions.csv",
        "model.keras",
        "prepared",
        "card.json",
    } <= files
    assert not [f for f in files if f.startswith(".")]  # no temp files left behind
    # History: one row per epoch, appended as training went.
    assert run.history["epoch"].tolist() == list(range(1, status.epochs_run + 1))
    assert {"loss", "val_loss", "time_s", "batches"} <= set(run.history.columns)
    # x0 + x1 > 0 is easy: the test split says the model learned it.
    m = run.metrics["label"]
    assert m["accuracy"] > 0.85 and m["roc_auc"] > 0.9
    assert {"balanced_accuracy", "log_loss", "confusion_matrix", "n"} <= set(m)
    assert sum(map(sum, m["confusion_matrix"])) == m["n"] == len(run.predictions)
    # Snapshots: module probabilities per epoch, summing to 1, at the preset's temperature.
    snaps = run.snapshots
    assert sorted(snaps["epoch"].unique()) == run.history["epoch"].tolist()
    assert snaps.groupby("epoch")["probability"].sum().to_numpy() == pytest.approx(1.0)
    assert snaps["temperature"].unique().tolist() == [pytest.approx(0.4)]
    assert set(snaps["branch"]) == {"linear", "nonlinear", "deep"}
    # The card: what is needed to trust and repeat the run.
    card = run.card
    assert card["seed"] == 0 and card["data_hash"] == run.prepared.data_hash
    assert {"tensorflow", "keras", "numpy", "pandas", "scikit-learn"} <= set(card["versions"])
    assert card["device"]["name"] == "cpu"
    assert {"prepare_s", "build_s", "train_s", "evaluate_s", "save_s"} <= set(card["timings"])
    assert sum(run.module_importance.values()) == pytest.approx(1.0)
    assert run.spec.preset == "ensemble" and run.schema.targets[0].name == "label"
    assert run.tasks == {"label": "binary"}
    status_file = json.loads((run.path / "status.json").read_text())
    assert status_file["state"] == "finished" and status_file["epochs_run"] == status.epochs_run


def test_reload_a_finished_run_and_predict_identically(finished):
    df, store, session, status, run = finished
    X_test, _ = run.prepared.split("test")
    live = session.model.predict(X_test.to_numpy(), verbose=0)["head_label"]
    again = store.load(run.run_id)
    reloaded = again.model.predict(X_test.to_numpy(), verbose=0)["head_label"]
    np.testing.assert_array_equal(live, reloaded)
    # New rows of the original table through the stored preprocessing and model.
    test_rows = df.loc[run.prepared.row_index["test"]].drop(columns=["label"])
    predicted = again.predict(test_rows)
    stored = again.predictions
    assert predicted["row"].tolist() == stored["row"].tolist()
    np.testing.assert_allclose(
        predicted["label_proba_yes"].to_numpy(), stored["label_proba_yes"].to_numpy(), rtol=1e-6
    )
    assert (predicted["label_pred"] == stored["label_pred"]).all()
    assert set(stored["label_true"]) <= {"yes", "no"}


def test_stop_mid_epoch_keeps_what_was_learned(store, training_table):
    df = pd.concat([training_table] * 10, ignore_index=True)  # 4,000 rows, 2,400 to train
    schema = infer_schema(df, targets=["label"])
    session = TrainingSession(
        df, schema, "ensemble", TrainingConfig(epochs=50, batch_size=4), store
    ).start()
    deadline = time.monotonic() + 120
    watched = []
    while session.status().batch < 20 and not session.done and time.monotonic() < deadline:
        watched.append(session.status())
        time.sleep(0.005)
    seen = session.status()
    assert seen.state == "running" and seen.epoch == 1 and seen.phase == "training"
    # Progress while running: batches, an estimate of the time left, the latest loss.
    assert seen.batches == 600 and seen.epochs == 50 and 0 < seen.progress < 0.01
    assert seen.eta_s is not None and seen.eta_s > 0 and "loss" in seen.logs
    elapsed = [s.elapsed_s for s in watched if s.state == "running"]
    assert elapsed == sorted(elapsed)
    assert [s.phase for s in watched][0] in ("starting", "preparing data", "building model")
    session.stop()
    assert session.status().state in ("stopping", "stopped")
    status = session.wait(60)
    assert status.state == "stopped" and status.error is None
    run = store.load(session.run_id)
    # It stopped inside the first epoch, a call into the graph or so after being asked
    # (progress reports trail the loop slightly).
    assert run.history["epoch"].tolist() == [1]
    batches_run = int(run.history["batches"].iloc[0])
    assert batches_run < status.batches == 600
    assert batches_run % steps_per_call(600) == 0
    assert batches_run <= seen.batch + 2 * steps_per_call(600)
    # What was learned is kept: a model, predictions and metrics exist.
    assert (run.path / "model.keras").is_file()
    assert run.metrics["label"]["n"] == len(run.predictions) > 0
    assert run.card["stopped_by_user"] is True
    assert store.list()[0].status == "stopped"


def test_stop_before_start(store, binary):
    df, schema = binary
    session = TrainingSession(df, schema, "ensemble", TrainingConfig(**FAST), store)
    session.stop()
    assert session.status().state == "stopped" and session.done
    session.start()  # nothing happens: it has ended
    assert session.wait(1).state == "stopped"
    assert store.list()[0].status == "stopped"


def test_nan_loss_fails_with_a_plain_reason(store, binary):
    df, _ = binary
    schema = infer_schema(df, targets=["amount"])
    session, status, run = _train(store, df, schema, learning_rate=1e10, epochs=5)
    assert status.state == "failed" and status.error_kind == "user"
    assert "loss became" in status.error and "Lower the learning rate" in status.error
    assert "1e+10" in status.error
    assert run.status == "failed" and run.error == status.error
    assert not (run.path / "model.keras").exists()
    assert store.list()[0].status == "failed"


def test_a_user_error_inside_the_worker_is_captured(store, binary):
    df, schema = binary
    session, status, run = _train(store, df, schema, spec="no_such_preset")
    assert status.state == "failed" and status.error_kind == "user"
    assert "no_such_preset" in status.error
    assert store.list()[0].error == status.error


def test_an_internal_error_is_captured_with_its_traceback(store, binary, monkeypatch):
    import sattn_dash.modeling

    def broken(spec, prepared, compile=True):
        raise RuntimeError("the GPU caught fire")

    monkeypatch.setattr(sattn_dash.modeling, "build_model", broken)
    df, schema = binary
    session, status, run = _train(store, df, schema)
    assert status.state == "failed" and status.error_kind == "internal"
    assert "RuntimeError: the GPU caught fire" in status.error
    stored = json.loads((run.path / "status.json").read_text())
    assert "the GPU caught fire" in stored["traceback"]
    assert run.status == "failed"


def test_early_stopping_restores_the_best_weights(store, training_table):
    # A random target: validation loss soon rises, so patience 2 ends training early.
    df = training_table.assign(
        label=np.random.default_rng(1).choice(["a", "b"], len(training_table))
    )
    schema = infer_schema(df, targets=["label"])
    session, status, run = _train(
        store,
        df,
        schema,
        epochs=40,
        patience=2,
        learning_rate=0.02,
        batch_size=16,
        monitor="val_loss",
    )
    assert status.state == "finished"
    assert status.epochs_run < 40
    best = int(run.history["val_loss"].idxmin())
    assert status.best_epoch == best + 1 == run.card["best_epoch"]
    assert run.card["monitor"] == {"name": "val_loss", "mode": "min"}
    X_val, y_val = run.prepared.split("val")
    model = run.model
    model.compile(loss={"head_label": "binary_crossentropy"})
    loss = model.evaluate(X_val.to_numpy(), {"head_label": y_val["label"]}, verbose=0)
    assert loss == pytest.approx(run.history["val_loss"].min(), rel=1e-4)


def test_routing_snapshots_of_a_sparse_dense_combiner(store, binary):
    df, schema = binary
    _, status, run = _train(store, df, schema, spec="routed_experts", epochs=2)
    assert status.state == "finished"
    snaps = run.snapshots
    assert sorted(snaps["branch"].unique()) == ["deep", "linear", "relu", "tanh"]
    # Each sample's top-2 routing weights sum to 1, so their means over samples do too.
    assert snaps.groupby("epoch")["routing_weight"].sum().to_numpy() == pytest.approx(1.0)
    assert run.module_importance is None or sum(run.module_importance.values()) == pytest.approx(1)


def test_the_best_epoch_shown_is_the_one_early_stopping_keeps(store, binary):
    """A tie of the watched metric goes to the lower validation loss, in the live status
    as in the callback that restores the weights: one best epoch, not two."""
    import keras

    from sattn_dash.training.early_stopping import MetricEarlyStopping

    df, schema = binary
    session = TrainingSession(df, schema, "ensemble", TrainingConfig(**FAST), store)
    session._monitor = ("val_auc", "max")  # what fitting sets for a binary target
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.stop_training = False
    stop = MetricEarlyStopping(monitor="val_auc", mode="max", patience=10)
    stop.set_model(model)
    stop.on_train_begin()
    for epoch, (auc, loss) in enumerate([(0.9, 1.0), (1.0, 0.8), (1.0, 0.5), (1.0, 0.6)]):
        logs = {"val_auc": auc, "val_loss": loss}
        session.on_epoch(epoch + 1, 4, logs, {})
        stop.on_epoch_end(epoch, logs)
    assert session.status().best_epoch == stop.best_epoch + 1 == 3
