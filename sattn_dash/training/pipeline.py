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
