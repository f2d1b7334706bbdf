"""BatchEnsemble layers: the rank-one adapter formula against NumPy, the papers'
initialisations, the Keras layer checks, and what a TabM-style branch learns."""

import keras
import numpy as np
import pytest
from keras import ops

from sattn_dash.layers import BatchEnsembleDense, EnsembleSplit
from sattn_dash.layers.options import ADAPTER_INITS


def to_numpy(x):
    return np.asarray(ops.convert_to_numpy(x))


def numpy_batch_ensemble(x, kernel, r, s, bias=None):
    """Member by member: ((x_i * r_i) @ W) * s_i + b_i (Wen et al. 2020, eq. 5)."""
    x = np.asarray(x, "float64")
    members = []
    for i in range(x.shape[1]):
        out = ((x[:, i] * r[i]) @ kernel) * s[i]
        members.append(out if bias is None else out + bias[i])
    return np.stack(members, axis=1)


def members_input(batch=5, k=4, d=3, seed=0):
    return np.random.default_rng(seed).normal(size=(batch, k, d)).astype("float32")


def randomize(layer, seed=0):
    """Give every weight distinct random values, so the formula is tested in full."""
    rng = np.random.default_rng(seed)
    for weight in layer.weights:
        weight.assign(rng.normal(size=weight.shape).astype("float32"))


def weights_of(layer):
    bias = to_numpy(layer.bias) if layer.bias is not None else None
    return (
        to_numpy(layer.kernel),
        to_numpy(layer.input_adapter),
        to_numpy(layer.output_adapter),
        bias,
    )


# -------------------------------------------------------------------- numbers
def test_split_makes_k_copies_of_any_rank():
    x = np.arange(12, dtype="float32").reshape(2, 3, 2)
    output = to_numpy(EnsembleSplit(4)(x))
    assert output.shape == (2, 4, 3, 2)
    for i in range(4):
        np.testing.assert_array_equal(output[:, i], x)
    assert to_numpy(EnsembleSplit(3)(x[:, 0])).shape == (2, 3, 2)


@pytest.mark.parametrize("use_bias", [True, False])
def test_dense_matches_the_rank_one_adapter_formula(use_bias):
    x = members_input()
    layer = BatchEnsembleDense(6, k=4, use_bias=use_bias)
    layer(x)
    randomize(layer)
    kernel, r, s, bias = weights_of(layer)
    assert kernel.shape == (3, 6) and r.shape == (4, 3) and s.shape == (4, 6)
    assert (bias is None) == (not use_bias)
    expected = numpy_batch_ensemble(x, kernel, r, s, bias)
    np.testing.assert_allclose(to_numpy(layer(x)), expected, atol=1e-5)


def test_activation_is_applied_after_the_bias():
    x = members_input()
    layer = BatchEnsembleDense(6, k=4, activation="relu")
    layer(x)
    randomize(layer, seed=1)
    expected = np.maximum(numpy_batch_ensemble(x, *weights_of(layer)), 0.0)
    np.testing.assert_allclose(to_numpy(layer(x)), expected, atol=1e-5)


def test_members_equal_independent_dense_layers_with_folded_adapters():
    """Member i is a plain Dense with kernel diag(r_i) W diag(s_i) and bias b_i."""
    x = members_input(k=3)
    layer = BatchEnsembleDense(5, k=3)
    layer(x)
    randomize(layer, seed=2)
    kernel, r, s, bias = weights_of(layer)
    output = to_numpy(layer(x))
    for i in range(3):
        dense = keras.layers.Dense(5)
        dense.build((None, 3))
        dense.set_weights([(r[i][:, None] * kernel * s[i][None, :]).astype("float32"), bias[i]])
        np.testing.assert_allclose(output[:, i], to_numpy(dense(x[:, i])), atol=1e-5)


# ------------------------------------------------------------- initialisation
@pytest.mark.parametrize(
    ("adapter_init", "r_signs", "s_signs"),
    [("random_signs", True, True), ("input_signs", True, False), ("ones", False, False)],
)
def test_adapters_start_as_the_papers_do(adapter_init, r_signs, s_signs):
    keras.utils.set_random_seed(0)
    layer = BatchEnsembleDense(64, k=8, adapter_init=adapter_init, bias_initializer="uniform")
    layer.build((None, 8, 32))
    for adapter, signs in ((layer.input_adapter, r_signs), (layer.output_adapter, s_signs)):
        values = to_numpy(adapter)
        if signs:
            assert set(np.unique(values)) == {-1.0, 1.0}
            assert 0.35 < (values > 0).mean() < 0.65
        else:
            np.testing.assert_array_equal(values, 1.0)
    bias = to_numpy(layer.bias)
    assert np.unique(bias[:, 0]).size == 1  # one draw, copied to every member (TabM)
    assert np.unique(bias[0]).size > 1


def test_random_signs_are_reproducible_under_a_seed():
    def adapters():
        keras.utils.set_random_seed(5)
        layer = BatchEnsembleDense(4, k=6)
        layer.build((None, 6, 10))
        return to_numpy(layer.input_adapter), to_numpy(layer.output_adapter)

    first, second = adapters(), adapters()
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


def test_members_that_start_alike_stay_alike_and_signs_make_them_differ():
    """Why TabM signs the first layer's r: with all adapters at ones, k copies of one
    input get the same gradients, so the members never become different models."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 4)).astype("float32")
    y = np.sin(2 * x[:, :1]) + x[:, 1:2] * x[:, 2:3]
    spreads = {}
    for first in ("ones", "input_signs"):
        keras.utils.set_random_seed(0)
        features = keras.Input((4,))
        h = EnsembleSplit(4)(features)
        h = BatchEnsembleDense(16, k=4, activation="relu", adapter_init=first)(h)
        h = BatchEnsembleDense(1, k=4, adapter_init="ones")(h)
        model = keras.Model(features, h)
        model.compile(keras.optimizers.Adam(0.01), "mse")
        model.fit(x, np.repeat(y[:, None], 4, axis=1), epochs=3, batch_size=32, verbose=0)
        predictions = to_numpy(model(x))[..., 0]
        spreads[first] = predictions.std(axis=1).mean()
    assert spreads["ones"] < 1e-6
    assert spreads["input_signs"] > 1e-2


# ----------------------------------------------------------- mixed precision
def test_mixed_precision_outputs_float16_close_to_float32():
    x = members_input(batch=16, k=4, d=8)
    keras.utils.set_random_seed(3)
    full = BatchEnsembleDense(6, k=4, activation="gelu")
    reference = to_numpy(full(x))
    keras.utils.set_random_seed(3)
    mixed = BatchEnsembleDense(6, k=4, activation="gelu", dtype="mixed_float16")
    output = to_numpy(mixed(x))
    assert output.dtype == np.float16
    assert all(w.dtype == "float32" for w in mixed.weights)
    np.testing.assert_allclose(output.astype("float64"), reference, atol=1e-2)
    assert to_numpy(EnsembleSplit(4, dtype="mixed_float16")(x[:, 0])).dtype == np.float16


def test_a_mixed_precision_training_step_is_finite():
    keras.utils.set_random_seed(4)
    features = keras.Input((8,))
    h = EnsembleSplit(4, dtype="mixed_float16")(features)
    h = BatchEnsembleDense(16, k=4, activation="relu", dtype="mixed_float16")(h)
    output = BatchEnsembleDense(1, k=4, adapter_init="ones", dtype="mixed_float16")(h)
    model = keras.Model(features, keras.layers.Activation("linear", dtype="float32")(output))
    model.compile(keras.optimizers.Adam(0.01), "mse")
    x = members_input(batch=64, k=1, d=8)[:, 0]
    history = model.fit(x, np.ones((64, 4, 1)), epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


# --------------------------------------------------------- Keras layer checks
CONFIGS = [
    {"units": 4, "k": 3},
    {
        "units": 5,
        "k": 2,
        "activation": "relu",
        "use_bias": False,
        "adapter_init": "input_signs",
        "kernel_initializer": {
            "class_name": "VarianceScaling",
            "config": {"scale": 1 / 3, "mode": "fan_in", "distribution": "uniform", "seed": None},
        },
        "bias_initializer": "ones",
    },
]


@pytest.mark.parametrize("config", CONFIGS)
def test_config_round_trip(config):
    layer = BatchEnsembleDense(**config, name="members")
    config_out = layer.get_config()
    assert config_out["units"] == config["units"] and config_out["k"] == config["k"]
    assert config_out["adapter_init"] == config.get("adapter_init", "random_signs")
    rebuilt = BatchEnsembleDense.from_config(config_out)
    assert rebuilt.get_config() == config_out
    serialized = keras.saving.serialize_keras_object(layer)
    assert serialized["registered_name"] == "sattn_dash>BatchEnsembleDense"
    assert keras.saving.deserialize_keras_object(serialized).get_config() == config_out


def test_split_config_round_trip():
    layer = EnsembleSplit(5, name="split")
    config = layer.get_config()
    assert config["k"] == 5
    assert EnsembleSplit.from_config(config).get_config() == config
    serialized = keras.saving.serialize_keras_object(layer)
    assert serialized["registered_name"] == "sattn_dash>EnsembleSplit"


@pytest.mark.parametrize("config", CONFIGS)
def test_symbolic_and_eager_calls_agree_on_shape(config):
    k = config["k"]
    split = EnsembleSplit(k)
    layer = BatchEnsembleDense(**config)
    symbolic = layer(split(keras.Input((7,))))
    assert tuple(symbolic.shape) == (None, k, config["units"])
    assert layer.compute_output_shape((None, k, 7)) == tuple(symbolic.shape)
    for batch in (1, 9):
        eager = layer(split(np.ones((batch, 7), "float32")))
        assert tuple(ops.shape(eager)) == (batch, *symbolic.shape[1:])


def tabm_branch(k=4, width=8):
    features = keras.Input((6,))
    h = EnsembleSplit(k, name="split")(features)
    h = BatchEnsembleDense(width, k=k, activation="relu", adapter_init="input_signs")(h)
    h = BatchEnsembleDense(width, k=k, activation="relu", adapter_init="ones")(h)
    return keras.Model(features, BatchEnsembleDense(1, k=k, name="members")(h))


def test_saved_model_reloads_with_identical_predictions(reload_keras_model):
    keras.utils.set_random_seed(1)
    model = tabm_branch()
    restored = reload_keras_model(model)
    x = np.random.default_rng(0).normal(size=(9, 6)).astype("float32")
    np.testing.assert_array_equal(to_numpy(model(x)), to_numpy(restored(x)))
    assert isinstance(restored.get_layer("split"), EnsembleSplit)
    assert isinstance(restored.get_layer("members"), BatchEnsembleDense)


def test_a_training_step_changes_every_weight_with_finite_loss():
    keras.utils.set_random_seed(2)
    model = tabm_branch()
    layers = [layer for layer in model.layers if isinstance(layer, BatchEnsembleDense)]
    before = [to_numpy(w).copy() for layer in layers for w in layer.trainable_weights]
    assert len(before) == 12  # kernel, r, s, bias per layer
    model.compile(keras.optimizers.SGD(0.05), "mse")
    x = np.random.default_rng(1).normal(size=(32, 6)).astype("float32")
    history = model.fit(x, np.ones((32, 4, 1)), epochs=2, batch_size=8, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    after = [w for layer in layers for w in layer.trainable_weights]
    for old, new in zip(before, after, strict=True):
        assert np.isfinite(to_numpy(new)).all()
        assert not np.allclose(old, to_numpy(new)), new.path


# ------------------------------------------------------------------ learning
def test_every_member_learns_a_nonlinear_target_on_its_own_loss():
    """Each member gets its own loss (the target repeated k times); on new rows every
    one must fit y = x0 * x1 + sin(2 x2), of which a linear model explains nothing."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1280, 6)).astype("float32")
    y = (x[:, 0] * x[:, 1] + np.sin(2 * x[:, 2])).astype("float32")[:, None]
    model = tabm_branch(k=4, width=32)
    model.compile(keras.optimizers.Adam(0.02), "mse")
    model.fit(x[:1024], np.repeat(y[:1024, None], 4, axis=1), epochs=15, batch_size=128, verbose=0)
    predictions = to_numpy(model(x[1024:]))[..., 0]
    member_mse = ((predictions - y[1024:]) ** 2).mean(axis=0)
    assert member_mse.shape == (4,)
    assert (member_mse < 0.25 * y.var()).all(), (member_mse, y.var())


# ------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: EnsembleSplit(0), "k must be a positive integer, got 0"),
        (lambda: EnsembleSplit(2.0), "k must be a positive integer"),
        (lambda: BatchEnsembleDense(0, k=2), "units must be a positive integer, got 0"),
        (lambda: BatchEnsembleDense(4, k=-1), "k must be a positive integer, got -1"),
        (lambda: BatchEnsembleDense(4, k=2, adapter_init="normal"), "adapter_init must be one of"),
        (lambda: BatchEnsembleDense(4, k=2, use_bias="no"), "use_bias must be True or False"),
        (lambda: BatchEnsembleDense(4, k=2, activation="nope"), "nope"),
    ],
)
def test_bad_arguments_raise_value_error_with_a_message(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_inputs_of_the_wrong_shape_raise():
    with pytest.raises(
        ValueError, match=r"shape \(batch, k=3, features\).*got \(None, 4\);.*EnsembleSplit\(3\)"
    ):
        BatchEnsembleDense(2, k=3)(keras.Input((4,)))
    with pytest.raises(ValueError, match=r"k=3.*got \(None, 2, 4\)"):
        BatchEnsembleDense(2, k=3)(keras.Input((2, 4)))
    with pytest.raises(ValueError, match="rank >= 2"):
        EnsembleSplit(2)(np.ones(3, "float32"))


def test_adapter_choices_are_importable_without_keras():
    assert ADAPTER_INITS == ("random_signs", "input_signs", "ones")
