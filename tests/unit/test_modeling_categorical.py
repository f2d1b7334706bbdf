"""Integer-coded categorical columns never reach a layer as numbers (issue 16): every
preset and hand-built branch reads them through an embedding or a one-hot, unseen and
missing levels map to the reserved code 0, and a model that must learn a 40-level
mapping does about as well as gradient boosting."""

import re

import keras
import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from sattn_dash.modeling import (
    PRESETS,
    BlockSpec,
    BranchSpec,
    CombinerSpec,
    HeadSpec,
    ModelSpec,
    build_model,
    preset_spec,
)
from sattn_dash.modeling.keras_layers import CategoricalEncoding, embedding_width
from sattn_dash.tabular import infer_schema, prepare

DENSE_KINDS = (keras.layers.Dense, keras.layers.EinsumDense)


def dense_layers(model):
    """Every Dense-like layer of the graph, walking nested models too."""
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found += dense_layers(layer)
        elif isinstance(layer, DENSE_KINDS) or "Dense" in type(layer).__name__:
            found.append(layer)
    return found


def code_columns(prepared):
    return [prepared.feature_names.index(c) for c in prepared.categorical_features]


def assert_no_code_reaches_a_dense(model, prepared):
    """Walk the built model: the input of every Dense-like layer must not change when a
    categorical code moves by less than half a step (a layer reading the code as a
    number would see it; an embedding or one-hot rounds it to the same level)."""
    X = np.asarray(prepared.X_val, dtype=np.float32)
    moved = X.copy()
    moved[:, code_columns(prepared)] += 0.3
    layers = dense_layers(model)
    assert layers, "the model has no Dense layer to check"
    inputs = [layer._inbound_nodes[0].input_tensors[0] for layer in layers]
    probe = keras.Model(model.input, inputs)
    before, after = probe(X), probe(moved)
    for layer, a, b in zip(layers, before, after, strict=True):
        np.testing.assert_allclose(
            np.asarray(a), np.asarray(b), atol=1e-6, err_msg=f"{layer.name} reads a code"
        )


@pytest.mark.parametrize("case", ["binary", "regression", "two_targets"])
@pytest.mark.parametrize("name", list(PRESETS))
def test_no_preset_feeds_a_categorical_code_to_a_dense(modeling_data, name, case):
    prepared = modeling_data[case]
    assert prepared.categorical_features, "the table must have an integer-coded column"
    model = build_model(preset_spec(name, prepared), prepared, compile=False)
    assert_no_code_reaches_a_dense(model, prepared)


def hand_built(prepared, **branch_fields):
    blocks = (BlockSpec("dense", units=8, activation="relu"),)
    return ModelSpec(
        name="hand",
        branches=(
            BranchSpec("city", inputs=("city",), blocks=blocks, **branch_fields),
            BranchSpec("mixed", inputs=("city", "x0"), blocks=blocks, **branch_fields),
            BranchSpec("all", blocks=(BlockSpec("residual", units=8),), **branch_fields),
        ),
        combiner=CombinerSpec("sparse_attention"),
        heads=tuple(HeadSpec(t) for t in prepared.tasks),
    )


@pytest.mark.parametrize("fields", [{}, {"categorical": "one_hot"}, {"embedding_dim": 3}], ids=str)
def test_hand_built_branches_encode_codes_as_the_spec_says(modeling_data, fields):
    prepared = modeling_data["binary"]
    spec = hand_built(prepared, **fields)
    model = build_model(spec, prepared, compile=False)
    assert_no_code_reaches_a_dense(model, prepared)
    layer = model.get_layer("branch_city_categorical")
    levels = prepared.categorical_features["city"]
    assert layer.levels == [levels]
    expected = {
        "categorical": "embedding",
        **fields,
    }
    assert layer.mode == expected["categorical"]
    width = (
        levels if layer.mode == "one_hot" else fields.get("embedding_dim", embedding_width(levels))
    )
    assert layer.output.shape[-1] == width
    assert spec.branches[0].to_dict()["categorical"] == expected["categorical"]


def test_unseen_and_missing_levels_share_the_reserved_code():
    layer = CategoricalEncoding([5, 3])
    codes = np.array([[0, 0], [-1, 7], [np.nan, np.inf], [4.2, 1.8], [9, 2]], np.float32)
    out = np.asarray(layer(codes))
    np.testing.assert_array_equal(out[1], out[0])  # out of range -> 0
    np.testing.assert_array_equal(out[2], out[0])  # NaN / inf -> 0
    np.testing.assert_array_equal(np.asarray(layer.codes(codes))[3], [4, 2])  # rounded
    one_hot = np.asarray(CategoricalEncoding([5, 3], mode="one_hot")(codes))
    np.testing.assert_array_equal(one_hot[1], [1, 0, 0, 0, 0, 1, 0, 0])  # -1 -> 0; 7 -> 0
    assert one_hot[4, 0] == 1 and one_hot[4, 5 + 2] == 1


def test_a_model_with_embeddings_saves_and_reloads(modeling_data, reload_keras_model):
    prepared = modeling_data["binary"]
    keras.utils.set_random_seed(0)
    model = build_model(hand_built(prepared), prepared, compile=False)
    X = np.asarray(prepared.X_val, dtype=np.float32)
    again = reload_keras_model(model)
    for name, value in model.predict(X, verbose=0).items():
        np.testing.assert_allclose(again.predict(X, verbose=0)[name], value, rtol=1e-6)


def test_an_old_spec_without_the_field_gets_embeddings(modeling_data):
    prepared = modeling_data["binary"]
    data = preset_spec("ensemble", prepared).to_dict()
    for branch in data["branches"]:
        del branch["categorical"], branch["embedding_dim"]
    spec = ModelSpec.from_dict(data)
    assert {b.categorical for b in spec.branches} == {"embedding"}
    model = build_model(spec, prepared, compile=False)
    assert_no_code_reaches_a_dense(model, prepared)


@pytest.mark.parametrize(
    "fields, path",
    [
        ({"categorical": "ordinal"}, "branches[0].categorical"),
        ({"embedding_dim": 0}, "branches[0].embedding_dim"),
        ({"categorical": "one_hot", "embedding_dim": 4}, "branches[0].embedding_dim"),
    ],
)
def test_bad_encoding_fields_name_their_path(modeling_data, fields, path):
    from sattn_dash.errors import SpecError

    prepared = modeling_data["binary"]
    data = hand_built(prepared).to_dict()
    data["branches"][0].update(fields)
    with pytest.raises(SpecError, match="^" + re.escape(path) + ":"):
        ModelSpec.from_dict(data)


def forty_level_table(rows=2400, seed=0):
    """The target depends only on a 40-level categorical (each level its own effect);
    two numeric columns are noise."""
    rng = np.random.default_rng(seed)
    effect = rng.normal(size=40)
    level = rng.integers(0, 40, size=rows)
    frame = pd.DataFrame(
        {
            "shop": [f"shop {i:02d}" for i in level],
            "noise_a": rng.normal(size=rows),
            "noise_b": rng.normal(size=rows),
        }
    )
    frame["bought"] = np.where(effect[level] + 0.3 * rng.normal(size=rows) > 0, "yes", "no")
    return frame


def test_the_default_preset_learns_a_forty_level_mapping_like_gradient_boosting():
    from sattn_dash.modeling.presets import DEFAULT_PRESET
    from sattn_dash.training import TrainingConfig
    from sattn_dash.training.evaluation import evaluate
    from sattn_dash.training.pipeline import prepare_fit

    table = forty_level_table()
    config = TrainingConfig(seed=0)
    prepared = prepare(
        table, infer_schema(table, targets="bought"), seed=0, options=config.prepare_options()
    )
    assert list(prepared.categorical_features) == ["shop"]
    model, dataset, fit_kwargs = prepare_fit(
        preset_spec(DEFAULT_PRESET, prepared), prepared, config
    )
    model.fit(dataset, **fit_kwargs)
    ours = evaluate(model, prepared)["bought"]["accuracy"]
    boosting = HistGradientBoostingClassifier(random_state=0).fit(
        prepared.X_train, prepared.y_train["bought"]
    )
    theirs = boosting.score(prepared.X_test, prepared.y_test["bought"])
    assert ours >= 0.95 * theirs, (ours, theirs)
