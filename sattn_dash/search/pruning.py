"""The Keras callback that lets Optuna prune a trial from its per-epoch validation metric.

optuna-integration's ``KerasPruningCallback`` raises ``TrialPruned`` inside ``fit``:
under a ``TrainingSession`` that would end the run as failed, with no saved model. This
one stops training the way early stopping does (``model.stop_training``), so a pruned
trial is still a whole run: its weights, test metrics and charts are kept.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import keras


class PruningCallback(keras.callbacks.Callback):
    """Report ``monitor`` each epoch to ``trial``; stop training when Optuna says prune.
    ``monitor`` is a Keras log name, or a function of the model giving one (called when
    training begins: a head's log name depends on the model's outputs)."""

    def __init__(self, trial: Any, monitor: str | Callable[[Any], str]):
        super().__init__()
        self.trial = trial
        self._resolve = monitor if callable(monitor) else None
        self.monitor: str | None = None if callable(monitor) else monitor
        self.pruned_at: int | None = None
        self.reported: list[float] = []

    def on_train_begin(self, logs: dict | None = None) -> None:
        if self._resolve is not None:
            self.monitor = self._resolve(self.model)

    @property
    def pruned(self) -> bool:
        return self.pruned_at is not None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        value = (logs or {}).get(self.monitor)
        if value is None or not math.isfinite(float(value)):
            return
        self.reported.append(float(value))
        self.trial.report(float(value), step=epoch + 1)
        if self.trial.should_prune():
            self.pruned_at = epoch + 1
            self.model.stop_training = True
