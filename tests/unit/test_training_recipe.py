"""The training recipe reaches Keras: AdamW with weight decay, warm-up + cosine schedule,
label smoothing, early stopping on the validation metric restoring the best epoch; old
specs and configs keep their old behaviour; the CLI flags set the same fields."""

import argparse
import dataclasses
import re

import keras
import numpy as np
import pytest

from sattn_dash.cli.train import recipe_overrides, training_arguments, training_overrides
from sattn_dash.errors import SpecError
from sattn_dash.modeling import ModelSpec, preset_spec
from sattn_dash.modeling.losses import SparseCrossentropy
from sattn_dash.modeling.schedules import WarmupCosine
from sattn_dash.training import TrainingConfig
from sattn_dash.training import steps_per_call as steps_module
from sattn_dash.training.pipeline import early_stopping_monitor, prepare_fit
from sattn_dash.training.steps_per_call import steps_per_call

RECIPE = {
    "optimizer": "adamw",
    "learning_rate": 2e-3,
    "weight_decay": 3e-4,
    "schedule": "cosine",
    "warmup_fraction": 0.1,
    "label_smoothing": 0.1,
}


def recipe_spec(prepared, **fields):
    return dataclasses.replace(preset_spec("ensemble", prepared), **{**RECIPE, **fields})


def early_stopping(fit_kwargs):
    (callback,) = [
        c for c in fit_kwargs["callbacks"] if isinstance(c, keras.callbacks.EarlyStopping)
    ]
    return callback


def test_the_compiled_model_carries_the_recipe(modeling_data):
    prepared = modeling_data["multiclass"]
    config = TrainingConfig(epochs=10, batch_size=32)
    model, _, fit_kwargs = prepare_fit(recipe_spec(prepared), prepared, config)
    optimizer = model.optimizer
    assert isinstance(optimizer, keras.optimizers.AdamW)
    assert optimizer.weight_decay == pytest.approx(3e-4)
    schedule = optimizer._learning_rate
    assert isinstance(schedule, WarmupCosine)
    steps = 10 * int(np.ceil(len(prepared.X_train) / 32))
    assert schedule.warmup_steps == round(0.1 * steps)
    assert schedule.decay_steps == steps - schedule.warmup_steps
    assert float(schedule(0)) == 0.0
    assert float(schedule(schedule.warmup_steps)) == pytest.approx(2e-3)
    assert float(schedule(steps)) == pytest.approx(0.0, abs=1e-9)
    (loss,) = model.loss.values() if isinstance(model.loss, dict) else [model.loss]
    assert isinstance(loss, SparseCrossentropy) and loss.label_smoothing == 0.1
    stop = early_stopping(fit_kwargs)
    assert (stop.monitor, stop.mode, stop.patience) == ("val_accuracy", "max", 8)
    assert stop.restore_best_weights


@pytest.mark.parametrize("warmup", [0, 7])
def test_the_schedule_is_keras_cosine_decay_with_warm_up(warmup):
    """The rates of Keras' CosineDecay, step by step, through warm-up, decay and after."""
    reference = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0 if warmup else 2e-3,
        decay_steps=40,
        warmup_target=2e-3 if warmup else None,
        warmup_steps=warmup,
    )
    schedule = WarmupCosine(2e-3, 40, warmup)
    steps = np.arange(warmup + 45)
    ours = [float(schedule(s)) for s in steps]
    np.testing.assert_allclose(ours, [float(reference(s)) for s in steps], rtol=1e-5, atol=1e-9)
    assert max(ours) == pytest.approx(2e-3) and ours[-1] == pytest.approx(0.0, abs=1e-12)
    copy = WarmupCosine.from_config(schedule.get_config())
    assert float(copy(warmup + 13)) == ours[warmup + 13]
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
    assert isinstance(restored, WarmupCosine) and restored.get_config() == schedule.get_config()
    with pytest.raises(ValueError, match="decay_steps"):
        WarmupCosine(2e-3, 0)


def test_smoothed_sparse_crossentropy_matches_numpy():
    y = np.array([0, 2, 1])
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.25, 0.5, 0.25]], np.float32)
    s = 0.2
    target = np.eye(3)[y] * (1 - s) + s / 3
    expected = -(target * np.log(p)).sum(axis=1).mean()
    assert float(SparseCrossentropy(s)(y, p)) == pytest.approx(expected, rel=1e-5)
    plain = keras.losses.SparseCategoricalCrossentropy()(y, p)
    assert float(SparseCrossentropy(0.0)(y, p)) == pytest.approx(float(plain), rel=1e-5)


def test_binary_label_smoothing_and_monitor(modeling_data):
    prepared = modeling_data["binary"]
    model, _, fit_kwargs = prepare_fit(recipe_spec(prepared), prepared, TrainingConfig(epochs=2))
    (loss,) = model.loss.values() if isinstance(model.loss, dict) else [model.loss]
    assert isinstance(loss, keras.losses.BinaryCrossentropy)
    assert loss.label_smoothing == 0.1
    stop = early_stopping(fit_kwargs)
    # the target's log loss: AUC only ranks, and can peak early while every
    # probability is still poor
    assert (stop.monitor, stop.mode) == ("val_loss", "min")


@pytest.mark.parametrize(
    "case, monitor",
    [("regression", ("val_rmse", "min")), ("two_targets", ("val_loss", "min"))],
)
def test_the_monitored_metric_is_in_the_training_logs(modeling_data, case, monitor):
    prepared = modeling_data[case]
    config = TrainingConfig(epochs=2, patience=1)
    model, dataset, fit_kwargs = prepare_fit(recipe_spec(prepared), prepared, config)
    assert early_stopping_monitor(config, prepared, model) == monitor
    history = model.fit(dataset, **fit_kwargs)
    assert monitor[0] in history.history


def test_steps_per_call_divide_the_epoch():
    # at most 32, and never a count that would run into the next epoch's batches
    sizes = (1, 5, 19, 20, 64, 97, 1954)
    assert [steps_per_call(steps) for steps in sizes] == [1, 5, 19, 20, 32, 1, 2]


def test_several_steps_per_call_train_exactly_the_same_model(modeling_data, monkeypatch):
    prepared = modeling_data["binary"]
    spec = preset_spec("tabm", prepared)
    config = TrainingConfig(epochs=3, batch_size=16, seed=2)
    runs = []
    for calls in (steps_per_call, lambda steps: 1):
        monkeypatch.setattr(steps_module, "steps_per_call", calls)
        model, dataset, fit_kwargs = prepare_fit(spec, prepared, config)
        several = model.steps_per_execution
        history = model.fit(dataset, **fit_kwargs).history
        runs.append((several, fit_kwargs["steps_per_epoch"], history, model))
    (several, steps, history, model), (one, _, one_history, one_model) = runs
    assert several == steps_per_call(steps) > 1 and one == 1
    assert history == one_history
    for weights, one_weights in zip(model.get_weights(), one_model.get_weights(), strict=True):
        np.testing.assert_array_equal(weights, one_weights)
    # Afterwards one step per call again: it predicts as the saved model will, and
    # the saved configuration never held the count.
    X = np.asarray(prepared.X_test, dtype=np.float32)
    assert model.steps_per_execution == 1
    assert model.get_compile_config()["steps_per_execution"] == 1
    np.testing.assert_array_equal(
        model.predict(X, verbose=0)["head_label"], one_model.predict(X, verbose=0)["head_label"]
    )


def test_the_training_step_is_traced_once_and_trains_the_same(modeling_data, monkeypatch):
    """The optimizer's and the metrics' variables exist before the fit, so TensorFlow
    traces the training step once (a step that creates variables is traced twice),
    and the model trains exactly as when Keras creates them itself."""
    from keras.src.backend.tensorflow.trainer import TensorFlowTrainer

    from sattn_dash.training import pipeline

    traced = []
    train_step = TensorFlowTrainer.train_step
    monkeypatch.setattr(
        TensorFlowTrainer,
        "train_step",
        lambda self, data: traced.append(1) or train_step(self, data),
    )
    prepared = modeling_data["regression"]
    spec, config = preset_spec("tabm", prepared), TrainingConfig(epochs=2, seed=4)
    runs = []
    for build_first in (True, False):
        if not build_first:
            monkeypatch.setattr(pipeline, "build_training_state", lambda *args: None)
        traced.clear()
        model, dataset, fit_kwargs = prepare_fit(spec, prepared, config)
        assert model.optimizer.built == build_first
        runs.append((model.fit(dataset, **fit_kwargs).history, len(traced), model))
    (history, traces, model), (keras_history, keras_traces, keras_model) = runs
    assert (traces, keras_traces) == (1, 2)
    assert history == keras_history
    for weights, keras_weights in zip(model.get_weights(), keras_model.get_weights(), strict=True):
        np.testing.assert_array_equal(weights, keras_weights)


def test_early_stopping_restores_the_best_epoch(modeling_data):
    prepared = modeling_data["binary"]
    # A learning rate this high makes later epochs worse than the best one.
    spec = dataclasses.replace(preset_spec("ensemble", prepared), learning_rate=0.5)
    config = TrainingConfig(epochs=8, patience=3, batch_size=16, seed=1)
    model, dataset, fit_kwargs = prepare_fit(spec, prepared, config)
    history = model.fit(dataset, **fit_kwargs).history
    stop = early_stopping(fit_kwargs)
    assert (stop.monitor, stop.mode) == ("val_loss", "min")  # one output: its log loss
    best = int(np.argmin(history["val_loss"]))
    assert 0 < best < len(history["val_loss"]) - 1 and stop.best_epoch == best
    scores = model.evaluate(fit_kwargs["validation_data"], verbose=0, return_dict=True)
    assert scores["loss"] == pytest.approx(history["val_loss"][best], abs=1e-4)


def test_an_old_spec_and_config_keep_their_old_behaviour(modeling_data):
    prepared = modeling_data["binary"]
    data = preset_spec("ensemble", prepared).to_dict()
    for name in ("weight_decay", "schedule", "warmup_fraction", "label_smoothing"):
        del data[name]
    spec = ModelSpec.from_dict(data)
    old = TrainingConfig.from_dict(
        {"epochs": 20, "batch_size": 64, "seed": 0, "patience": 5, "early_stopping": True}
    )
    assert (old.monitor, old.scaling, old.clip, old.many_levels) == (
        "val_loss",
        "standard",
        None,
        "codes",
    )
    assert TrainingConfig.from_dict({}).batch_size == 64
    model, _, fit_kwargs = prepare_fit(spec, prepared, old)
    assert type(model.optimizer) is keras.optimizers.Adam
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3)
    assert (
        model.loss == {"head_label": "binary_crossentropy"} or model.loss == "binary_crossentropy"
    )
    assert early_stopping(fit_kwargs).monitor == "val_loss"


def test_new_defaults_are_patient():
    config = TrainingConfig()
    assert (config.epochs, config.patience, config.monitor) == (32, 8, "auto")
    assert config.batch_size is None
    assert [config.batch_size_for(n) for n in (100, 1000, 6000, 20_000, 100_000)] == [
        64,
        64,
        128,
        256,
        512,
    ]
    assert TrainingConfig(batch_size=48).batch_size_for(10_000) == 48
    assert TrainingConfig.from_dict(config.to_dict()) == config


def test_recipe_fields_round_trip_and_validate(modeling_data):
    prepared = modeling_data["binary"]
    spec = recipe_spec(prepared)
    assert ModelSpec.from_json(spec.to_json()) == spec
    for field, value in [
        ("schedule", "step"),
        ("warmup_fraction", 1.0),
        ("label_smoothing", 0.7),
        ("weight_decay", -1.0),
    ]:
        data = {**spec.to_dict(), field: value}
        with pytest.raises(SpecError, match="^" + re.escape(field) + ":"):
            ModelSpec.from_dict(data)
    with pytest.raises(SpecError, match="monitor"):
        TrainingConfig(monitor="val_auc")


def test_cli_flags_set_the_recipe_and_config():
    parser = argparse.ArgumentParser()
    training_arguments(parser)
    args = parser.parse_args(
        [
            "--optimizer",
            "adamw",
            "--weight-decay",
            "0.01",
            "--schedule",
            "cosine",
            "--warmup-fraction",
            "0.05",
            "--label-smoothing",
            "0.1",
            "--epochs",
            "50",
            "--patience",
            "8",
            "--monitor",
            "val_loss",
            "--scaling",
            "robust",
            "--clip",
            "5",
            "--many-levels",
            "one_hot",
            "--batch-size",
            "128",
        ]
    )
    assert recipe_overrides(args) == {
        "optimizer": "adamw",
        "weight_decay": 0.01,
        "schedule": "cosine",
        "warmup_fraction": 0.05,
        "label_smoothing": 0.1,
    }
    config = TrainingConfig(**training_overrides(args))
    assert (config.epochs, config.patience, config.monitor, config.batch_size) == (
        50,
        8,
        "val_loss",
        128,
    )
    assert config.prepare_options().to_dict() == {
        "scaling": "robust",
        "clip": 5.0,
        "many_levels": "one_hot",
    }
    defaults = TrainingConfig(**training_overrides(parser.parse_args([])))
    assert defaults == TrainingConfig()
    assert recipe_overrides(parser.parse_args([])) == {}


def test_early_stopping_ties_of_the_metric_go_to_the_lower_validation_loss():
    """Validation AUC reaches 1.0 while the loss still falls (a table one column
    separates): the epoch kept is the tied one with the lowest loss, not the first."""
    from sattn_dash.training.early_stopping import MetricEarlyStopping

    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    stop = MetricEarlyStopping(monitor="val_auc", mode="max", patience=2, restore_best_weights=True)
    model.stop_training = False  # what fit sets before the callbacks run
    stop.set_model(model)
    stop.on_train_begin()
    epochs = [(0.9, 1.0), (1.0, 0.8), (1.0, 0.5), (1.0, 0.6), (0.99, 0.4), (1.0, 0.7)]
    for epoch, (auc, loss) in enumerate(epochs):
        model.layers[0].set_weights([np.full((1, 1), epoch, "float32"), np.zeros(1, "float32")])
        stop.on_epoch_end(epoch, {"val_auc": auc, "val_loss": loss})
        if model.stop_training:
            break
    stop.on_train_end()
    assert stop.best_epoch == 2 and stop.best == 1.0 and stop.best_tie_breaker == 0.5
    assert model.stop_training and epoch == 3  # patience counts from the better AUC (1)
    assert model.layers[0].get_weights()[0].item() == 2.0  # its weights are back


def test_each_training_option_is_a_config_or_spec_field_and_a_flag():
    """The one list of training options: its defaults are TrainingConfig's, and every
    option that is a flag reaches the ``train`` command line under its own name."""
    from sattn_dash.cli import build_parser
    from sattn_dash.training.config import TRAINING_OPTIONS

    config_fields = {f.name: f.default for f in dataclasses.fields(TrainingConfig)}
    spec_fields = {f.name for f in dataclasses.fields(ModelSpec)}
    train = build_parser()._subparsers._group_actions[0].choices["train"]
    flags = {flag for action in train._actions for flag in action.option_strings}
    for option in TRAINING_OPTIONS.values():
        if option.on_spec:
            assert option.name in spec_fields and option.default is None
        else:
            assert option.default == config_fields[option.name], option.name
        if option.flag:
            prefix = "--no-" if option.kind is bool else "--"
            assert prefix + option.name.replace("_", "-") in flags
