"""Losses Keras lacks in the form a built model needs (registered for saving)."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="sattn_dash")
class SparseCrossentropy(keras.losses.Loss):
    """Cross-entropy of class codes against probabilities, with label smoothing:
    the true class gets ``1 - s + s / C`` and every class ``s / C`` (Keras' sparse loss
    has no smoothing). ``label_smoothing=0`` is the plain sparse cross-entropy."""

    def __init__(self, label_smoothing=0.0, name="sparse_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true, y_pred):
        n_classes = ops.shape(y_pred)[-1]
        codes = ops.cast(ops.reshape(y_true, (-1,)), "int32")
        target = ops.one_hot(codes, n_classes, dtype=y_pred.dtype)
        if self.label_smoothing:
            s = self.label_smoothing
            target = target * (1.0 - s) + s / ops.cast(n_classes, y_pred.dtype)
        return keras.losses.categorical_crossentropy(target, y_pred)

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing}
