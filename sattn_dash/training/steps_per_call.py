"""Several training steps per call into the graph, for one fit.

Keras spends about 4 ms of Python per call into the graph (callbacks, the iterator): a
third of an epoch of the default model on a small table (bench/RESULTS.md). Running
several steps per call (``steps_per_execution``) pays it once per call. Keras runs whole
calls only, so a count that did not divide the epoch would read into the next epoch's
batches; a divisor of the epoch's steps keeps every epoch exactly its batches, and the
run the same weight for weight. A stop request is seen between calls.

Set for the fit only: the compiled configuration, and so the saved model, keeps one step
per call, and the trained model goes back to one when the fit ends, so it predicts
exactly as it does once saved and loaded again.
"""

from __future__ import annotations

from typing import Any

import keras

MOST_STEPS_PER_CALL = 32


def steps_per_call(steps: int) -> int:
    """The largest divisor of an epoch's ``steps`` up to ``MOST_STEPS_PER_CALL``."""
    return max(d for d in range(1, min(steps, MOST_STEPS_PER_CALL) + 1) if steps % d == 0)


def use_steps_per_call(model: Any, steps: int) -> None:
    """Make ``model`` run ``steps`` training steps per call from its next fit on.

    ``fit`` reads the public ``steps_per_execution`` as it starts and builds its
    functions for it, so functions built for another count are dropped."""
    if model.steps_per_execution != steps:
        model.steps_per_execution = steps
        model.train_function = model.test_function = model.predict_function = None


class OneStepPerCallAfterwards(keras.callbacks.Callback):
    """Back to one step per call when the fit ends."""

    checkpointed = False  # no state: checkpoints written before it existed still resume

    def on_train_end(self, logs=None):
        use_steps_per_call(self.model, 1)
