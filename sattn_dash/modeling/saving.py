"""Load a saved model: the custom layers must be registered with Keras first."""

from __future__ import annotations

import keras

import sattn_dash.layers.batch_ensemble  # noqa: F401  (registers the layers)
import sattn_dash.layers.numeric_embeddings  # noqa: F401  (registers the layers)
import sattn_dash.layers.sparse_attention_weighting  # noqa: F401  (registers the layer)
import sattn_dash.layers.sparse_dense_attention  # noqa: F401  (registers the layer)
import sattn_dash.modeling.keras_layers  # noqa: F401  (registers our helper layers)
import sattn_dash.modeling.losses  # noqa: F401  (registers our losses)
import sattn_dash.modeling.schedules  # noqa: F401  (registers our learning-rate schedule)


def load_model(path, compile: bool = False) -> keras.Model:
    """``keras.saving.load_model`` with every sattn-dash layer known to it."""
    return keras.saving.load_model(path, compile=compile)
