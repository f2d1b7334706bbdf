"""Permutation importance of a branch shuffles the branch's output, not the inputs every
branch shares: on a model where one branch carries all the signal and all branches read
every column, that branch ranks first and the others get (exactly) nothing."""

from __future__ import annotations

import numpy as np
import pytest

from sattn_dash.analysis import permutation_importance_by
from sattn_dash.modeling import (
    BlockSpec,
    BranchSpec,
    CombinerSpec,
    HeadSpec,
    ModelSpec,
    build_model,
)
from sattn_dash.tabular import infer_schema, prepare
from tests.unit.conftest import make_training_table


@pytest.fixture(scope="module")
def shared_inputs():
    """Three branches over all columns; by their weights, only ``signal`` sees x0 + x1
    (the label), ``flat_a`` and ``flat_b`` output constants."""
    table = make_training_table(rows=600).drop(columns=["amount"])
    prepared = prepare(table, infer_schema(table, targets=["label"]), seed=0)
    linear = (BlockSpec("dense", units=1, activation="linear"),)
    spec = ModelSpec(
        name="one signal branch",
        branches=tuple(BranchSpec(n, "all", linear) for n in ("flat_a", "signal", "flat_b")),
        combiner=CombinerSpec("sparse_attention"),
        heads=(HeadSpec("label"),),
    )
    model = build_model(spec, prepared)
    kernel = np.zeros((len(prepared.feature_names), 1), dtype=np.float32)
    kernel[[prepared.feature_names.index("x0"), prepared.feature_names.index("x1")]] = 1.0
    for name, weights in (
        ("flat_a", [np.zeros_like(kernel), np.array([0.7], np.float32)]),
        ("signal", [kernel, np.zeros(1, np.float32)]),
        ("flat_b", [np.zeros_like(kernel), np.array([-0.4], np.float32)]),
    ):
        model.get_layer(f"branch_{name}_0_dense").set_weights(weights)
    # combined = (a + s + b) / 3 = s / 3 + 0.1: the head undoes that, sharply
    head = model.get_layer("head_label")
    head.set_weights([np.array([[30.0]], np.float32), np.array([-1.0], np.float32)])
    return model, prepared


def test_the_signal_branch_ranks_first_and_the_others_near_zero(shared_inputs):
    model, prepared = shared_inputs
    frame = permutation_importance_by(model, prepared, level="branch", n_repeats=3)
    importance = frame.set_index("branch")["importance"]
    assert frame.sort_values("rank")["branch"].iloc[0] == "signal"
    assert importance["signal"] > 0.1
    assert abs(importance["flat_a"]) < 1e-6 and abs(importance["flat_b"]) < 1e-6
    assert frame.set_index("branch").loc["signal", "rank"] == 1
    assert (frame.set_index("branch").loc[["flat_a", "flat_b"], "rank"] > 1).all()
