"""What a price on a branch's weight costs: a share of the loss the model has now.

A combiner's module prices (``CombinerSpec.all_columns_price``) are added to the loss
as ``price x weight``. An absolute price means something else on every table: 0.1 is a
seventh of a log loss of 0.7 on a noisy class target but all of a mean squared error of
0.1 on a regression the model fits well, so one number either leaves the all-columns
branch first on an additive table or costs a table that needs columns together its
accuracy (bench/RESULTS.md). Scaled by the loss the model has left to lose (its
training loss above the floor label smoothing puts under it), a price reads the same
everywhere: at 0.05 a branch keeps a unit of weight only where it cuts that loss by more
than a twentieth. A fresh fit's first epoch trains without the price (there is no loss
yet to scale by); from then on each epoch pays its share of the last epoch's loss.
"""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np


def priced_combiner(model: Any) -> Any | None:
    """The model's combiner when it charges module prices, else None."""
    from sattn_dash.layers import SparseAttentionWeighting
    from sattn_dash.modeling import combiner_layer

    try:
        combiner = combiner_layer(model)
    except ValueError:
        return None
    if isinstance(combiner, SparseAttentionWeighting) and combiner.module_prices:
        return combiner
    return None


class PricesFollowTheLoss(keras.callbacks.Callback):
    """Sets the combiner's ``price_scale`` to the last epoch's training loss above
    ``floor`` (the least it can reach: ``modeling.build.loss_floor``), less what the
    prices themselves added to it; 0 through a fresh fit's first epoch. A resumed fit
    starts from the scale its checkpoint saved."""

    checkpointed = False  # the scale is a model variable: checkpoints hold it already

    def __init__(self, combiner: Any, floor: float = 0.0, first_epoch: int = 0):
        super().__init__()
        self.combiner = combiner
        self.floor = floor
        self.first_epoch = first_epoch

    def on_train_begin(self, logs: dict | None = None) -> None:
        if self.first_epoch == 0:
            self.combiner.price_scale.assign(0.0)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is None or not math.isfinite(loss):
            return
        prices = np.dot(self.combiner.module_prices, self.combiner.module_probabilities())
        paid = float(self.combiner.price_scale.numpy()) * float(prices)
        self.combiner.price_scale.assign(max(0.0, float(loss) - paid - self.floor))
