"""The Keras callback that connects ``model.fit`` to a training session.

Per batch it only checks the stop flag and counts (``on_train_batch_begin``, which Keras
calls in the training thread); reading the loss values, which waits for the device, runs
in ``on_train_batch_end``, which Keras dispatches off the training loop because the
callback is ``async_safe``. Per epoch it writes the history row, a snapshot of the
combiner and the status file. A stop or a NaN loss sets ``model.stop_training``, which
Keras checks after every call into the graph (at most 32 batches: ``steps_per_call``):
the run ends within one call, keeping its weights.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any, Protocol

import keras
import numpy as np

log = logging.getLogger(__name__)

HEARTBEAT_EVERY_S = 5.0
ROUTING_SAMPLE_ROWS = 256


class SessionHooks(Protocol):
    """What the callback needs from the session that owns it."""

    def stop_requested(self) -> bool: ...

    def on_progress(self, epoch: int, batch: int, logs: dict[str, float] | None) -> None: ...

    def on_nan(self, epoch: int, batch: int, logs: dict[str, float]) -> None: ...

    def on_epoch(
        self, epoch: int, batches: int, logs: dict[str, float], snapshot: dict
    ) -> None: ...

    def heartbeat(self) -> None: ...


class SessionCallback(keras.callbacks.Callback):
    """Stop, NaN check, progress, history and snapshots for one session's ``fit``."""

    async_safe = True  # on_train_batch_end may run off the training loop (see module doc)

    def __init__(self, hooks: SessionHooks, snapshotter: Snapshotter):
        super().__init__()
        self.hooks = hooks
        self.snapshotter = snapshotter
        self.epoch = 0
        self.batch = 0
        self.nan_seen = False
        self._next_heartbeat = 0.0

    def _halt_if_asked(self) -> None:
        if self.nan_seen or self.hooks.stop_requested():
            self.model.stop_training = True

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1
        self.batch = 0
        self.hooks.on_progress(self.epoch, 0, None)

    def on_train_batch_begin(self, batch, logs=None):
        # One call runs steps_per_execution batches: ``batch`` up to this one.
        self.batch = batch + self.model.steps_per_execution - 1
        self._halt_if_asked()
        now = time.monotonic()
        if now >= self._next_heartbeat:
            self._next_heartbeat = now + HEARTBEAT_EVERY_S
            self.hooks.heartbeat()

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        loss = logs.get("loss")
        if loss is not None and not math.isfinite(loss):
            self.nan_seen = True
            self.model.stop_training = True
            self.hooks.on_nan(self.epoch, batch + 1, logs)
            return
        self.hooks.on_progress(self.epoch, batch + 1, logs)

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        if not self.nan_seen and not math.isfinite(logs.get("loss", 0.0)):
            self.nan_seen = True
            self.hooks.on_nan(epoch + 1, self.batch + 1, logs)
        snapshot = {} if self.nan_seen else self.snapshotter.take()
        self.hooks.on_epoch(epoch + 1, self.batch + 1, logs, snapshot)
        self._halt_if_asked()


class Snapshotter:
    """What the combiner has learned so far: module probabilities (per name the user
    gave, an ensemble beside other branches summed into its branch, as the run card
    and the Module importance page count them), temperature and the mean routing
    weight of each branch (sparse_dense, on a fixed sample of rows)."""

    def __init__(self, model: Any, sample: np.ndarray | None):
        from sattn_dash.modeling import branch_names, combiner_layer, named_modules

        self.model = model
        self.branches = list(branch_names(model))
        self.named = named_modules(model)
        self.combiner = combiner_layer(model)
        self.router = None
        self.sample = None
        self.problem: str | None = None
        if sample is not None and len(sample):
            try:
                self.router = _routing_model(model)
            except Exception as exc:  # a snapshot is never worth a failed run
                log.exception("No routing snapshots for model %s", model.name)
                self.problem = f"routing weights unavailable ({type(exc).__name__}: {exc})"
            self.sample = np.asarray(sample[:ROUTING_SAMPLE_ROWS], dtype=np.float32)

    def take(self) -> dict[str, Any]:
        from sattn_dash.modeling import module_probabilities, named_sums

        probabilities = module_probabilities(self.model)
        if probabilities is not None:
            probabilities = named_sums(self.named, probabilities)
        snapshot: dict[str, Any] = {
            "module_probabilities": probabilities,
            "temperature": _temperature(self.combiner),
            "routing": None,
        }
        if self.problem:
            snapshot["problem"] = self.problem
        if self.router is not None:
            mean = np.asarray(self.router(self.sample, training=False)).mean(axis=0)
            snapshot["routing"] = {b: float(w) for b, w in zip(self.branches, mean, strict=True)}
        return snapshot


def _routing_model(model: Any) -> Any:
    """A model computing only the routing weights of a sparse_dense combiner (or None)."""
    from sattn_dash.modeling import explain_model

    explainer = explain_model(model)
    if "routing" not in explainer.output:
        return None
    return keras.Model(model.input, explainer.output["routing"])


def _temperature(layer: Any) -> float | None:
    value = getattr(layer, "temperature_value", None)
    return float(value) if value is not None else None
