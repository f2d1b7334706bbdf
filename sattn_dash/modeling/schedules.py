"""The learning-rate schedule of the training recipe: linear warm-up, then cosine decay.

Keras' ``CosineDecay`` with a warm-up computes the same rate, but picks warm-up or decay
with a ``cond``, and Keras reads the rate once per weight to apply weight decay (AdamW),
so the training step of the default model held 15 ``cond`` functions. Here the two
phases are computed side by side and one is picked with ``where``: a handful of scalar
ops per read. On the default model this took 0.4 s off the first epoch (tracing) and
5-6 % off every later one (bench/RESULTS.md, Training), for the same weights.
"""

import math

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="sattn_dash")
class WarmupCosine(keras.optimizers.schedules.LearningRateSchedule):
    """From 0 up to ``peak`` linearly over ``warmup_steps``, then down to 0 along half a
    cosine over ``decay_steps``, and 0 after that: the values of Keras'
    ``CosineDecay(0.0, decay_steps, warmup_target=peak, warmup_steps=warmup_steps)``
    (or of ``CosineDecay(peak, decay_steps)`` without warm-up)."""

    def __init__(self, peak, decay_steps, warmup_steps=0):
        if not (isinstance(peak, int | float) and peak > 0):
            raise ValueError(f"peak must be a positive number, got {peak!r}.")
        if not (isinstance(decay_steps, int) and decay_steps >= 1):
            raise ValueError(f"decay_steps must be an integer >= 1, got {decay_steps!r}.")
        if not (isinstance(warmup_steps, int) and warmup_steps >= 0):
            raise ValueError(f"warmup_steps must be an integer >= 0, got {warmup_steps!r}.")
        self.peak = float(peak)
        self.decay_steps = decay_steps
        self.warmup_steps = warmup_steps

    def __call__(self, step):
        step = ops.cast(step, "float32")
        done = ops.clip((step - self.warmup_steps) / self.decay_steps, 0.0, 1.0)
        decayed = (0.5 * self.peak) * (1.0 + ops.cos(math.pi * done))
        if not self.warmup_steps:
            return decayed
        warming = step * (self.peak / self.warmup_steps)
        return ops.where(step < self.warmup_steps, warming, decayed)

    def get_config(self):
        return {
            "peak": self.peak,
            "decay_steps": self.decay_steps,
            "warmup_steps": self.warmup_steps,
        }
