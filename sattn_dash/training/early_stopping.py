"""Early stopping on a validation metric, with ties going to the lower validation loss.

A metric such as ROC AUC or accuracy often stops moving long before the model is done:
on a table that one column separates, validation AUC reaches 1.0 while every
probability is still on the majority side of 0.5. Keras counts an equal value as no
improvement, so the first epoch to reach it was the one kept, and on such a public
table (AER's CreditCard) the restored model predicted the majority class for every row.
Here an epoch that equals the best metric with a lower validation loss is the better
epoch, and its weights are the ones kept. Patience still counts from the last epoch
that made the metric itself better, so a saturated metric ends the run as soon as
before (a slowly falling loss alone does not keep it going).
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
        super().on_epoch_end(epoch, logs)
        if self.best_epoch == epoch:  # a better metric (or the first epoch)
            self.best_tie_breaker = math.inf if tie is None else float(tie)
            return
        tied = current is not None and current == self.best
        if tied and tie is not None and tie < self.best_tie_breaker:  # keep this one
            self.best_epoch, self.best_tie_breaker = epoch, float(tie)
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
