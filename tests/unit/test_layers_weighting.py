"""SparseAttentionWeighting: the KMR contract, the fixes, the options, the Keras layer checks."""

import keras
import numpy as np
import pytest
from keras import ops

from sattn_dash.layers import SparseAttentionWeighting
from tests.unit.test_layers_sparsemax import numpy_sparsemax


def numpy_softmax(x):
    e = np.exp(x - x.max())
    return e / e.sum()


def numpy_weighting(inputs, weights, temperature, normalizer="softmax"):
    """The published formula: sum_i normalizer(w / T)_i * input_i, any rank."""
    logits = np.asarray(weights, "float64") / temperature
    p = numpy_softmax(logits) if normalizer == "softmax" else numpy_sparsemax(logits)
    return sum(p_i * np.asarray(x, "float64") for p_i, x in zip(p, inputs, strict=True))


def random_inputs(count, shape, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=shape).astype("float32") for _ in range(count)]


def set_weights(layer, weights):
    layer.attention_weights.assign(np.asarray(weights, "float32"))


# ------------------------------------------------------------------- the contract
def test_weights_start_as_ones_and_temperature_is_a_non_trainable_scalar():
    layer = SparseAttentionWeighting(num_modules=3, temperature=0.5)
    layer(random_inputs(3, (2, 4)))
    assert layer.attention_weights.shape == (3,)
    np.testing.assert_array_equal(ops.convert_to_numpy(layer.attention_weights), np.ones(3))
    assert [w.name for w in layer.trainable_weights] == ["attention_weights"]
    assert [w.name for w in layer.non_trainable_weights] == ["temperature"]
    assert layer.temperature.shape == ()
    assert layer.temperature_value == 0.5


@pytest.mark.parametrize(
    "shape",
    [(4, 5), (4, 3, 5), (4, 7, 5), (2, 3, 4, 5)],
    ids=["rank2", "rank3-seq-equals-modules", "rank3", "rank4"],
)
@pytest.mark.parametrize("temperature", [1.0, 0.3])
def test_matches_numpy_reference_for_every_rank(shape, temperature):
    # (4, 3, 5) with 3 modules is where the published layer is silently wrong: it
    # broadcasts the weights onto the sequence axis.
    layer = SparseAttentionWeighting(num_modules=3, temperature=temperature)
    inputs = random_inputs(3, shape, seed=len(shape))
    layer(inputs)
    weights = [0.2, -0.5, 1.3]
    set_weights(layer, weights)
    expected = numpy_weighting(inputs, weights, temperature)
    np.testing.assert_allclose(ops.convert_to_numpy(layer(inputs)), expected, atol=1e-5)
    assert tuple(layer.compute_output_shape([x.shape for x in inputs])) == shape


def test_module_probabilities_is_softmax_of_weights_over_temperature():
    layer = SparseAttentionWeighting(num_modules=4, temperature=0.7)
    layer(random_inputs(4, (2, 3)))
    set_weights(layer, [1.0, 2.0, 0.0, -1.0])
    probabilities = layer.module_probabilities()
    assert isinstance(probabilities, np.ndarray) and probabilities.shape == (4,)
    np.testing.assert_allclose(probabilities, numpy_softmax(np.array([1, 2, 0, -1]) / 0.7), 1e-6)
    np.testing.assert_allclose(probabilities.sum(), 1.0, atol=1e-6)


def test_temperature_can_be_annealed_by_a_callback_during_fit():
    class Anneal(keras.callbacks.Callback):
        def __init__(self, layer):
            super().__init__()
            self.layer = layer

        def on_epoch_end(self, epoch, logs=None):
            self.layer.temperature.assign(self.layer.temperature_value * 0.5)

    inputs = [keras.Input((4,)) for _ in range(2)]
    layer = SparseAttentionWeighting(num_modules=2, temperature=2.0)
    model = keras.Model(inputs, keras.layers.Dense(1)(layer(inputs)))
    model.compile("sgd", "mse")
    data = random_inputs(2, (16, 4))
    model.fit(data, np.zeros((16, 1)), epochs=3, verbose=0, callbacks=[Anneal(layer)])
    assert layer.temperature_value == pytest.approx(0.25)
    set_weights(layer, [0.0, 1.0])
    np.testing.assert_allclose(layer.module_probabilities(), numpy_softmax(np.array([0, 4.0])))
    np.testing.assert_allclose(
        ops.convert_to_numpy(layer(data)), numpy_weighting(data, [0, 1], 0.25), atol=1e-5
    )


def test_trainable_temperature_is_learned_and_stays_positive():
    layer = SparseAttentionWeighting(num_modules=2, trainable_temperature=True)
    inputs = [keras.Input((3,)) for _ in range(2)]
    model = keras.Model(inputs, layer(inputs))
    assert {w.name for w in layer.trainable_weights} == {"attention_weights", "temperature"}
    set_weights(layer, [1.0, 0.0])
    model.compile(keras.optimizers.SGD(5.0), "mse")
    data = random_inputs(2, (32, 3))
    # The target is module 0 alone: a sharper mix is better, so the temperature falls,
    # and with this step size it would cross zero without its constraint.
    model.fit(data, data[0], epochs=10, verbose=0)
    assert 1e-3 <= layer.temperature_value < 0.5


# ------------------------------------------------------------ widths and projection
def test_inputs_of_different_widths_get_an_error_naming_the_shapes():
    layer = SparseAttentionWeighting(num_modules=2)
    with pytest.raises(ValueError, match=r"got shapes \[\(4, 3\), \(4, 5\)\].*project_to"):
        layer(random_inputs(1, (4, 3)) + random_inputs(1, (4, 5)))


def test_project_to_gives_each_input_its_own_dense():
    inputs = [keras.Input((3,)), keras.Input((5,)), keras.Input((2,))]
    layer = SparseAttentionWeighting(num_modules=3, project_to=4)
    output = layer(inputs)
    assert output.shape == (None, 4)
    assert [p.kernel.shape for p in layer.projections] == [(3, 4), (5, 4), (2, 4)]
    data = random_inputs(1, (6, 3)) + random_inputs(1, (6, 5), 1) + random_inputs(1, (6, 2), 2)
    projected = [
        x @ ops.convert_to_numpy(p.kernel) + ops.convert_to_numpy(p.bias)
        for p, x in zip(layer.projections, data, strict=True)
    ]
    np.testing.assert_allclose(
        ops.convert_to_numpy(layer(data)), numpy_weighting(projected, [1, 1, 1], 1.0), atol=1e-5
    )


# ---------------------------------------------------------------------- options
def test_sparsemax_normalizer_gives_exact_zeros():
    layer = SparseAttentionWeighting(num_modules=4, normalizer="sparsemax", temperature=0.5)
    inputs = random_inputs(4, (3, 2, 5))
    layer(inputs)
    weights = [2.0, 0.3, 1.9, -1.0]
    set_weights(layer, weights)
    probabilities = layer.module_probabilities()
    np.testing.assert_allclose(probabilities, numpy_sparsemax(np.array(weights) / 0.5), atol=1e-6)
    assert probabilities[1] == 0.0 and probabilities[3] == 0.0
    expected = numpy_weighting(inputs, weights, 0.5, "sparsemax")
    np.testing.assert_allclose(ops.convert_to_numpy(layer(inputs)), expected, atol=1e-5)


@pytest.mark.parametrize("penalty", ["entropy", "l1"])
def test_penalty_is_added_as_a_loss_with_its_weight(penalty):
    inputs = [keras.Input((3,)) for _ in range(3)]
    layer = SparseAttentionWeighting(num_modules=3, penalty=penalty, penalty_weight=0.5)
    model = keras.Model(inputs, layer(inputs))
    set_weights(layer, [1.0, 0.0, -1.0])
    model(random_inputs(3, (2, 3)))
    p = numpy_softmax(np.array([1.0, 0.0, -1.0]))
    expected = -(p * np.log(p)).sum() if penalty == "entropy" else 1.0 - p.max()
    assert len(model.losses) == 1
    np.testing.assert_allclose(float(model.losses[0]), 0.5 * expected, rtol=1e-5)


@pytest.mark.parametrize("penalty", ["entropy", "l1"])
def test_penalty_alone_pushes_toward_fewer_modules(penalty):
    keras.utils.set_random_seed(0)
    inputs = [keras.Input((2,)) for _ in range(3)]
    layer = SparseAttentionWeighting(num_modules=3, penalty=penalty, penalty_weight=1.0)
    model = keras.Model(inputs, layer(inputs))
    set_weights(layer, [1.1, 1.0, 1.0])  # a slight lead, as training would give
    model.compile(keras.optimizers.SGD(0.5), loss=lambda y, p: 0.0 * ops.sum(p))
    data = random_inputs(3, (8, 2))
    model.fit(data, np.zeros((8, 2)), epochs=20, verbose=0)
    assert layer.module_probabilities().max() > 0.6


def test_probabilities_stay_float32_under_mixed_precision():
    layer = SparseAttentionWeighting(num_modules=3, temperature=0.05, dtype="mixed_float16")
    inputs = random_inputs(3, (2, 4))
    output = layer(inputs)
    assert ops.convert_to_numpy(output).dtype == np.float16
    assert layer.attention_weights.dtype == "float32"
    weights = [0.01, 0.0, -0.01]  # differences float16 would round differently
    set_weights(layer, weights)
    np.testing.assert_allclose(
        layer.module_probabilities(), numpy_softmax(np.array(weights) / 0.05), rtol=1e-6
    )
    np.testing.assert_allclose(
        ops.convert_to_numpy(layer(inputs)).astype("float64"),
        numpy_weighting(inputs, weights, 0.05),
        atol=5e-3,
    )


def test_keras_masks_are_combined():
    ids = keras.Input((None,), dtype="int32")
    embedded = keras.layers.Embedding(5, 3, mask_zero=True)(ids)
    combined = SparseAttentionWeighting(num_modules=2)([embedded, embedded])
    pooled = keras.layers.GlobalAveragePooling1D()(combined)  # reads the mask
    model = keras.Model(ids, pooled)
    with_padding = ops.convert_to_numpy(model(np.array([[1, 2, 0, 0]])))
    without = ops.convert_to_numpy(model(np.array([[1, 2, 0, 0]])[:, :2]))
    np.testing.assert_allclose(with_padding, without, atol=1e-6)


# ------------------------------------------------------------ Keras layer checks
CONFIGS = [
    {"num_modules": 3},
    {
        "num_modules": 3,
        "temperature": 0.4,
        "normalizer": "sparsemax",
        "project_to": 6,
        "penalty": "entropy",
        "penalty_weight": 0.1,
        "trainable_temperature": True,
    },
    {
        "num_modules": 3,
        "module_dropout": 0.5,
        "dropout_groups": [0, 0, 1],
        "module_prices": [0.0, 0.0, 0.2],
    },
]


@pytest.mark.parametrize("config", CONFIGS)
def test_config_round_trip(config):
    layer = SparseAttentionWeighting(**config, name="combiner")
    config_out = layer.get_config()
    for key, value in config.items():
        assert config_out[key] == value
    rebuilt = SparseAttentionWeighting.from_config(config_out)
    assert rebuilt.get_config() == config_out
    serialized = keras.saving.serialize_keras_object(layer)
    assert serialized["registered_name"] == "sattn_dash>SparseAttentionWeighting"
    assert keras.saving.deserialize_keras_object(serialized).get_config() == config_out


def test_config_carries_the_annealed_temperature():
    layer = SparseAttentionWeighting(num_modules=2, temperature=1.0)
    layer(random_inputs(2, (1, 2)))
    layer.temperature.assign(0.25)
    assert layer.get_config()["temperature"] == 0.25


@pytest.mark.parametrize("config", CONFIGS)
def test_symbolic_and_eager_calls_agree_on_shape(config):
    widths = (4, 5, 6) if config.get("project_to") else (4, 4, 4)
    symbolic = [keras.Input((2, w)) for w in widths]
    layer = SparseAttentionWeighting(**config)
    out = layer(symbolic)
    eager = [np.ones((3, 2, w), "float32") for w in widths]
    assert tuple(ops.shape(layer(eager))) == (3, *out.shape[1:])


@pytest.mark.parametrize("config", CONFIGS)
def test_saved_model_reloads_with_identical_predictions(config, reload_keras_model):
    keras.utils.set_random_seed(1)
    features = keras.Input((6,))
    branches = [keras.layers.Dense(4, name=f"branch_{i}")(features) for i in range(3)]
    combined = SparseAttentionWeighting(**config, name="combiner")(branches)
    model = keras.Model(features, keras.layers.Dense(1)(combined))
    model.get_layer("combiner").attention_weights.assign([0.3, -0.2, 1.0])
    model.get_layer("combiner").temperature.assign(0.8)
    data = random_inputs(1, (5, 6))[0]
    restored = reload_keras_model(model)
    np.testing.assert_array_equal(
        ops.convert_to_numpy(model(data)), ops.convert_to_numpy(restored(data))
    )
    layer = restored.get_layer("combiner")
    assert isinstance(layer, SparseAttentionWeighting)
    assert layer.temperature_value == pytest.approx(0.8)
    np.testing.assert_allclose(
        layer.module_probabilities(), model.get_layer("combiner").module_probabilities()
    )


def test_a_training_step_changes_the_weights_with_finite_gradients():
    inputs = [keras.Input((3,)) for _ in range(3)]
    layer = SparseAttentionWeighting(num_modules=3, normalizer="sparsemax")
    model = keras.Model(inputs, layer(inputs))
    model.compile(keras.optimizers.SGD(0.1), "mse")
    data = random_inputs(3, (16, 3))
    history = model.fit(data, data[0], epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    weights = ops.convert_to_numpy(layer.attention_weights)
    assert np.isfinite(weights).all() and not np.allclose(weights, 1.0)


def test_learns_which_branch_sees_the_informative_columns():
    """Only branch 0 sees the columns the target depends on: it must win clearly."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1024, 9)).astype("float32")
    y = (x[:, 0] + x[:, 1] - x[:, 2]).astype("float32")[:, None]
    features = keras.Input((9,))
    columns = [(0, 3), (3, 6), (6, 9)]  # branch 0: informative; 1, 2: noise
    # tanh bounds each branch's output, so a branch cannot just grow its own scale
    # instead of earning weight in the combiner.
    branches = [
        keras.layers.Dense(8, activation="tanh", name=f"branch_{i}")(features[:, start:stop])
        for i, (start, stop) in enumerate(columns)
    ]
    layer = SparseAttentionWeighting(num_modules=3, temperature=0.5, name="combiner")
    model = keras.Model(features, keras.layers.Dense(1)(layer(branches)))
    model.compile(keras.optimizers.Adam(0.02), "mse")
    model.fit(x, y, epochs=10, batch_size=64, verbose=0)
    probabilities = layer.module_probabilities()
    assert probabilities.argmax() == 0, probabilities
    assert probabilities[0] - probabilities[1:].max() > 0.4, probabilities


def test_module_dropout_leaves_groups_out_of_rows_while_training_only():
    # module i is the i-th unit vector, so each output row is that row's module weights
    layer = SparseAttentionWeighting(num_modules=3, module_dropout=0.5, dropout_groups=[0, 0, 1])
    rows = 4000
    inputs = [np.tile(np.eye(3, dtype="float32")[i], (rows, 1)) for i in range(3)]
    layer(inputs)
    set_weights(layer, [0.0, 0.5, 1.0])
    p = layer.module_probabilities()
    trained = ops.convert_to_numpy(layer(inputs, training=True))
    np.testing.assert_allclose(trained.sum(axis=1), 1.0, rtol=1e-5)
    left_out = trained == 0
    assert (left_out[:, 0] == left_out[:, 1]).all()  # one group's modules go together
    assert not left_out.all(axis=1).any()  # a row keeps at least one group
    # each group is left out of half the rows, except where that would empty the row
    assert left_out[:, 0].mean() == pytest.approx(0.25, abs=0.03)
    assert left_out[:, 2].mean() == pytest.approx(0.25, abs=0.03)
    # the kept modules' probabilities, renormalised
    whole = ~left_out.any(axis=1)
    np.testing.assert_allclose(trained[whole], np.tile(p, (whole.sum(), 1)), rtol=1e-5)
    alone = np.array([*(p[:2] / p[:2].sum()), 0.0])
    np.testing.assert_allclose(
        trained[left_out[:, 2]], np.tile(alone, (left_out[:, 2].sum(), 1)), rtol=1e-5
    )
    served = ops.convert_to_numpy(layer(inputs))  # no dropout outside training
    np.testing.assert_allclose(served, np.tile(p, (rows, 1)), rtol=1e-6)


def test_a_rate_per_module_leaves_out_only_the_modules_that_have_one():
    layer = SparseAttentionWeighting(
        num_modules=3, module_dropout=[0.0, 0.0, 0.5], dropout_groups=[0, 0, 1]
    )
    rows = 4000
    inputs = [np.tile(np.eye(3, dtype="float32")[i], (rows, 1)) for i in range(3)]
    layer(inputs)
    p = layer.module_probabilities()
    trained = ops.convert_to_numpy(layer(inputs, training=True))
    left_out = trained == 0
    assert not left_out[:, :2].any()  # a rate of 0: never left out
    assert left_out[:, 2].mean() == pytest.approx(0.5, abs=0.03)
    alone = np.array([*(p[:2] / p[:2].sum()), 0.0])
    np.testing.assert_allclose(
        trained[left_out[:, 2]], np.tile(alone, (left_out[:, 2].sum(), 1)), rtol=1e-5
    )
    assert layer.get_config()["module_dropout"] == [0.0, 0.0, 0.5]


@pytest.mark.parametrize("normalizer", ["softmax", "sparsemax"])
def test_initial_shares_are_the_probabilities_the_modules_start_from(normalizer):
    # a branch of two members beside two single modules: each branch starts with a third
    shares = [0.5, 0.5, 1.0, 1.0]
    layer = SparseAttentionWeighting(
        num_modules=4, temperature=0.1, normalizer=normalizer, initial_shares=shares
    )
    layer(random_inputs(4, (2, 3)))
    np.testing.assert_allclose(
        layer.module_probabilities(), [1 / 6, 1 / 6, 1 / 3, 1 / 3], atol=1e-6
    )
    assert SparseAttentionWeighting.from_config(layer.get_config()).initial_shares == shares


def test_module_prices_add_what_the_weighted_modules_cost_and_push_weight_away():
    layer = SparseAttentionWeighting(num_modules=3, module_prices=[0.0, 0.0, 0.5])
    data = random_inputs(3, (8, 2))
    layer(data)
    set_weights(layer, [0.0, 0.5, 1.0])
    p = layer.module_probabilities()
    layer(data)
    assert layer.losses == []  # outside training the loss is the model's own
    layer(data, training=True)
    assert float(ops.convert_to_numpy(layer.losses[-1])) == pytest.approx(0.5 * p[2], rel=1e-5)
    layer.price_scale.assign(0.3)  # the trainer's share of the loss (training.prices)
    layer(data, training=True)
    assert float(ops.convert_to_numpy(layer.losses[-1])) == pytest.approx(0.15 * p[2], rel=1e-5)
    layer.price_scale.assign(1.0)
    # the price alone (the output's loss is zero) moves weight off the priced module
    inputs = [keras.Input((2,)) for _ in range(3)]
    model = keras.Model(inputs, layer(inputs))
    model.compile(keras.optimizers.SGD(0.5), loss=lambda y, out: 0.0 * ops.sum(out))
    model.fit(data, np.zeros((8, 2)), epochs=20, verbose=0)
    assert layer.module_probabilities()[2] < p[2] / 2


# ----------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_modules": 0}, "num_modules must be a positive integer, got 0"),
        ({"num_modules": -2}, "num_modules must be a positive integer, got -2"),
        ({"num_modules": 2.5}, "num_modules must be a positive integer, got 2.5"),
        ({"num_modules": 2, "temperature": 0}, "temperature must be a positive number, got 0"),
        ({"num_modules": 2, "temperature": -1.0}, "temperature must be a positive number"),
        ({"num_modules": 2, "normalizer": "max"}, "normalizer must be one of"),
        ({"num_modules": 2, "project_to": 0}, "project_to must be None or a positive integer"),
        ({"num_modules": 2, "penalty": "l2"}, "penalty must be None or one of"),
        ({"num_modules": 2, "penalty_weight": -1}, "penalty_weight must be a number >= 0"),
        ({"num_modules": 2, "module_dropout": 1.0}, r"module_dropout must be in \[0, 1\)"),
        ({"num_modules": 2, "dropout_groups": [0]}, "dropout_groups needs one integer per"),
        ({"num_modules": 2, "module_dropout": [0.5]}, r"one number or one per module \(2\)"),
        (
            {"num_modules": 2, "module_dropout": [0.0, 0.5], "dropout_groups": [0, 0]},
            "the modules of dropout group 0 need one rate",
        ),
        ({"num_modules": 2, "module_prices": [0.1, -1]}, "module_prices needs one number >= 0"),
        ({"num_modules": 2, "initial_shares": [1, 0]}, "initial_shares needs one number > 0"),
    ],
)
def test_bad_arguments_raise_value_error_with_a_message(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SparseAttentionWeighting(**kwargs)


def test_wrong_number_of_inputs_raises():
    layer = SparseAttentionWeighting(num_modules=3)
    with pytest.raises(ValueError, match=r"built for num_modules=3 inputs but got 2"):
        layer(random_inputs(2, (4, 3)))
    layer(random_inputs(3, (4, 3)))
    with pytest.raises(ValueError, match=r"num_modules=3 inputs but got 4"):
        layer(random_inputs(4, (4, 3)))


def test_single_tensor_and_rank_one_inputs_raise():
    with pytest.raises(ValueError, match="expects a list of 2 tensors"):
        SparseAttentionWeighting(num_modules=2)(np.ones((4, 3), "float32"))
    built = SparseAttentionWeighting(num_modules=2)
    built(random_inputs(2, (4, 3)))
    with pytest.raises(ValueError, match=r"expects a list of 2 tensors, got a single input"):
        built(np.ones((4, 3), "float32"))
    with pytest.raises(ValueError, match="rank >= 2"):
        SparseAttentionWeighting(num_modules=2)([np.ones(3, "float32")] * 2)


def test_module_probabilities_before_build_says_what_to_do():
    with pytest.raises(ValueError, match="call it on its 2 inputs"):
        SparseAttentionWeighting(num_modules=2).module_probabilities()
