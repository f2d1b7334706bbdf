"""Load a saved model: the custom objects must be registered with Keras first."""

from __future__ import annotations

import keras

from sattn_dash._keras_registration import register_with_keras

register_with_keras()  # the one list of modules (``_keras_registration.MODULES``)


def load_model(path, compile: bool = False) -> keras.Model:
    """``keras.saving.load_model`` with every sattn-dash layer known to it."""
    return keras.saving.load_model(path, compile=compile)
