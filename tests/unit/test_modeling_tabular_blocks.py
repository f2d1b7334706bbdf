"""The tabular-recipe block kinds: piecewise-linear and periodic numeric embeddings as a
branch's first block, and a BatchEnsemble (TabM) branch whose members are modules the
combiners weigh, the importance tables list, and ablation drops one at a time."""

import re

import keras
import numpy as np
import pytest

from sattn_dash.analysis import ablation_importance, module_importance, permutation_importance_by
from sattn_dash.errors import SpecError
from sattn_dash.layers.numeric_embeddings import quantile_bin_edges
from sattn_dash.modeling import (
    BlockSpec,
    BranchSpec,
    CombinerSpec,
    HeadSpec,
    ModelSpec,
    branch_names,
    build_model,
    module_probabilities,
    parameter_counts,
    preset_spec,
    spec_to_dot,
)
from sattn_dash.modeling.spec import output_targets
from sattn_dash.training import TrainingConfig
from sattn_dash.training.pipeline import prepare_fit


def ensemble_spec(
    prepared, combiner="sparse_attention", members=3, inputs="all", start_linear=False
):
    return ModelSpec(
        name="tabm test",
        branches=(
            BranchSpec(
                "tabm",
                inputs=inputs,
                blocks=(
                    BlockSpec("piecewise_linear", units=4, bins=8, start_linear=start_linear),
                    BlockSpec("batch_ensemble", units=16, layers=2, members=members),
                ),
            ),
            BranchSpec("plr", blocks=(BlockSpec("periodic", units=4, frequencies=4),)),
        ),
        combiner=CombinerSpec(combiner, top_k=2),
        heads=tuple(HeadSpec(t) for t in prepared.tasks),
    )


def trained(spec, prepared, epochs=2):
    model, dataset, fit_kwargs = prepare_fit(spec, prepared, TrainingConfig(epochs=epochs))
    history = model.fit(dataset, **fit_kwargs)
    return model, history.history


def test_new_blocks_round_trip_with_their_defaults():
    for kind in ("piecewise_linear", "periodic", "batch_ensemble"):
        block = BlockSpec(kind)
        assert BlockSpec.from_dict(block.to_dict()) == block
    assert BlockSpec("piecewise_linear").to_dict() == {
        "kind": "piecewise_linear",
        "units": 8,
        "bins": 32,
        "activation": "relu",
        "start_linear": False,
    }
    # A spec saved before start_linear existed builds the embedding it built then.
    saved = {"kind": "piecewise_linear", "units": 8, "bins": 32, "activation": "relu"}
    assert BlockSpec.from_dict(saved).start_linear is False
    assert BlockSpec("batch_ensemble").members == 8


@pytest.mark.parametrize(
    "blocks, path, words",
    [
        (
            [BlockSpec("dense", units=4), BlockSpec("periodic")],
            "branches[0].blocks[1].kind",
            "first block",
        ),
        (
            [BlockSpec("batch_ensemble"), BlockSpec("dense", units=4)],
            "branches[0].blocks[0].kind",
            "ends its branch",
        ),
        ([BlockSpec("piecewise_linear", bins=1)], "branches[0].blocks[0].bins", "at least 2"),
        ([BlockSpec("periodic", sigma=0.0)], "branches[0].blocks[0].sigma", "> 0"),
        (
            [BlockSpec("piecewise_linear", start_linear="yes")],
            "branches[0].blocks[0].start_linear",
            "true or false",
        ),
        ([BlockSpec("batch_ensemble", members=0)], "branches[0].blocks[0].members", ">= 1"),
        ([BlockSpec("dense", units=4, bins=8)], "branches[0].blocks[0].bins", "does not use"),
    ],
)
def test_block_mistakes_name_their_field(blocks, path, words):
    spec = ModelSpec("x", (BranchSpec("a", blocks=tuple(blocks)),), heads=(HeadSpec("y"),))
    with pytest.raises(SpecError, match="^" + re.escape(path) + ":.*" + re.escape(words)):
        spec.validate()


def test_member_names_and_routing_top_k_are_checked():
    members = BranchSpec("t", blocks=(BlockSpec("batch_ensemble", members=2),))
    clash = BranchSpec("t_m2", blocks=(BlockSpec("dense", units=4),))
    with pytest.raises(SpecError, match=r"^branches\[1\]\.name: 't_m2' looks like a member"):
        ModelSpec("x", (members, clash), heads=(HeadSpec("y"),)).validate()
    routed = ModelSpec("x", (members,), CombinerSpec("sparse_dense", top_k=2), (HeadSpec("y"),))
    assert routed.validate().module_names == ["t_m1", "t_m2"]
    with pytest.raises(SpecError, match=r"^combiner\.top_k: 3 is more than the 2 modules"):
        ModelSpec(
            "x", (members,), CombinerSpec("sparse_dense", top_k=3), (HeadSpec("y"),)
        ).validate()


@pytest.mark.parametrize("start_linear", [False, True])
def test_bin_edges_come_from_the_training_split_and_live_in_the_model(
    modeling_data, reload_keras_model, start_linear
):
    prepared = modeling_data["binary"]
    keras.utils.set_random_seed(0)
    spec = ensemble_spec(prepared, start_linear=start_linear)
    model = build_model(spec, prepared, compile=False)
    layer = model.get_layer("branch_tabm_0_piecewise_linear")
    assert layer.start_linear is start_linear
    numeric = [n for n in prepared.feature_names if n not in prepared.categorical_features]
    expected = quantile_bin_edges(prepared.X_train[numeric].to_numpy(), 8)
    assert layer.get_config()["bin_edges"] == expected
    again = reload_keras_model(model)
    X = np.asarray(prepared.X_test, dtype=np.float32)
    for name, value in model.predict(X, verbose=0).items():
        np.testing.assert_allclose(again.predict(X, verbose=0)[name], value, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("combiner", ["sparse_attention", "mean", "concat", "sparse_dense"])
def test_members_are_modules_with_their_own_predictions(modeling_data, combiner):
    prepared = modeling_data["binary"]
    spec = ensemble_spec(prepared, combiner)
    model, history = trained(spec, prepared)
    assert branch_names(model) == ["tabm_m1", "tabm_m2", "tabm_m3", "plr"]
    assert spec.module_names == branch_names(model)
    members = "head_label_members_tabm"
    assert set(model.output) == {"head_label", members} == set(output_targets(spec))
    assert f"val_{members}_loss" in history  # each member is trained on its own loss
    X = np.asarray(prepared.X_val, dtype=np.float32)
    own = model.predict(X, verbose=0)[members]
    assert own.shape == (len(X), 3, 1)
    assert np.all((own >= 0) & (own <= 1))
    assert not np.allclose(own[:, 0], own[:, 1])  # members differ (random-sign adapters)
    if combiner == "sparse_attention":
        probabilities = module_probabilities(model)
        assert list(probabilities) == branch_names(model)
        assert sum(probabilities.values()) == pytest.approx(1.0, abs=1e-5)


def test_analysis_sees_an_ensemble_beside_other_branches_as_its_branch(modeling_data):
    # the user named the branch, not its members: weighed, ablated and shuffled whole
    prepared = modeling_data["binary"]
    model, _ = trained(ensemble_spec(prepared, inputs=("signal",)), prepared)
    importance = module_importance(model, prepared)
    assert importance["branch"].tolist() == ["tabm", "plr"]
    members = module_probabilities(model)
    assert importance["probability"].iloc[0] == pytest.approx(
        sum(members[f"tabm_m{i}"] for i in (1, 2, 3)), rel=1e-5
    )
    ablation = ablation_importance(model, prepared)
    assert ablation["branch"].tolist() == ["tabm", "plr"]
    assert ablation["ablated"].nunique() > 1
    permutation = permutation_importance_by(model, prepared, level="branch", n_repeats=1)
    features = dict(zip(permutation["branch"], permutation["features"], strict=True))
    signal = sorted(f for f, s in prepared.feature_sources.items() if s in ("x0", "x1"))
    assert list(features) == ["tabm", "plr"] and features["tabm"] != features["plr"]
    assert sorted(str(features["tabm"]).replace(" ", "").split(",")) == signal


def test_parameter_counts_and_diagram_know_the_new_kinds(modeling_data):
    prepared = modeling_data["regression"]
    spec = ensemble_spec(prepared)
    counts = parameter_counts(spec, prepared).set_index("part")
    assert counts.loc["tabm", "parameters"] > 0 and counts.loc["plr", "parameters"] > 0
    model = build_model(spec, prepared, compile=False)
    assert counts.loc["total", "parameters"] == model.count_params()
    dot = spec_to_dot(spec, prepared)
    assert "Piecewise-linear embedding" in dot and "BatchEnsemble: 3 members" in dot
    assert "Periodic embedding (PLR)" in dot


def test_the_tabm_preset_is_a_tabm_ensemble(modeling_data):
    prepared = modeling_data["two_targets"]
    spec = preset_spec("tabm", prepared)
    assert [b.kind for b in spec.branches[0].blocks] == ["piecewise_linear", "batch_ensemble"]
    assert (spec.optimizer, spec.schedule) == ("adamw", "cosine")
    model = build_model(spec, prepared)
    assert len(branch_names(model)) == spec.branches[0].members
    # TabM's embedding: linear in each value at first, the bends learned in training.
    embedding = model.get_layer("branch_tabm_0_piecewise_linear")
    assert embedding.start_linear and not np.any(embedding.kernel.numpy())
    assert "+ linear in the value, bends learned on top" in spec_to_dot(spec, prepared)


def test_the_default_embedding_narrows_on_wide_tables():
    from types import SimpleNamespace

    from sattn_dash.modeling.presets import embedding_units

    def units(n_columns):
        return embedding_units(SimpleNamespace(feature_names=[f"c{i}" for i in range(n_columns)]))

    assert [units(n) for n in (1, 32, 64, 128, 10_000)] == [16, 16, 8, 4, 4]
