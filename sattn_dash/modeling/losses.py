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


@keras.saving.register_keras_serializable(package="sattn_dash")
class MemberLoss(keras.losses.Loss):
    """The mean over ensemble members of each member's own loss: ``y_pred`` is
    ``(batch, k, ...)``, ``y_true`` the target as for the head (``(batch,)``), the same
    for every member. ``task`` picks the loss: binary or sparse categorical
    cross-entropy (with ``label_smoothing``), or the squared error."""

    def __init__(self, task, label_smoothing=0.0, name="member_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        if task not in ("binary", "multiclass", "regression"):
            raise ValueError(f"task must be binary, multiclass or regression, got {task!r}.")
        self.task = task
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true, y_pred):
        k = ops.shape(y_pred)[1]
        y = ops.reshape(ops.cast(y_true, y_pred.dtype), (-1, 1))
        y = ops.repeat(y, k, axis=1)  # (batch, k)
        s = self.label_smoothing
        if self.task == "multiclass":
            n_classes = ops.shape(y_pred)[-1]
            target = ops.one_hot(ops.cast(y, "int32"), n_classes, dtype=y_pred.dtype)
            if s:
                target = target * (1.0 - s) + s / ops.cast(n_classes, y_pred.dtype)
            per_member = keras.losses.categorical_crossentropy(target, y_pred)
        elif self.task == "binary":
            p = ops.clip(ops.reshape(y_pred, ops.shape(y)), 1e-7, 1.0 - 1e-7)
            y = y * (1.0 - s) + 0.5 * s
            per_member = -(y * ops.log(p) + (1.0 - y) * ops.log(1.0 - p))
        else:
            per_member = ops.square(ops.reshape(y_pred, ops.shape(y)) - y)
        return ops.mean(per_member, axis=1)

    def get_config(self):
        return {
            **super().get_config(),
            "task": self.task,
            "label_smoothing": self.label_smoothing,
        }
