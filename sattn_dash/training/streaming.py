"""Training and evaluating on a `StreamedData`: Keras reads record batches from disk.

The batches come through `tf.data.Dataset.from_generator`, one split at a time, with
the split decided per row by `tabular.stream.split_codes`; each epoch visits the
training rows in a seeded order of its own (record batches in a seeded window, rows
shuffled within each). The model is built from the sample's `PreparedData` and compiled
as in memory (`pipeline.compiled_model`), and early stopping watches the streamed
validation split with the same rule (`pipeline.fit_arguments`). A `TrainingSession`
given a `StreamedData` trains this way.
"""

from __future__ import annotations

import functools
import itertools
from typing import TYPE_CHECKING, Any

from sattn_dash.training.evaluation import evaluate_batches
from sattn_dash.training.pipeline import (
    VALIDATION_BATCH,
    compiled_model,
    fit_arguments,
    resolve_spec,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    import pandas as pd

    from sattn_dash.modeling.spec import ModelSpec
    from sattn_dash.tabular.schema import Schema
    from sattn_dash.tabular.stream import StreamedData, TableStream
    from sattn_dash.training.config import TrainingConfig


def stream_preparer(
    stream: TableStream,
    schema: Schema,
    config: TrainingConfig,
    sample: pd.DataFrame | None = None,
) -> Callable[[], StreamedData]:
    """What a `TrainingSession` calls in its worker to prepare `stream` for `config`
    (its seed, split sizes and preprocessing options); `sample` is the one already read
    for the Data page, reused so the profile and the model see the same rows."""
    from sattn_dash.tabular.stream import prepare_stream

    return functools.partial(
        prepare_stream,
        stream,
        schema=schema,
        sample=sample,
        **config.prepare_arguments(),
    )


def streamed_dataset(
    streamed: StreamedData,
    split: str,
    batch_size: int,
    outputs: dict[str, str],
    *,
    seed: int | None = None,
    first_epoch: int = 0,
) -> Any:
    """A `tf.data.Dataset` of `(X, {output: y})` batches of one split, read anew each
    time it repeats; `outputs` maps each model output to its target. `seed` None keeps
    table order (validation); else pass `e` (counting from `first_epoch`) visits the rows
    in an order drawn from `(seed, e)` alone, so a resumed run sees the batches an
    uninterrupted one would.

    Python hands over whole record batches; tf.data cuts them into `batch_size` rows in
    C++, so the generator's cost is per record batch, not per training step."""
    import tensorflow as tf

    prepared = streamed.prepared
    epochs = itertools.count(first_epoch)

    def generate():
        shuffle = None if seed is None else seed * 100_003 + next(epochs)
        for X, y in streamed.chunks(split, shuffle_seed=shuffle):
            yield X, {name: y[target] for name, target in outputs.items()}

    n_features = len(prepared.feature_names)
    targets = {
        name: tf.TensorSpec(
            (None,), tf.int64 if prepared.tasks[target] == "multiclass" else tf.float32
        )
        for name, target in outputs.items()
    }
    signature = (tf.TensorSpec((None, n_features), tf.float32), targets)
    chunks = tf.data.Dataset.from_generator(generate, output_signature=signature)
    return chunks.flat_map(
        lambda X, y: tf.data.Dataset.from_tensor_slices((X, y)).batch(batch_size)
    ).prefetch(tf.data.AUTOTUNE)


def prepare_streamed_fit(
    spec: ModelSpec,
    streamed: StreamedData,
    config: TrainingConfig,
    strategy: Any = None,
    first_epoch: int = 0,
    monitor: tuple[str, str] | None = None,
) -> tuple[Any, Any, dict]:
    """`pipeline.prepare_fit` for a stream: the seeded, compiled model, the training
    batches read from disk, and the keyword arguments of `model.fit` (early stopping on
    the streamed validation split, the same rule as in memory; ``first_epoch`` and
    ``monitor`` as there)."""
    from sattn_dash.modeling.spec import output_targets

    prepared = streamed.prepared
    outputs = output_targets(spec)
    batch_size = config.batch_size_for(streamed.rows["train"])
    steps = streamed.steps("train", batch_size)
    model = compiled_model(spec, prepared, config, config.epochs * steps, strategy)
    train = streamed_dataset(
        streamed, "train", batch_size, outputs, seed=config.seed, first_epoch=first_epoch
    )
    validation, more = None, {}
    if streamed.rows.get("val"):
        validation = streamed_dataset(streamed, "val", VALIDATION_BATCH, outputs).repeat()
        more["validation_steps"] = streamed.steps("val", VALIDATION_BATCH)
    fit_kwargs = fit_arguments(
        config, spec, prepared, model, steps, validation, first_epoch, monitor=monitor, **more
    )
    return model, train.repeat(), fit_kwargs


def fit_streamed(
    spec: ModelSpec | str, streamed: StreamedData, config: TrainingConfig
) -> tuple[Any, Any]:
    """The model trained on every training row of the stream, and its Keras history.
    `spec` is a `ModelSpec` or a preset name, checked against the sample's columns."""
    spec = resolve_spec(spec, streamed.prepared, learning_rate=config.learning_rate)
    model, dataset, fit_kwargs = prepare_streamed_fit(spec, streamed, config)
    history = model.fit(dataset, **fit_kwargs)
    return model, history


def evaluate_streamed(model: Any, streamed: StreamedData, split: str = "test") -> dict[str, dict]:
    """Metrics per target on one split, predicted a record batch at a time."""
    return evaluate_batches(model, streamed.chunks(split), streamed.prepared.tasks)
