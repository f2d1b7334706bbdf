"""Which branch the combiner weights: the module importance a run's card stores.

Per branch, what the combiner gives it: for a ``sparse_attention`` combiner the learned
module probability (an ensemble beside other branches: its members' summed, under the
branch's name, ``modeling.named_modules``), for a ``sparse_dense`` combiner the mean routing weight over a
seeded sample of a split's rows (zero where a row was not routed to the branch); None
for a combiner that weighs no branch (concat, mean). This module owns that number:
``TrainingSession`` stores it in ``card.json`` and ``analysis.modules`` shows it with
its evidence.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from sattn_dash.training.evaluation import PREDICT_BATCH

if TYPE_CHECKING:
    from sattn_dash.tabular.prepared import PreparedData

#: Rows of a split the routing is averaged over, at most.
ROUTING_ROWS = 20_000


def sample_rows(n: int, max_rows: int | None, seed: int) -> np.ndarray:
    """Row positions to analyse: all of them, or a seeded random subset of ``max_rows``."""
    if max_rows is None or n <= max_rows:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=max_rows, replace=False))


def predict_chunks(model: Any, inputs: list[np.ndarray]) -> Any:
    """``model``'s outputs for ``inputs`` in chunks of rows. ``predict_on_batch`` runs
    the compiled function without building a dataset, which is what makes the many
    small re-scorings of ablation and permutation cheap."""
    import keras

    n = len(inputs[0])
    as_list = isinstance(model.input, list | tuple)  # a reloaded model takes one tensor
    chunks = []
    for start in range(0, max(n, 1), PREDICT_BATCH):
        batch = [a[start : start + PREDICT_BATCH] for a in inputs]
        chunks.append(model.predict_on_batch(batch if as_list else batch[0]))
    return keras.tree.map_structure(lambda *parts: np.concatenate(parts, axis=0), *chunks)


def branch_routing(
    model: Any,
    prepared: PreparedData,
    split: str = "val",
    max_rows: int | None = ROUTING_ROWS,
    seed: int = 0,
) -> np.ndarray:
    """A ``sparse_dense`` combiner's routing weights (rows, branches) on a seeded sample
    of ``split``'s rows."""
    import keras

    from sattn_dash.modeling import explain_model

    X, _ = prepared.split(split)
    rows = sample_rows(len(X), max_rows, seed)
    explainer = explain_model(model)
    routing = keras.Model(explainer.inputs, {"routing": explainer.output["routing"]})
    return np.asarray(
        predict_chunks(routing, [np.asarray(np.asarray(X)[rows], np.float32)])["routing"]
    )


def branch_importance(
    model: Any,
    prepared: PreparedData,
    split: str = "val",
    seed: int = 0,
    max_rows: int | None = ROUTING_ROWS,
    routing: np.ndarray | None = None,
) -> dict[str, float] | None:
    """Branch -> importance (see the module docstring), or None for a combiner that
    weighs no branch. The one answer the run card stores, so that ``train --json``,
    ``show --json``, the Runs page and the Module importance page agree for every
    combiner. ``routing`` is ``branch_routing``'s answer when the caller has it."""
    from sattn_dash.layers import SparseAttentionWeighting
    from sattn_dash.modeling import branch_names, combiner_layer, named_modules, named_sums
    from sattn_dash.modeling.keras_layers import BranchRouter

    combiner = combiner_layer(model)
    if isinstance(combiner, SparseAttentionWeighting):
        values = combiner.module_probabilities()
    elif isinstance(combiner, BranchRouter):
        if routing is None:
            routing = branch_routing(model, prepared, split, max_rows, seed)
        values = routing.mean(axis=0)
    else:
        return None
    by_module = dict(zip(branch_names(model), values, strict=True))
    # one number per name the user gave: an ensemble's members summed into it
    return {k: float(v) for k, v in named_sums(named_modules(model), by_module).items()}
