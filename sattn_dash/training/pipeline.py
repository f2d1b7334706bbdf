"""Seeded model building and the training input pipeline.

Reproducibility: the same data, spec and seed give the same weights and the same batch
order, also when another session trains at the same time. Keras draws initial weights
and layer seeds from Python's global random state, so building happens under one
process-wide lock right after ``keras.utils.set_random_seed``. The batch order comes
from a ``tf.data`` shuffle with its own seed, made under the same lock; after that,
nothing a session does depends on global random state.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

_seed_lock = threading.Lock()


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Hold the global random state at ``seed`` while building a model and its data."""
    import keras

    with _seed_lock:
        keras.utils.set_random_seed(seed)
        yield


def training_dataset(X: np.ndarray, y: dict[str, np.ndarray], batch_size: int, seed: int) -> Any:
    """Batches of ``(X, y)`` in a fresh seeded order each epoch.

    Built the way Keras builds its own from arrays: shuffle row indices, batch them,
    gather the rows from the arrays handed in beside the indices (not captured as graph
    constants), with tf.data's static graph optimisations off; otherwise each epoch's
    new iterator re-serialises the whole table, a fixed cost per epoch.
    """
    import tensorflow as tf

    arrays = (
        tf.convert_to_tensor(np.asarray(X, dtype=np.float32)),
        {name: tf.convert_to_tensor(values) for name, values in y.items()},
    )
    n = len(X)
    order = (
        tf.data.Dataset.range(n)
        .shuffle(n, seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size)
    )

    def gather(indices, data):
        features, targets = data
        return tf.gather(features, indices), {k: tf.gather(v, indices) for k, v in targets.items()}

    options = tf.data.Options()
    options.experimental_optimization.apply_default_optimizations = False
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return (
        tf.data.Dataset.zip((order, tf.data.Dataset.from_tensors(arrays).repeat()))
        .map(gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        .with_options(options)
        .prefetch(tf.data.AUTOTUNE)
    )


# The Keras metric early stopping watches for a single target under monitor="auto".
MONITORED_METRIC = {
    "binary": ("auc", "max"),
    "multiclass": ("accuracy", "max"),
    "regression": ("rmse", "min"),
}


def early_stopping_monitor(config: Any, prepared: Any, model: Any) -> tuple[str, str]:
    """``(Keras log name, "min" | "max")`` early stopping watches for ``config``: the
    validation metric of the single target under ``monitor="auto"``, else the loss.
    Keras prefixes metric names with the output's name only when there are several."""
    from sattn_dash.modeling import head_name

    if config.monitor == "auto" and len(prepared.tasks) == 1:
        ((target, task),) = prepared.tasks.items()
        metric, mode = MONITORED_METRIC[task]
        prefix = f"{head_name(target)}_" if len(model.outputs) > 1 else ""
        return f"val_{prefix}{metric}", mode
    return "val_loss", "min"


def prepare_fit(
    spec: Any, prepared: Any, config: Any, strategy: Any = None
) -> tuple[Any, Any, dict]:
    """The seeded, compiled model, its batches and the keyword arguments of
    ``model.fit`` for ``config`` (early stopping on the validation split, restoring the
    best epoch): what a training session and a retrained baseline share, so both train
    the same way."""
    import keras

    from sattn_dash.modeling import build_model
    from sattn_dash.modeling.build import compile_model, output_targets

    X_train, y_train = prepared.split("train")
    X_val, y_val = prepared.split("val")
    outputs = output_targets(spec)  # heads and ensemble members learn the same targets
    batch_size = config.batch_size_for(len(X_train))
    total_steps = config.epochs * math.ceil(len(X_train) / batch_size)
    scope = strategy.scope() if strategy is not None else contextlib.nullcontext()
    with seeded(config.seed), scope:
        model = compile_model(
            build_model(spec, prepared, compile=False), spec, prepared, total_steps=total_steps
        )
        dataset = training_dataset(
            np.asarray(X_train, dtype=np.float32),
            {name: y_train[t] for name, t in outputs.items()},
            batch_size,
            config.seed,
        )
    callbacks: list[Any] = []
    validation = None
    if len(X_val):
        validation = (
            np.asarray(X_val, dtype=np.float32),
            {name: y_val[t] for name, t in outputs.items()},
        )
        if config.early_stopping:
            monitor, mode = early_stopping_monitor(config, prepared, model)
            callbacks.append(
                keras.callbacks.EarlyStopping(
                    monitor=monitor,
                    mode=mode,
                    patience=config.patience,
                    restore_best_weights=True,
                )
            )
    fit_kwargs = {
        "epochs": config.epochs,
        "callbacks": callbacks,
        "validation_data": validation,
        "shuffle": False,  # the dataset shuffles itself, with its own seed
        "verbose": 0,
    }
    return model, dataset, fit_kwargs
