"""build_model on real PreparedData and the real sattn_dash layers: every preset on every
kind of target, the combiners and blocks, naming, determinism and parameter counts."""

import dataclasses

import keras
import numpy as np
import pytest

from sattn_dash.layers import SparseAttentionWeighting
from sattn_dash.modeling import (
    PRESETS,
    BlockSpec,
    BranchSpec,
    CombinerSpec,
    HeadSpec,
    ModelSpec,
    build_model,
    combiner_kinds,
    head_name,
    parameter_counts,
    preset_spec,
)
from sattn_dash.modeling.build import compile_model, losses_and_metrics
from sattn_dash.modeling.keras_layers import FeatureTokenizer, embedding_width
from sattn_dash.modeling.spec import output_targets

CASES = ["binary", "multiclass", "regression", "two_targets"]


def targets_of(prepared, split="train", spec=None):
    """The targets per model output (a batch_ensemble branch's members learn them too)."""
    _, y = prepared.split(split)
    if spec is not None:
        return {name: y[t] for name, t in output_targets(spec).items()}
    return {head_name(t): v for t, v in y.items()}


def quick_model(spec, prepared, seed=0):
    """Built, then compiled eagerly: one epoch on 120 rows is faster without tracing."""
    keras.utils.set_random_seed(seed)
    model = build_model(spec, prepared, compile=False)
    return compile_model(model, spec, prepared, run_eagerly=True)


def spec_of(prepared, branches, combiner=None, heads=None) -> ModelSpec:
    return ModelSpec(
        name="test",
        branches=tuple(branches),
        combiner=combiner or CombinerSpec(),
        heads=heads or tuple(HeadSpec(t) for t in prepared.tasks),
    )


def dense(units, activation="relu"):
    return BlockSpec("dense", units=units, activation=activation)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_builds_and_trains_one_epoch(modeling_data, name, case):
    prepared = modeling_data[case]
    spec = preset_spec(name, prepared)
    model = quick_model(spec, prepared)
    assert model.input_shape == (None, len(prepared.feature_names))
    assert model.inputs[0].name == "features"
    assert model.get_layer("combiner") is not None
    for module in spec.module_names:  # branches, or a batch_ensemble branch's members
        assert model.get_layer(f"branch_{module}_output") is not None

    history = model.fit(
        prepared.X_train.to_numpy(),
        targets_of(prepared, spec=spec),
        epochs=1,
        batch_size=64,
        verbose=0,
    )
    assert all(np.isfinite(values[0]) for values in history.history.values())

    predictions = model.predict(prepared.X_val.to_numpy(), verbose=0)
    n = len(prepared.X_val)
    assert set(predictions) == set(output_targets(spec))  # heads, then any members
    for target, task in prepared.tasks.items():
        out = predictions[head_name(target)]
        if task == "binary":
            assert out.shape == (n, 1) and ((out >= 0) & (out <= 1)).all()
        elif task == "multiclass":
            assert out.shape == (n, len(prepared.classes[target]))
            np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)
        else:
            assert out.shape == (n, 1) and np.isfinite(out).all()


def test_build_is_deterministic_given_the_seed(modeling_data):
    prepared = modeling_data["two_targets"]
    spec = preset_spec("feature_attention", prepared)
    weights = []
    for seed in (3, 3, 4):
        keras.utils.set_random_seed(seed)
        weights.append([w.numpy() for w in build_model(spec, prepared).weights])
    for a, b in zip(weights[0], weights[1], strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, c) for a, c in zip(weights[0], weights[2], strict=True))


def test_regression_head_predicts_in_the_targets_units(modeling_data):
    prepared = modeling_data["regression"]
    mean, std = prepared.target_stats["amount"]
    assert mean > 4000  # the table puts the target far from zero
    spec = dataclasses.replace(preset_spec("ensemble", prepared), learning_rate=0.01)
    keras.utils.set_random_seed(0)
    model = build_model(spec, prepared)
    before = model.predict(prepared.X_val.to_numpy(), verbose=0)[head_name("amount")]
    assert abs(before.mean() - mean) < 2 * std  # an untrained model is already near the mean
    model.fit(
        prepared.X_train.to_numpy(), targets_of(prepared), epochs=20, batch_size=32, verbose=0
    )
    after = model.predict(prepared.X_val.to_numpy(), verbose=0)[head_name("amount")][:, 0]
    truth = prepared.y_val["amount"]
    # learned in target units: clearly better than predicting the mean
    assert np.mean((after - truth) ** 2) < 0.5 * np.mean((truth - mean) ** 2)


def test_regression_loss_is_weighed_on_the_standardised_scale(modeling_data):
    prepared = modeling_data["two_targets"]
    spec = preset_spec("multi_scale", prepared)
    losses, weights, metrics = losses_and_metrics(spec, prepared)
    std = prepared.target_stats["amount"][1]
    assert losses == {"head_kind": "sparse_categorical_crossentropy", "head_amount": "mse"}
    assert weights["head_kind"] == 1.0
    assert weights["head_amount"] == pytest.approx(0.5 / std**2)
    assert [m.name for m in metrics["head_amount"]] == ["mae", "rmse"]


def encoded_width(prepared) -> int:
    """What a branch's first block reads: numeric columns plus each categorical code's
    embedding (codes never enter as numbers)."""
    levels = prepared.categorical_features.values()
    return len(prepared.feature_names) - len(levels) + sum(embedding_width(n) for n in levels)


def embedding_parameters(prepared) -> int:
    return sum(n * embedding_width(n) for n in prepared.categorical_features.values())


def test_residual_block_projects_only_when_widths_differ(modeling_data):
    prepared = modeling_data["binary"]
    n = encoded_width(prepared)
    spec = spec_of(
        prepared,
        [
            BranchSpec("wide", blocks=(BlockSpec("residual", units=n + 3, hidden_units=7),)),
            BranchSpec("same", blocks=(BlockSpec("residual", units=n, layers=1),)),
        ],
        CombinerSpec("concat"),
    )
    model = quick_model(spec, prepared)
    names = {layer.name for layer in model.layers}
    assert "branch_wide_0_residual_project" in names
    assert "branch_same_0_residual_project" not in names
    assert model.get_layer("branch_wide_0_residual_dense0").units == 7
    assert model.get_layer("branch_wide_output").output.shape == (None, n + 3)
    assert model.get_layer("combiner").output.shape == (None, 2 * n + 3)


@pytest.mark.parametrize("kind", combiner_kinds())
def test_each_combiner_joins_branches_of_different_widths(modeling_data, kind):
    prepared = modeling_data["multiclass"]
    spec = spec_of(
        prepared,
        [
            BranchSpec("narrow", inputs=("signal",), blocks=(dense(4),)),
            BranchSpec("wide", blocks=(dense(12), BlockSpec("layernorm"))),
            BranchSpec("middle", inputs=("other", "member"), blocks=(dense(8, "tanh"),)),
        ],
        CombinerSpec(kind, top_k=2),
    )
    model = quick_model(spec, prepared)
    combined = model.get_layer("combiner")
    width = combined.output[0].shape[-1] if kind == "sparse_dense" else combined.output.shape[-1]
    assert width == (24 if kind == "concat" else 12)
    if kind == "sparse_attention":
        assert isinstance(combined, SparseAttentionWeighting) and combined.project_to == 12
    model.fit(prepared.X_train.to_numpy(), targets_of(prepared), epochs=1, batch_size=64, verbose=0)


def test_project_to_sets_the_common_width(modeling_data):
    prepared = modeling_data["binary"]
    spec = spec_of(
        prepared,
        [BranchSpec("a", blocks=(dense(4),)), BranchSpec("b", blocks=(dense(4),))],
        CombinerSpec("sparse_attention", project_to=6),
    )
    assert build_model(spec, prepared).get_layer("combiner").output.shape == (None, 6)
    same = dataclasses.replace(spec, combiner=CombinerSpec("sparse_attention"))
    assert build_model(same, prepared).get_layer("combiner").project_to is None


def test_branches_read_only_their_columns(modeling_data):
    prepared = modeling_data["binary"]
    spec = spec_of(
        prepared,
        [
            BranchSpec("signal", inputs=("signal",), blocks=(dense(3),)),
            BranchSpec("everything", blocks=(dense(3),)),
        ],
    )
    model = build_model(spec, prepared)
    select = model.get_layer("branch_signal_select")
    assert select.feature_names == ["x0", "x1"]
    assert model.get_layer("branch_signal_0_dense").kernel.shape == (2, 3)
    assert "branch_everything_select" not in {layer.name for layer in model.layers}


def test_feature_tokenizer_embeds_integer_coded_columns(modeling_data):
    prepared = modeling_data["binary"]
    assert prepared.categorical_features == {"city": 31}
    spec = preset_spec("feature_attention", prepared)
    model = build_model(spec, prepared)
    tokenizer = model.get_layer("branch_feature_tokens_0_tokenizer")
    assert isinstance(tokenizer, FeatureTokenizer)
    n = len(prepared.feature_names)
    assert tokenizer.embeddings.shape == (31, 16)
    assert tokenizer.numeric_weight.shape == (n - 1, 16)
    assert tokenizer.token_names() == ["[CLS]", *prepared.feature_names]
    city = prepared.feature_names.index("city")
    x = np.repeat(prepared.X_val.to_numpy()[:1], 4, axis=0)
    x[:, city] = [0, 5, 999, -3]  # unseen codes count as unknown (code 0)
    tokens = keras.ops.convert_to_numpy(tokenizer(x))
    assert tokens.shape == (4, n + 1, 16)
    np.testing.assert_array_equal(tokens[2], tokens[0])
    np.testing.assert_array_equal(tokens[3], tokens[0])
    assert not np.array_equal(tokens[1, city + 1], tokens[0, city + 1])
    others = [j for j in range(n + 1) if j != city + 1]
    np.testing.assert_array_equal(tokens[1, others], tokens[0, others])


def test_feature_attention_can_pool_by_mean_without_cls(modeling_data):
    prepared = modeling_data["binary"]
    block = BlockSpec("feature_attention", units=8, top_k=50, cls_token=False, layers=1)
    branch = BranchSpec("tokens", inputs=("other",), blocks=(block, dense(4)))
    spec = spec_of(prepared, [branch], CombinerSpec("concat"))
    model = quick_model(spec, prepared)
    attention = model.get_layer("branch_tokens_0_attention0")
    n_other = len(spec.branches[0].feature_positions(prepared))
    assert attention.top_k == n_other  # capped at the number of tokens
    assert model.get_layer("branch_tokens_0_pool").mode == "mean"
    model.fit(prepared.X_train.to_numpy(), targets_of(prepared), epochs=1, batch_size=64, verbose=0)


def test_layers_are_named_after_their_part(modeling_data):
    prepared = modeling_data["two_targets"]
    heads = {"head_kind", "head_amount"}
    for name in PRESETS:
        spec = preset_spec(name, prepared)
        model = build_model(spec, prepared)
        for layer in model.layers[1:]:
            assert layer.name.startswith(("branch_", "combiner", "head_")), layer.name
        members = {f"{h}_members_{b.name}" for b in spec.branches if b.members for h in heads}
        assert set(model.output) == heads | members


def test_optimizer_and_learning_rate_come_from_the_spec(modeling_data):
    prepared = modeling_data["binary"]
    spec = dataclasses.replace(
        preset_spec("ensemble", prepared), optimizer="sgd", learning_rate=0.05
    )
    model = build_model(spec, prepared)
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(0.05)


# --- parameter counts ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["three_paths", "feature_attention", "routed_experts"])
def test_parameter_counts_add_up_to_the_model(modeling_data, name):
    prepared = modeling_data["two_targets"]
    spec = preset_spec(name, prepared)
    table = parameter_counts(spec, prepared)
    assert list(table.columns) == ["part", "kind", "parameters", "trainable"]
    assert list(table["part"]) == [
        *spec.branch_names,
        "combiner",
        "head kind",
        "head amount",
        "total",
    ]
    model = build_model(spec, prepared)
    total = table.set_index("part").loc["total"]
    assert total["parameters"] == model.count_params()
    assert total["trainable"] == sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert (table["parameters"] > 0).all()


def test_parameter_counts_tell_apart_branches_with_shared_name_prefixes(modeling_data):
    prepared = modeling_data["binary"]
    n, e = encoded_width(prepared), embedding_parameters(prepared)
    spec = spec_of(
        prepared,
        [BranchSpec("a", blocks=(dense(8),)), BranchSpec("a_b", blocks=(dense(8), dense(8)))],
    )
    counts = parameter_counts(spec, prepared).set_index("part")["parameters"]
    assert counts["a"] == e + n * 8 + 8
    assert counts["a_b"] == e + n * 8 + 8 + 8 * 8 + 8
    assert counts["combiner"] == 3  # two module weights and the (frozen) temperature
    assert counts["head label"] == 8 + 1


def test_models_train_under_mixed_precision(modeling_data):
    prepared = modeling_data["two_targets"]
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        for name in ("feature_attention", "routed_experts"):
            model = quick_model(preset_spec(name, prepared), prepared)
            assert model.get_layer("combiner").compute_dtype == "float16"
            history = model.fit(
                prepared.X_train.to_numpy(), targets_of(prepared), epochs=1, verbose=0
            )
            assert np.isfinite(history.history["loss"][0])
            for out in model(prepared.X_val.to_numpy()).values():
                assert out.dtype == "float32"  # heads stay float32
                assert np.isfinite(keras.ops.convert_to_numpy(out)).all()
    finally:
        keras.config.set_dtype_policy(previous)


@pytest.mark.filterwarnings("ignore:You are using a softmax over axis -1")
def test_every_preset_fits_a_single_input_column(modeling_table):
    """The KMR residual example slices inputs[:, :16]; ours projects, so one column works."""
    from sattn_dash.tabular import infer_schema, prepare

    table = modeling_table[["x0", "label"]]
    prepared = prepare(table, infer_schema(table, targets="label"))
    assert prepared.feature_names == ["x0"]
    X = prepared.X_val.to_numpy()
    for name in PRESETS:
        spec = preset_spec(name, prepared)
        out = build_model(spec, prepared)(X)["head_label"]
        assert out.shape == (len(X), 1), name
        assert np.isfinite(keras.ops.convert_to_numpy(out)).all()
