"""Seeded model building and the training input pipeline.

Reproducibility: the same data, spec and seed give the same weights and the same batch
order, also when another session trains at the same time. Keras draws initial weights
and layer seeds from Python's global random state, so building happens under one
process-wide lock right after ``keras.utils.set_random_seed``. The batch order of
epoch ``e`` is a permutation drawn from ``(seed, e)`` alone (a stateless shuffle), so a
resumed run can start at any epoch and see the batches an uninterrupted run would;
after building, nothing a session does depends on global random state.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from sattn_dash.modeling.spec import ModelSpec
    from sattn_dash.tabular.prepared import PreparedData
    from sattn_dash.training.config import TrainingConfig

_seed_lock = threading.Lock()
# Rows per validation batch: scoring only, so large is cheap (Keras' 32 rows at a time
# took 6 of 9 s of an epoch at 200,000 rows, bench/RESULTS.md).
VALIDATION_BATCH = 4096


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Hold the global random state at ``seed`` while building a model and its data."""
    import keras

    with _seed_lock:
        keras.utils.set_random_seed(seed)
        yield


def steps_per_epoch(rows: int, batch_size: int) -> int:
    """Batches in one epoch (the last one may be short)."""
    return max(1, math.ceil(rows / batch_size))


def training_dataset(
    X: np.ndarray,
    y: dict[str, np.ndarray],
    batch_size: int,
    seed: int,
    *,
    epochs: int,
    first_epoch: int = 0,
) -> Any:
    """Batches of ``(X, y)`` for epochs ``first_epoch .. epochs - 1``, one after another.

    Each epoch's order is a permutation drawn from ``(seed, epoch)`` only, so the batches
    do not depend on how many epochs came before in this process. The dataset runs on
    across epochs: fit it with ``steps_per_epoch=steps_per_epoch(len(X), batch_size)``.
    """
    import tensorflow as tf

    n = len(X)
    batches = steps_per_epoch(n, batch_size)

    def epoch_order(epoch):
        order = tf.random.experimental.stateless_shuffle(
            tf.range(n, dtype=tf.int64),
            seed=tf.stack([tf.constant(seed, tf.int64), epoch]),
            alg="philox",
        )
        return tf.data.Dataset.range(batches).map(
            lambda b: order[b * batch_size : tf.minimum((b + 1) * batch_size, n)]
        )

    order = tf.data.Dataset.range(first_epoch, max(epochs, first_epoch)).flat_map(epoch_order)
    return _rows_of(X, y, order).prefetch(tf.data.AUTOTUNE)


def validation_dataset(X: np.ndarray, y: dict[str, np.ndarray], batch_size: int) -> Any:
    """The validation rows in order, ``batch_size`` at a time: what ``fit`` scores after
    each epoch. Keras builds its own dataset from arrays twice an epoch (the iterator for
    the pass and a fresh one after it); this one is quick to start, which took a fifth
    off an epoch of the default model on a small table (bench/RESULTS.md)."""
    import tensorflow as tf

    n = len(X)
    starts = tf.data.Dataset.range(0, n, batch_size)
    return _rows_of(
        X, y, starts.map(lambda start: tf.range(start, tf.minimum(start + batch_size, n)))
    )


def _rows_of(X: np.ndarray, y: dict[str, np.ndarray], indices: Any) -> Any:
    """``(X, y)`` rows gathered by each batch of row ``indices``, built the way Keras
    builds its own dataset from arrays: the arrays are handed in beside the indices (not
    captured as graph constants), with tf.data's static graph optimisations off;
    otherwise each new iterator re-serialises the whole table."""
    import tensorflow as tf

    arrays = (
        tf.convert_to_tensor(np.asarray(X, dtype=np.float32)),
        {name: tf.convert_to_tensor(values) for name, values in y.items()},
    )

    def gather(rows, data):
        features, targets = data
        return tf.gather(features, rows), {k: tf.gather(v, rows) for k, v in targets.items()}

    options = tf.data.Options()
    options.experimental_optimization.apply_default_optimizations = False
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return (
        tf.data.Dataset.zip((indices, tf.data.Dataset.from_tensors(arrays).repeat()))
        .map(gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        .with_options(options)
    )


# The Keras metric early stopping watches for a single target under monitor="auto".
# Binary: the target's own log loss, not ROC AUC. AUC only ranks: it can peak by noise
# in the first epochs, while every probability is still poor, and that epoch was then
# restored (AER's CreditCard: 89 % accuracy against 98 %). Over 10 seeds of the three
# binary bench tables the log loss did as well or better on each (bench/RESULTS.md).
MONITORED_METRIC = {
    "binary": ("loss", "min"),
    "multiclass": ("accuracy", "max"),
    "regression": ("rmse", "min"),
}


def judged_by(tasks: dict[str, str], monitor: str = "auto") -> tuple[str, str] | None:
    """``(metric, "min" | "max")`` a run on ``tasks`` is judged by under ``monitor``: the
    single target's own validation metric (``MONITORED_METRIC``) under "auto", or None
    for the summed validation loss. Early stopping watches it; a search ranks by it."""
    if monitor == "auto" and len(tasks) == 1:
        (task,) = tasks.values()
        return MONITORED_METRIC[task]
    return None


def validation_log_name(metric: str, target: str, model: Any) -> str:
    """The Keras history name of ``target``'s validation ``metric`` ("loss", "auc", ...)
    in ``model``: Keras prefixes it with the head's name only when the model has several
    outputs (several heads, or an ensemble's members' predictions, whose loss the total
    ``val_loss`` then adds in)."""
    from sattn_dash.modeling import head_name

    prefix = f"{head_name(target)}_" if len(model.outputs) > 1 else ""
    return f"val_{prefix}{metric}"


def early_stopping_monitor(
    config: TrainingConfig, prepared: PreparedData, model: Any
) -> tuple[str, str]:
    """``(Keras log name, "min" | "max")`` early stopping watches for ``config``: the
    validation metric of the single target under ``monitor="auto"``, else the loss."""
    judged = judged_by(prepared.tasks, config.monitor)
    if judged is None:
        return "val_loss", "min"
    (target,) = prepared.tasks
    metric, mode = judged
    return validation_log_name(metric, target, model), mode


def prepare_fit(
    spec: ModelSpec,
    prepared: PreparedData,
    config: TrainingConfig,
    strategy: Any = None,
    first_epoch: int = 0,
    monitor: tuple[str, str] | None = None,
) -> tuple[Any, Any, dict]:
    """The seeded, compiled model, its batches and the keyword arguments of
    ``model.fit`` for ``config``: what a training session and a retrained baseline
    share, so both train the same way. A resumed run passes ``first_epoch`` (epochs
    already done), so the batches start where it stopped, and the ``monitor`` its early
    stopping watched (``training.checkpoint.trained_monitor``)."""
    from sattn_dash.modeling.spec import output_targets
    from sattn_dash.training.steps_per_call import steps_per_call

    X_train, y_train = prepared.split("train")
    X_val, y_val = prepared.split("val")
    outputs = output_targets(spec)  # heads and ensemble members learn the same targets
    batch_size = config.batch_size_for(len(X_train))
    steps = steps_per_epoch(len(X_train), batch_size)
    model = compiled_model(spec, prepared, config, config.epochs * steps, strategy)
    dataset = training_dataset(
        np.asarray(X_train, dtype=np.float32),
        {name: y_train[t] for name, t in outputs.items()},
        batch_size,
        config.seed,
        epochs=config.epochs,
        first_epoch=first_epoch,
    )
    validation = None
    if len(X_val):
        validation = validation_dataset(
            X_val, {name: y_val[t] for name, t in outputs.items()}, VALIDATION_BATCH
        )
    calls = steps_per_call(steps)
    fit_kwargs = fit_arguments(
        config, spec, prepared, model, steps, validation, first_epoch, calls, monitor
    )
    return model, dataset, fit_kwargs


def compiled_model(
    spec: ModelSpec,
    prepared: PreparedData,
    config: TrainingConfig,
    total_steps: int,
    strategy: Any = None,
) -> Any:
    """The model of ``spec`` built under ``config.seed`` and compiled for
    ``total_steps`` training steps (the learning-rate schedule's length)."""
    from sattn_dash.modeling import build_model
    from sattn_dash.modeling.build import compile_model

    scope = strategy.scope() if strategy is not None else contextlib.nullcontext()
    with seeded(config.seed), scope:
        model = compile_model(
            build_model(spec, prepared, compile=False), spec, prepared, total_steps=total_steps
        )
        build_training_state(model, spec, prepared)
    return model


def build_training_state(model: Any, spec: ModelSpec, prepared: PreparedData) -> None:
    """Create the optimizer's, the losses' and the metrics' variables now, from the
    shapes of the training data. Without a distribution strategy Keras creates them
    while tracing the first training step, and TensorFlow traces a function that
    creates variables twice: once to create them, once to run. Built first, the first
    epoch of the default model took 1.6 s less and that of a small MLP 1 s less
    (bench/RESULTS.md). Keras' own ``_symbolic_build`` does the work; it is what Keras
    runs under a distribution strategy."""
    import keras

    from sattn_dash.modeling.spec import output_targets

    _, y = prepared.split("train")
    features = keras.KerasTensor((None, len(prepared.feature_names)), "float32")
    targets = {}
    for name, target in output_targets(spec).items():
        values = np.asarray(y[target])
        targets[name] = keras.KerasTensor((None, *values.shape[1:]), str(values.dtype))
    model._symbolic_build(data_batch=(features, targets))


def fit_arguments(
    config: TrainingConfig,
    spec: ModelSpec,
    prepared: PreparedData,
    model: Any,
    steps: int,
    validation: Any,
    first_epoch: int = 0,
    calls: int = 1,
    monitor: tuple[str, str] | None = None,
    **more: Any,
) -> dict[str, Any]:
    """Keyword arguments of ``model.fit``: early stopping on ``validation`` (when there is
    one) watching ``monitor`` (by default ``early_stopping_monitor``) and restoring the
    best epoch, ties of the metric going to the lower validation loss; a combiner's
    prices made a share of the loss (``training.prices``); ``calls``
    training steps per call into the graph for this fit (it sets the model's
    ``steps_per_execution``, back to 1 when the fit ends); ``more`` adds fit arguments
    (a streamed validation split's steps)."""
    from sattn_dash.modeling.build import loss_floor
    from sattn_dash.training.early_stopping import MetricEarlyStopping
    from sattn_dash.training.prices import PricesFollowTheLoss, priced_combiner
    from sattn_dash.training.steps_per_call import OneStepPerCallAfterwards, use_steps_per_call

    use_steps_per_call(model, calls)
    callbacks: list[Any] = [OneStepPerCallAfterwards()]
    if (combiner := priced_combiner(model)) is not None:
        floor = loss_floor(spec, prepared)
        callbacks.append(PricesFollowTheLoss(combiner, floor, first_epoch))
    if validation is not None and config.early_stopping:
        monitor, mode = monitor or early_stopping_monitor(config, prepared, model)
        callbacks.append(
            MetricEarlyStopping(
                monitor=monitor, mode=mode, patience=config.patience, restore_best_weights=True
            )
        )
    return {
        "epochs": config.epochs,
        "initial_epoch": first_epoch,
        "steps_per_epoch": steps,
        "callbacks": callbacks,
        "validation_data": validation,
        "shuffle": False,  # the dataset shuffles itself, with its own seed
        "verbose": 0,
        **more,
    }


def resolve_spec(
    spec: ModelSpec | str,
    prepared: PreparedData,
    combiner: str | None = None,
    learning_rate: float | None = None,
    recipe: dict[str, Any] | None = None,
) -> ModelSpec:
    """A ``ModelSpec`` from a spec or a preset name, with the CLI's overrides (``recipe``:
    top-level spec fields such as ``weight_decay``), checked against the prepared data
    (raises ``SpecError`` naming the bad field)."""
    from sattn_dash.modeling import ModelSpec, preset_spec

    if isinstance(spec, str):
        spec = preset_spec(spec, prepared)
    if not isinstance(spec, ModelSpec):
        raise TypeError(f"spec must be a ModelSpec or a preset name, got {type(spec).__name__}")
    if combiner is not None:
        spec = dataclasses.replace(spec, combiner=dataclasses.replace(spec.combiner, kind=combiner))
    if learning_rate is not None:
        spec = dataclasses.replace(spec, learning_rate=float(learning_rate))
    if recipe:
        spec = dataclasses.replace(spec, **recipe)
    spec.validate(prepared)
    return spec
