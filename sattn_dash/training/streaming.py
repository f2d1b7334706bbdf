"""Training and evaluating on a `StreamedData`: Keras reads record batches from disk.

The batches come through `tf.data.Dataset.from_generator`, one split at a time, with
the split decided per row by `tabular.stream.split_codes`; each epoch visits the
training rows in a new seeded order (record batches in a seeded window, rows shuffled
within each). The model is built by `build_model` from the sample's `PreparedData`, under
the same seeded lock as the in-memory path, and early stopping watches the streamed
validation split the same way.
"""

from __future__ import annotations

import itertools
from typing import Any

from sattn_dash.training.evaluation import evaluate_batches
from sattn_dash.training.pipeline import seeded

VALIDATION_BATCH = 4096


def streamed_dataset(streamed: Any, split: str, batch_size: int, seed: int | None) -> Any:
    """A `tf.data.Dataset` of `(X, {head: y})` batches of one split, read anew each
    epoch; `seed` None keeps table order (validation), else each epoch reshuffles.

    Python hands over whole record batches; tf.data cuts them into `batch_size` rows in
    C++, so the generator's cost is per record batch, not per training step."""
    import tensorflow as tf

    from sattn_dash.modeling import head_name

    prepared = streamed.prepared
    epochs = itertools.count()

    def generate():
        shuffle = None if seed is None else seed * 100_003 + next(epochs)
        for X, y in streamed.chunks(split, shuffle_seed=shuffle):
            yield X, {head_name(t): v for t, v in y.items()}

    n_features = len(prepared.feature_names)
    targets = {
        head_name(t): tf.TensorSpec(
            (None,), tf.int64 if prepared.tasks[t] == "multiclass" else tf.float32
        )
        for t in prepared.tasks
    }
    signature = (tf.TensorSpec((None, n_features), tf.float32), targets)
    chunks = tf.data.Dataset.from_generator(generate, output_signature=signature)
    return chunks.flat_map(
        lambda X, y: tf.data.Dataset.from_tensor_slices((X, y)).batch(batch_size)
    ).prefetch(tf.data.AUTOTUNE)


def fit_streamed(spec: Any, streamed: Any, config: Any) -> tuple[Any, Any]:
    """The model trained on every training row of the stream, and its Keras history.
    `spec` is a `ModelSpec` or a preset name, checked against the sample's columns."""
    import keras

    from sattn_dash.modeling import build_model
    from sattn_dash.training.session import resolve_spec

    spec = resolve_spec(spec, streamed.prepared, learning_rate=config.learning_rate)
    with seeded(config.seed):
        model = build_model(spec, streamed.prepared)
    batch_size = config.batch_size_for(streamed.rows["train"])
    train = streamed_dataset(streamed, "train", batch_size, config.seed)
    validation = None
    callbacks: list[Any] = []
    if streamed.rows.get("val"):
        validation = streamed_dataset(streamed, "val", VALIDATION_BATCH, None).repeat()
        if config.early_stopping:
            callbacks.append(
                keras.callbacks.EarlyStopping(
                    monitor="val_loss", patience=config.patience, restore_best_weights=True
                )
            )
    history = model.fit(
        train.repeat(),
        steps_per_epoch=streamed.steps("train", batch_size),
        epochs=config.epochs,
        validation_data=validation,
        validation_steps=streamed.steps("val", VALIDATION_BATCH) if validation else None,
        callbacks=callbacks,
        shuffle=False,  # the stream shuffles itself, with its own seed
        verbose=0,
    )
    return model, history


def evaluate_streamed(model: Any, streamed: Any, split: str = "test") -> dict[str, dict]:
    """Metrics per target on one split, predicted a record batch at a time."""
    return evaluate_batches(model, streamed.chunks(split), streamed.prepared.tasks)
