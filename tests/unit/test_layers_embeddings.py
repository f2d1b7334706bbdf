"""Numeric embeddings: quantile bins, piecewise-linear encoding/embedding, periodic
embedding; numbers against NumPy, the Keras layer checks, and what they can learn."""

import math

import keras
import numpy as np
import pytest
from keras import ops

from sattn_dash.layers import (
    PeriodicEmbedding,
    PiecewiseLinearEmbedding,
    PiecewiseLinearEncoding,
    quantile_bin_edges,
)

EDGES = [[-1.0, 0.0, 1.0, 3.0], [0.0, 2.0], [10.0, 10.5, 11.0]]  # 3, 1 and 2 bins


def numpy_ple(x, bin_edges):
    """Equation 1 of the paper, bin by bin: first bin unclipped below, last unclipped
    above, the rest in [0, 1]; zeros where a feature has fewer bins."""
    x = np.asarray(x, "float64")
    max_bins = max(len(e) for e in bin_edges) - 1
    out = np.zeros((len(x), len(bin_edges), max_bins))
    for j, edges in enumerate(bin_edges):
        count = len(edges) - 1
        for t in range(count):
            v = (x[:, j] - edges[t]) / (edges[t + 1] - edges[t])
            if t > 0:
                v = np.maximum(v, 0.0)
            if t < count - 1:
                v = np.minimum(v, 1.0)
            out[:, j, t] = v
    return out


def numpy_feature_dense(v, kernel, bias):
    kernel, bias = np.asarray(kernel, "float64"), np.asarray(bias, "float64")
    if kernel.ndim == 3:
        return np.stack([v[:, j] @ kernel[j] + bias[j] for j in range(v.shape[1])], axis=1)
    return v @ kernel + bias


def numpy_periodic(x, frequencies):
    phases = 2 * np.pi * np.asarray(frequencies, "float64") * np.asarray(x, "float64")[..., None]
    return np.concatenate([np.cos(phases), np.sin(phases)], axis=-1)


def relu(v):
    return np.maximum(v, 0.0)


def to_numpy(x):
    return np.asarray(ops.convert_to_numpy(x))


def sample_inputs(rows=6, seed=0):
    rng = np.random.default_rng(seed)
    x = np.stack(
        [rng.uniform(-3, 5, rows), rng.uniform(-2, 4, rows), rng.uniform(9, 12, rows)], axis=1
    )
    return x.astype("float32")


# ---------------------------------------------------------------- bin edges
def test_bin_edges_are_the_distinct_quantiles_of_each_column():
    rng = np.random.default_rng(0)
    X = np.stack([rng.normal(size=500), rng.exponential(size=500)], axis=1)
    edges = quantile_bin_edges(X, 8)
    for column, column_edges in zip(X.T, edges, strict=True):
        expected = np.quantile(column, np.linspace(0, 1, 9))
        np.testing.assert_allclose(column_edges, expected, rtol=1e-6)
        assert all(isinstance(e, float) for e in column_edges)


def test_bin_edges_drop_repeats_and_ignore_missing_and_infinite_values():
    finite = np.array([0] * 60 + [1] * 30 + [2] * 10, "float64")
    column = np.concatenate([finite, [np.nan, np.inf, -np.inf]])
    (edges,) = quantile_bin_edges(column[:, None], 20)
    expected = np.unique(np.quantile(finite, np.linspace(0, 1, 21)))
    np.testing.assert_allclose(edges, expected, rtol=1e-6)
    assert len(edges) < 21 and edges[0] == 0.0 and edges[-1] == 2.0


def test_bin_edges_of_constant_empty_and_huge_columns_are_valid_pairs():
    X = np.array([[3.0, np.nan, -5e9, 1], [3.0, np.nan, -5e9, 1]])
    constant, empty, huge, integer = quantile_bin_edges(X, 4)
    assert constant == [3.0, 6.0]
    assert empty == [0.0, 1.0]
    assert huge[0] == -5e9 and huge[1] > huge[0]
    assert integer == [1.0, 2.0]
    PiecewiseLinearEncoding([constant, empty, huge, integer])  # accepted as they are


def test_bin_edges_never_repeat_in_float32():
    # Distinct in float64, equal in float32: the layers would divide by zero width.
    column = np.array([1e8, 1e8 + 1, 1e8 + 2, 1e8 + 3, 2e8])
    (edges,) = quantile_bin_edges(column[:, None], 4)
    assert (np.diff(np.asarray(edges, "float32")) > 0).all()


@pytest.mark.parametrize(
    ("X", "n_bins", "message"),
    [
        (np.zeros(5), 4, r"2-D array \(rows, features\), got shape \(5,\)"),
        (np.array([["a"], ["b"]]), 4, "must hold numbers"),
        (np.zeros((5, 2)), 0, "n_bins must be a positive integer, got 0"),
        (np.zeros((5, 2)), 2.5, "n_bins must be a positive integer"),
    ],
)
def test_bin_edges_reject_bad_input(X, n_bins, message):
    with pytest.raises(ValueError, match=message):
        quantile_bin_edges(X, n_bins)


# ------------------------------------------------------------------ numbers
def test_encoding_matches_numpy_with_clipping_and_padding():
    layer = PiecewiseLinearEncoding(EDGES)
    x = np.array(
        [
            [-5.0, -4.0, 9.0],  # below every first bin: negative, others 0
            [-1.0, 0.0, 10.0],  # at the first edge
            [0.5, 1.0, 10.75],  # inside
            [3.0, 2.0, 11.0],  # at the last edge
            [10.0, 7.0, 20.0],  # above every last bin: > 1, others 1
        ],
        "float32",
    )
    output = to_numpy(layer(x))
    assert output.shape == (5, 3, 3)
    np.testing.assert_allclose(output, numpy_ple(x, EDGES), atol=1e-6)
    assert output[0, 0, 0] == pytest.approx(-4.0)  # first bin not clipped below
    assert output[4, 0, 2] == pytest.approx((10 - 1) / 2)  # last bin not clipped above
    np.testing.assert_array_equal(output[4, 0, :2], [1.0, 1.0])
    np.testing.assert_array_equal(output[:, 1, 1:], 0.0)  # padding of the 1-bin feature
    np.testing.assert_array_equal(output[:, 2, 2], 0.0)  # padding of the 2-bin feature
    np.testing.assert_allclose(output[:, 1, 0], (x[:, 1] - 0.0) / 2.0)  # one bin: no clip


def test_embedding_matches_numpy_per_feature_linear_map():
    x = sample_inputs()
    for activation, numpy_activation in (("relu", relu), ("linear", lambda v: v)):
        layer = PiecewiseLinearEmbedding(EDGES, units=5, activation=activation)
        output = to_numpy(layer(x))
        assert layer.kernel.shape == (3, 3, 5) and layer.bias.shape == (3, 5)
        expected = numpy_activation(
            numpy_feature_dense(numpy_ple(x, EDGES), to_numpy(layer.kernel), to_numpy(layer.bias))
        )
        np.testing.assert_allclose(output, expected, atol=1e-5)


def test_start_linear_embedding_matches_numpy_linear_plus_piecewise():
    x = sample_inputs()
    rng = np.random.default_rng(4)
    for activation, numpy_activation in (("relu", relu), ("linear", lambda v: v)):
        layer = PiecewiseLinearEmbedding(EDGES, units=5, activation=activation, start_linear=True)
        layer(x)
        assert layer.kernel.shape == (3, 3, 5)
        assert layer.linear_kernel.shape == layer.bias.shape == (3, 5)
        layer.kernel.assign(rng.normal(size=(3, 3, 5)).astype("float32"))
        piecewise = numpy_feature_dense(
            numpy_ple(x, EDGES), to_numpy(layer.kernel), to_numpy(layer.bias)
        )
        linear = x.astype("float64")[..., None] * to_numpy(layer.linear_kernel)
        expected = numpy_activation(piecewise + linear)
        np.testing.assert_allclose(to_numpy(layer(x)), expected, atol=1e-5)


def test_start_linear_embedding_starts_as_a_linear_embedding_of_the_value():
    """TabM's version: the piecewise map starts at zero, so at initialisation each
    feature's embedding is x_j w_j + b_j, with w and b uniform in +-1/sqrt(units)."""
    keras.utils.set_random_seed(0)
    x = sample_inputs(8)
    layer = PiecewiseLinearEmbedding(EDGES, units=64, activation="linear", start_linear=True)
    output = to_numpy(layer(x))
    assert not to_numpy(layer.kernel).any()
    w, b = to_numpy(layer.linear_kernel), to_numpy(layer.bias)
    np.testing.assert_allclose(output, x[..., None] * w + b, atol=1e-5)
    for values in (w, b):
        assert 0.9 / 8 < np.abs(values).max() <= 1 / 8


@pytest.mark.parametrize("lite", [False, True])
def test_periodic_matches_numpy(lite):
    x = sample_inputs()
    layer = PeriodicEmbedding(3, units=4, n_frequencies=5, sigma=0.3, lite=lite)
    output = to_numpy(layer(x))
    assert layer.frequencies.shape == (3, 5)
    assert layer.kernel.shape == ((10, 4) if lite else (3, 10, 4))
    periodic = numpy_periodic(x, to_numpy(layer.frequencies))
    expected = relu(numpy_feature_dense(periodic, to_numpy(layer.kernel), to_numpy(layer.bias)))
    np.testing.assert_allclose(output, expected, atol=1e-5)


def test_periodic_frequencies_start_as_a_normal_truncated_at_three_sigma():
    keras.utils.set_random_seed(0)
    layer = PeriodicEmbedding(50, units=2, n_frequencies=200, sigma=0.5)
    layer.build((None, 50))
    c = to_numpy(layer.frequencies)
    assert abs(c.mean()) < 0.02
    assert c.std() == pytest.approx(0.5 * 0.9866, rel=0.03)  # std of N(0,1) cut at 3
    assert np.abs(c).max() <= 1.5 + 1e-6
    assert np.abs(c).max() > 1.2  # cut at 3 sigma, not at 2 as keras' TruncatedNormal


def test_embeddings_start_like_rtdl_uniform_in_one_over_sqrt_fan_in():
    keras.utils.set_random_seed(0)
    edges = [list(np.linspace(0, 1, 17))] * 4
    ple = PiecewiseLinearEmbedding(edges, units=64)
    ple.build((None, 4))
    periodic = PeriodicEmbedding(4, units=64, n_frequencies=8)
    periodic.build((None, 4))
    for weights, fan_in in ((ple.kernel, 16), (ple.bias, 16), (periodic.kernel, 16)):
        values = to_numpy(weights)
        assert np.abs(values).max() <= 1 / math.sqrt(fan_in)
        assert np.abs(values).max() > 0.9 / math.sqrt(fan_in)


# ----------------------------------------------------------- mixed precision
def test_mixed_precision_computes_the_encoding_in_float32():
    # Edges of raw values 0.01 apart near 1000: float16 spaces numbers there 0.5 apart.
    edges = [[1000.0, 1000.01, 1000.02, 1000.03]]
    x = np.array([[1000.005], [1000.025], [999.0]], "float32")
    layer = PiecewiseLinearEncoding(edges, dtype="mixed_float16")
    output = to_numpy(layer(x))
    assert output.dtype == np.float16
    np.testing.assert_allclose(output, numpy_ple(x, edges), atol=2e-3, rtol=2e-3)


def test_mixed_precision_saturates_values_far_outside_the_bins_instead_of_inf():
    edges = [[0.0, 0.001, 0.002]]  # narrow bins: x = 1000 is 10^6 bin widths away
    x = np.array([[1000.0], [-1000.0]], "float32")
    encoded = to_numpy(PiecewiseLinearEncoding(edges, dtype="mixed_float16")(x))
    np.testing.assert_array_equal(encoded, [[[1.0, 65504.0]], [[-65504.0, 0.0]]])
    for start_linear in (False, True):
        embedded = PiecewiseLinearEmbedding(
            edges, units=2, start_linear=start_linear, dtype="mixed_float16"
        )
        embedded(x)
        embedded.kernel.assign(np.full((1, 2, 2), 0.5, "float32"))
        assert np.isfinite(to_numpy(embedded(x))).all()


def test_mixed_precision_embeddings_output_float16_close_to_float32():
    x = sample_inputs(16)
    for make in (
        lambda **kw: PiecewiseLinearEmbedding(EDGES, units=6, **kw),
        lambda **kw: PiecewiseLinearEmbedding(EDGES, units=6, start_linear=True, **kw),
        lambda **kw: PeriodicEmbedding(3, units=6, sigma=2.0, **kw),
        lambda **kw: PeriodicEmbedding(3, units=6, lite=True, **kw),
    ):
        keras.utils.set_random_seed(3)
        full = make()
        reference = to_numpy(full(x))
        keras.utils.set_random_seed(3)
        mixed = make(dtype="mixed_float16")
        output = to_numpy(mixed(x))
        assert output.dtype == np.float16
        assert all(w.dtype == "float32" for w in mixed.weights)
        np.testing.assert_allclose(output.astype("float64"), reference, atol=2e-2)


def test_mixed_precision_phases_use_float32_frequencies():
    # Phases of 2 pi * 3.3 * 40 ~ 830 rad: 3.3001 in float16 is 3.30078, which would
    # shift them by 0.17 rad.
    layer = PeriodicEmbedding(
        1, units=2, n_frequencies=1, activation="linear", dtype="mixed_float16"
    )
    x = np.array([[40.0], [-37.3]], "float32")
    layer(x)
    layer.frequencies.assign([[3.3001]])
    layer.kernel.assign(np.eye(2, dtype="float32")[None])
    layer.bias.assign(np.zeros((1, 2), "float32"))
    expected = numpy_periodic(x, [[3.3001]])
    np.testing.assert_allclose(to_numpy(layer(x)).astype("float64"), expected, atol=2e-3)


# --------------------------------------------------------- Keras layer checks
LAYERS = {
    "encoding": lambda: PiecewiseLinearEncoding(EDGES, name="numeric"),
    "embedding": lambda: PiecewiseLinearEmbedding(
        EDGES, units=4, activation="linear", name="numeric"
    ),
    "embedding_start_linear": lambda: PiecewiseLinearEmbedding(
        EDGES, units=4, activation="linear", start_linear=True, name="numeric"
    ),
    "periodic": lambda: PeriodicEmbedding(3, units=4, n_frequencies=6, sigma=0.2, name="numeric"),
    "periodic_lite": lambda: PeriodicEmbedding(
        3, units=5, n_frequencies=3, sigma=1.5, lite=True, activation="gelu", name="numeric"
    ),
}


@pytest.mark.parametrize("kind", LAYERS)
def test_config_round_trip(kind):
    layer = LAYERS[kind]()
    config = layer.get_config()
    rebuilt = type(layer).from_config(config)
    assert rebuilt.get_config() == config
    serialized = keras.saving.serialize_keras_object(layer)
    assert serialized["registered_name"] == f"sattn_dash>{type(layer).__name__}"
    assert keras.saving.deserialize_keras_object(serialized).get_config() == config
    if "bin_edges" in config:
        assert config["bin_edges"] == EDGES  # plain lists of floats, JSON-safe


@pytest.mark.parametrize("kind", LAYERS)
def test_symbolic_and_eager_calls_agree_on_shape(kind):
    layer = LAYERS[kind]()
    symbolic = layer(keras.Input((3,)))
    assert symbolic.shape[0] is None
    assert layer.compute_output_shape((None, 3)) == tuple(symbolic.shape)
    for batch in (1, 7):
        assert tuple(ops.shape(layer(sample_inputs(batch)))) == (batch, *symbolic.shape[1:])


@pytest.mark.parametrize("kind", LAYERS)
def test_saved_model_reloads_with_identical_predictions(kind, reload_keras_model):
    keras.utils.set_random_seed(1)
    features = keras.Input((3,))
    embedded = LAYERS[kind]()(features)
    model = keras.Model(features, keras.layers.Dense(1)(keras.layers.Flatten()(embedded)))
    restored = reload_keras_model(model)
    x = sample_inputs(9)
    np.testing.assert_array_equal(to_numpy(model(x)), to_numpy(restored(x)))
    assert type(restored.get_layer("numeric")) is type(model.get_layer("numeric"))


@pytest.mark.parametrize(
    "kind", ["embedding", "embedding_start_linear", "periodic", "periodic_lite"]
)
def test_a_training_step_changes_every_weight_with_finite_loss(kind):
    keras.utils.set_random_seed(2)
    features = keras.Input((3,))
    layer = LAYERS[kind]()
    model = keras.Model(features, keras.layers.Dense(1)(keras.layers.Flatten()(layer(features))))
    model.compile(keras.optimizers.Adam(0.01), "mse")  # raw inputs up to 12
    before = [to_numpy(w).copy() for w in layer.trainable_weights]
    x = sample_inputs(32)
    history = model.fit(x, x[:, :1] ** 2, epochs=2, batch_size=8, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert len(before) == (2 if kind == "embedding" else 3)
    for old, new in zip(before, layer.trainable_weights, strict=True):
        assert np.isfinite(to_numpy(new)).all()
        assert not np.allclose(old, to_numpy(new)), new.name


def test_encoding_has_no_weights():
    layer = PiecewiseLinearEncoding(EDGES)
    layer(sample_inputs())
    assert layer.weights == []


# ---------------------------------------------------------------- learning
def fit_mse(model, x, y, epochs):
    model.compile(keras.optimizers.Adam(0.02), "mse")
    model.fit(x, y, epochs=epochs, batch_size=64, verbose=0)
    return float(model.evaluate(x, y, verbose=0))


@pytest.mark.parametrize("start_linear", [False, True])
def test_piecewise_linear_embedding_fits_a_step_function_a_plain_mlp_does_not(start_linear):
    """y = a square wave of x (three jumps): the bins let each piece be learned on its
    own, also when the embedding starts linear; an MLP of the same width on the raw
    number needs many more steps."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, size=(1024, 1)).astype("float32")
    y = (np.floor(4 * x) % 2).astype("float32")  # variance 0.25
    features = keras.Input((1,))
    embedded = PiecewiseLinearEmbedding(
        quantile_bin_edges(x, 16), units=8, start_linear=start_linear
    )(features)
    ple = keras.Model(features, keras.layers.Dense(1)(keras.layers.Flatten()(embedded)))
    mlp = keras.Sequential(
        [keras.Input((1,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)]
    )
    ple_mse = fit_mse(ple, x, y, epochs=15)
    mlp_mse = fit_mse(mlp, x, y, epochs=15)
    assert ple_mse < 0.03, ple_mse
    assert mlp_mse > 0.1, mlp_mse


def test_periodic_embedding_fits_a_fast_oscillation():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(1024, 1)).astype("float32")
    y = np.sin(2 * np.pi * 1.5 * x).astype("float32")  # variance ~0.5
    features = keras.Input((1,))
    embedded = PeriodicEmbedding(1, units=16, n_frequencies=16, sigma=1.0)(features)
    model = keras.Model(features, keras.layers.Dense(1)(keras.layers.Flatten()(embedded)))
    assert fit_mse(model, x, y, epochs=15) < 0.05


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: PiecewiseLinearEncoding([]), "bin_edges must be a non-empty list"),
        (lambda: PiecewiseLinearEncoding([1.0, 2.0]), r"bin_edges\[0\] must be a list of at"),
        (lambda: PiecewiseLinearEncoding([[0.0, 1.0], [2.0]]), r"bin_edges\[1\] must be a list"),
        (lambda: PiecewiseLinearEncoding([[0.0, "a"]]), r"bin_edges\[0\] must be a list"),
        (lambda: PiecewiseLinearEncoding([[1.0, 0.0]]), "strictly increasing"),
        (lambda: PiecewiseLinearEncoding([[0.0, 0.0, 1.0]]), "strictly increasing"),
        (lambda: PiecewiseLinearEncoding([[0.0, np.inf]]), "finite and strictly"),
        (lambda: PiecewiseLinearEncoding([[1.0, 1.0 + 1e-9]]), r"strictly increasing \(in float32"),
        (lambda: PiecewiseLinearEmbedding(EDGES, units=0), "units must be a positive integer"),
        (lambda: PiecewiseLinearEmbedding(EDGES, 4, activation="nope"), "nope"),
        (lambda: PiecewiseLinearEmbedding(EDGES, 4, start_linear=1), "start_linear must be"),
        (lambda: PeriodicEmbedding(0, 4), "n_features must be a positive integer"),
        (lambda: PeriodicEmbedding(3, 4, n_frequencies=True), "n_frequencies must be"),
        (lambda: PeriodicEmbedding(3, 4, sigma=0), "sigma must be a positive finite number"),
        (lambda: PeriodicEmbedding(3, 4, sigma=math.nan), "sigma must be a positive finite"),
        (lambda: PeriodicEmbedding(3, 4, lite="yes"), "lite must be True or False"),
    ],
)
def test_bad_arguments_raise_value_error_with_a_message(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("kind", LAYERS)
def test_inputs_of_the_wrong_shape_raise(kind):
    with pytest.raises(ValueError, match=r"expects inputs of shape \(batch, 3\).*got \(None, 4\)"):
        LAYERS[kind]()(keras.Input((4,)))
    with pytest.raises(ValueError, match=r"expects inputs of shape \(batch, 3\)"):
        LAYERS[kind]()(keras.Input((2, 3)))
