"""Early stopping on a validation metric, with ties going to the lower validation loss.

A metric such as ROC AUC or accuracy often stops moving long before the model is done:
on a table that one column separates, validation AUC reaches 1.0 while every
probability is still on the majority side of 0.5. Keras counts an equal value as no
improvement, so the first epoch to reach it was the one kept, and on such a public
table (AER's CreditCard) the restored model predicted the majority class for every row.
Here an epoch that equals the best metric with a lower validation loss is the better
epoch (its weights are kept and patience starts again); a strictly better metric wins
as before.
"""

from __future__ import annotations

import math

import keras


class MetricEarlyStopping(keras.callbacks.EarlyStopping):
    """``keras.callbacks.EarlyStopping`` that breaks ties of ``monitor`` on
    ``tie_breaker`` (a log that is better when smaller, by default ``val_loss``)."""

    def __init__(self, *args, tie_breaker: str = "val_loss", **kwargs):
        super().__init__(*args, **kwargs)
        self.tie_breaker = tie_breaker
        self.best_tie_breaker = math.inf

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self.best_tie_breaker = math.inf

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        current = self.get_monitor_value(logs)
        tie = logs.get(self.tie_breaker)
        tied = current is not None and current == self.best
        if tied and tie is not None and tie < self.best_tie_breaker:
            self.best = None  # Keras counts any value as better than no best at all
        super().on_epoch_end(epoch, logs)
        if self.best_epoch == epoch and tie is not None:
            self.best_tie_breaker = float(tie)
