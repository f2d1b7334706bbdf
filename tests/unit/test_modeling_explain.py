"""What analysis reads from a built model without its spec: save/reload, explain_model
(branch outputs, routing, attention scores), module probabilities, token names, and the
sparse_dense router's noisy gating and load balancing."""

import dataclasses

import keras
import numpy as np
import pytest

from sattn_dash.modeling import (
    BlockSpec,
    BranchSpec,
    CombinerSpec,
    HeadSpec,
    ModelSpec,
    branch_names,
    build_model,
    combiner_layer,
    explain_model,
    head_name,
    module_probabilities,
    preset_spec,
    token_names,
)
from sattn_dash.modeling.build import compile_model
from sattn_dash.modeling.keras_layers import BranchRouter


def targets_of(prepared):
    return {head_name(t): v for t, v in prepared.y_train.items()}


def trained(spec, prepared, epochs=1):
    keras.utils.set_random_seed(0)
    model = compile_model(
        build_model(spec, prepared, compile=False), spec, prepared, run_eagerly=True
    )
    model.fit(
        prepared.X_train.to_numpy(), targets_of(prepared), epochs=epochs, batch_size=64, verbose=0
    )
    return model


@pytest.fixture(scope="module")
def saved_models(modeling_data, tmp_path_factory):
    """{preset: (trained model, model reloaded from .keras)} on two-target data."""
    prepared = modeling_data["two_targets"]
    folder = tmp_path_factory.mktemp("models")
    models = {}
    for name in ("feature_attention", "routed_experts", "per_group", "three_paths"):
        model = trained(preset_spec(name, prepared), prepared)
        model.save(folder / f"{name}.keras")
        models[name] = (model, keras.saving.load_model(folder / f"{name}.keras"))
    return models


@pytest.mark.parametrize(
    "name", ["feature_attention", "routed_experts", "per_group", "three_paths"]
)
def test_saved_model_reloads_with_identical_predictions(modeling_data, saved_models, name):
    X = modeling_data["two_targets"].X_test.to_numpy()
    model, again = saved_models[name]
    first, second = model.predict(X, verbose=0), again.predict(X, verbose=0)
    assert set(first) == set(second) == {"head_kind", "head_amount"}
    for key in first:
        np.testing.assert_array_equal(first[key], second[key])
    assert branch_names(again) == branch_names(model)


@pytest.mark.parametrize("reloaded", [False, True], ids=["built", "reloaded"])
def test_explain_model_gives_predictions_branches_and_attention(
    modeling_data, saved_models, reloaded
):
    prepared = modeling_data["two_targets"]
    X = prepared.X_val.to_numpy()
    model = saved_models["feature_attention"][int(reloaded)]
    explainer = explain_model(model)
    # shares the model's variables and creates none
    assert {id(w) for w in explainer.weights} == {id(w) for w in model.weights}
    out = explainer.predict(X, verbose=0)
    names = ["branch_feature_tokens_0_attention0", "branch_feature_tokens_0_attention1"]
    assert set(out) == {"predictions", "branch_outputs", *(f"attention/{n}" for n in names)}
    expected = model.predict(X, verbose=0)
    for key, value in expected.items():
        np.testing.assert_allclose(out["predictions"][key], value, rtol=1e-5, atol=1e-6)
    assert [o.shape for o in out["branch_outputs"]] == [(len(X), 16), (len(X), 16)]
    n_tokens = len(prepared.feature_names) + 1
    top_k = preset_spec("feature_attention", prepared).branches[0].blocks[0].top_k
    for name in names:
        scores = out[f"attention/{name}"]
        assert scores.shape == (len(X), 2, n_tokens, n_tokens)
        np.testing.assert_allclose(scores.sum(axis=-1), 1.0, rtol=1e-5)
        assert ((scores > 0).sum(axis=-1) <= top_k).all()
    labels = token_names(model)
    assert labels[f"attention/{names[0]}"] == ["[CLS]", *prepared.feature_names]


def test_explain_model_is_the_same_before_and_after_reload(modeling_data, saved_models):
    X = modeling_data["two_targets"].X_val.to_numpy()
    for model, again in saved_models.values():
        first = keras.tree.map_structure(np.asarray, explain_model(model)(X))
        second = keras.tree.map_structure(np.asarray, explain_model(again)(X))
        assert first.keys() == second.keys()
        for key in first:
            keras.tree.map_structure(np.testing.assert_array_equal, first[key], second[key])


@pytest.mark.parametrize("reloaded", [False, True], ids=["built", "reloaded"])
def test_router_gives_per_sample_routing_over_top_k_branches(modeling_data, saved_models, reloaded):
    prepared = modeling_data["two_targets"]
    X = prepared.X_val.to_numpy()
    model = saved_models["routed_experts"][int(reloaded)]
    assert isinstance(combiner_layer(model), BranchRouter)
    assert module_probabilities(model) is None  # routing is per sample, not one vector
    out = explain_model(model).predict(X, verbose=0)
    routing = out["routing"]
    assert routing.shape == (len(X), 4)
    np.testing.assert_allclose(routing.sum(axis=1), 1.0, rtol=1e-5)
    assert ((routing > 0).sum(axis=1) == 2).all()  # exactly top_k branches per sample
    scores = out["attention/combiner"]
    assert scores.shape == (len(X), 2, 1, 4)
    np.testing.assert_allclose(scores.mean(axis=1)[:, 0], routing, rtol=1e-5, atol=1e-7)
    assert token_names(model)["attention/combiner"] == ["relu", "tanh", "deep", "linear"]


def test_module_probabilities_name_each_branch(saved_models):
    model, again = saved_models["three_paths"]
    probabilities = module_probabilities(model)
    assert list(probabilities) == ["relu_dropout", "tanh_batchnorm", "swish"]
    assert sum(probabilities.values()) == pytest.approx(1.0, abs=1e-6)
    assert module_probabilities(again) == pytest.approx(probabilities)


def test_branch_names_follow_the_spec_for_a_mean_combiner(modeling_data):
    prepared = modeling_data["binary"]
    spec = ModelSpec(
        name="mean",
        branches=(
            BranchSpec("zeta", blocks=(BlockSpec("dense", units=3),)),
            BranchSpec("alpha", inputs=("signal",), blocks=(BlockSpec("dense", units=5),)),
        ),
        combiner=CombinerSpec("mean"),
        heads=(HeadSpec("label"),),
    )
    model = build_model(spec, prepared)
    assert branch_names(model) == ["zeta", "alpha"]  # through the projections, in order
    assert module_probabilities(model) is None
    out = explain_model(model).predict(prepared.X_val.to_numpy(), verbose=0)
    assert [o.shape[1] for o in out["branch_outputs"]] == [3, 5]
    assert "routing" not in out


def router_spec(prepared, **combiner) -> ModelSpec:
    spec = preset_spec("routed_experts", prepared)
    return dataclasses.replace(spec, combiner=dataclasses.replace(spec.combiner, **combiner))


def test_noisy_gating_perturbs_routing_only_while_training(modeling_data):
    prepared = modeling_data["binary"]
    X = prepared.X_val.to_numpy()
    for noisy in (True, False):
        keras.utils.set_random_seed(0)
        model = build_model(router_spec(prepared, noisy_gating=noisy), prepared)
        a, b = (keras.ops.convert_to_numpy(model(X, training=True)["head_label"]) for _ in "ab")
        assert (not np.allclose(a, b)) == noisy
        c, d = (keras.ops.convert_to_numpy(model(X, training=False)["head_label"]) for _ in "cd")
        np.testing.assert_array_equal(c, d)


def test_load_balancing_loss_is_added_while_training(modeling_data):
    prepared = modeling_data["binary"]
    X = prepared.X_val.to_numpy()
    for weight in (0.5, 0.0):
        keras.utils.set_random_seed(0)
        model = build_model(router_spec(prepared, load_balance_weight=weight), prepared)
        model(X, training=True)
        losses = [float(keras.ops.convert_to_numpy(x)) for x in model.losses]
        if weight:
            # n * sum_i f_i P_i is about 1 when routing is balanced (and >= 0 always)
            assert len(losses) == 1 and 0.1 * weight < losses[0] < 4 * weight
        else:
            assert losses == []


def test_routing_does_not_collapse_with_load_balancing(modeling_data):
    """A soft check on data whose answer needs every input: after training, each sample
    still routes to one of several branches, not always the same one."""
    prepared = modeling_data["binary"]
    spec = router_spec(prepared, top_k=1, load_balance_weight=0.05)
    keras.utils.set_random_seed(0)
    model = build_model(spec, prepared, compile=False)
    compile_model(model, spec, prepared, run_eagerly=True)
    model.fit(prepared.X_train.to_numpy(), targets_of(prepared), epochs=5, batch_size=64, verbose=0)
    X = np.concatenate([prepared.X_val.to_numpy(), prepared.X_test.to_numpy()])
    routing = explain_model(model).predict(X, verbose=0)["routing"]
    share = (routing > 0).mean(axis=0)
    assert share.sum() == pytest.approx(1.0)  # top_k=1: one branch per sample
    assert share.max() < 0.8, share
    assert (share > 0.05).sum() >= 2, share
