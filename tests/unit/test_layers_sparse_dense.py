"""SparseDenseMultiHeadAttention against a numpy top-k reference and keras MultiHeadAttention."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

import sattn_dash.layers.sparse_dense_attention as sparse_dense_module
from sattn_dash.layers import SparseAttentionWeighting, SparseDenseMultiHeadAttention

B, T, S, D, HEADS, KEY_DIM = 2, 7, 9, 6, 2, 3


def numpy_sparse_dense(layer, query, value, key=None, mask=None):
    """Reference: project, score, keep each query's top_k valid keys (ties to the lower
    index), softmax over them, weight the values, project out; no valid key -> zeros."""
    key = value if key is None else key
    weights = {
        name: [ops.convert_to_numpy(w).astype("float64") for w in dense.weights]
        for name, dense in (
            ("q", layer.query_dense),
            ("k", layer.key_dense),
            ("v", layer.value_dense),
            ("o", layer.output_dense),
        )
    }
    single_token = query.ndim == 2
    query = query[:, None] if single_token else query
    q = np.einsum("btd,dnh->btnh", query, weights["q"][0]) + weights["q"][1]
    k = np.einsum("bsd,dnh->bsnh", key, weights["k"][0]) + weights["k"][1]
    v = np.einsum("bsd,dnh->bsnh", value, weights["v"][0]) + weights["v"][1]
    scores = np.einsum("btnh,bsnh->bnts", q, k) / np.sqrt(layer.key_dim)
    batch, heads, queries, keys = scores.shape
    valid = np.ones((batch, queries, keys), bool) if mask is None else mask
    valid = np.broadcast_to(valid, (batch, queries, keys))
    attention = np.zeros_like(scores)
    for b in range(batch):
        for t in range(queries):
            candidates = np.flatnonzero(valid[b, t])
            for n in range(heads):
                ranked = scores[b, :, t].mean(0) if layer.selection == "shared" else scores[b, n, t]
                order = sorted(candidates, key=lambda s, r=ranked: (-r[s], s))[: layer.top_k]
                if order:
                    e = np.exp(scores[b, n, t, order] - scores[b, n, t, order].max())
                    attention[b, n, t, order] = e / e.sum()
    context = np.einsum("bnts,bsnh->btnh", attention, v)
    output = np.einsum("btnh,nhd->btd", context, weights["o"][0]) + weights["o"][1]
    output = output * valid.any(-1)[..., None]
    return (output[:, 0] if single_token else output), attention


def random(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def make_mask(seed=0):
    """A per-query mask with a query that sees nothing and one that sees fewer keys
    than top_k."""
    mask = np.random.default_rng(seed).random((B, T, S)) < 0.6
    mask[0, 1] = False
    mask[1, 2] = False
    mask[1, 2, [3, 7]] = True
    return mask


def built_layer(**kwargs):
    kwargs.setdefault("top_k", 3)
    layer = SparseDenseMultiHeadAttention(HEADS, KEY_DIM, **kwargs)
    layer(random((B, T, D)), random((B, S, D)))
    # Nonzero biases, so a mixed-up bias would show.
    for dense in (layer.query_dense, layer.key_dense, layer.value_dense, layer.output_dense):
        dense.bias.assign(random(dense.bias.shape, seed=7) * 0.1)
    return layer


@pytest.fixture(params=["masked", "gather"])
def path(request, monkeypatch):
    """Both ways to attend: mask the full score matrix, or gather the chosen keys."""
    if request.param == "gather":
        monkeypatch.setattr(sparse_dense_module, "_GATHER_ABOVE_KEYS_PER_CHOSEN", 0)
    return request.param


def to_numpy(x):
    return ops.convert_to_numpy(x)


# ------------------------------------------------------------- numeric reference
@pytest.mark.parametrize("selection", ["per_head", "shared"])
@pytest.mark.parametrize("masking", ["none", "attention_mask", "keras_masks"])
@pytest.mark.parametrize("chunk", [None, 3])
def test_matches_numpy_top_k_reference(selection, masking, chunk, path):
    layer = built_layer(selection=selection, query_chunk_size=chunk)
    query, value, key = random((B, T, D), 1), random((B, S, D), 2), random((B, S, D), 3)
    kwargs, mask = {}, None
    if masking == "attention_mask":
        mask = make_mask()
        kwargs["attention_mask"] = mask
    elif masking == "keras_masks":
        query_mask = np.arange(T)[None] < np.array([[T], [4]])
        value_mask = np.arange(S)[None] < np.array([[2], [S]])  # 2 valid keys < top_k
        kwargs.update(query_mask=query_mask, value_mask=value_mask)
        mask = query_mask[:, :, None] & value_mask[:, None, :]
    output, scores = layer(query, value, key, return_attention_scores=True, **kwargs)
    expected_output, expected_scores = numpy_sparse_dense(layer, query, value, key, mask)
    np.testing.assert_allclose(to_numpy(output), expected_output, atol=1e-5)
    np.testing.assert_allclose(to_numpy(scores), expected_scores, atol=1e-6)
    np.testing.assert_allclose(
        to_numpy(layer(query, value, key, **kwargs)), expected_output, atol=1e-5
    )


def test_exactly_k_eff_keys_per_query_and_masked_keys_never_chosen(path):
    layer = built_layer(top_k=3)
    mask = make_mask()
    query, value = random((B, T, D), 1), random((B, S, D), 2)
    _, scores = layer(query, value, attention_mask=mask, return_attention_scores=True)
    scores = to_numpy(scores)
    chosen = (scores > 0).sum(-1)  # (B, N, T)
    expected = np.minimum(3, mask.sum(-1))[:, None, :]
    np.testing.assert_array_equal(chosen, np.broadcast_to(expected, chosen.shape))
    assert (scores[np.broadcast_to(~mask[:, None], scores.shape)] == 0).all()
    np.testing.assert_allclose(
        scores.sum(-1), np.broadcast_to(expected > 0, chosen.shape), atol=1e-6
    )


def test_ties_go_to_the_lower_key_index(path):
    layer = built_layer(top_k=3, selection="per_head")
    # Every key scores exactly 0. Equal keys from equal values are not enough: the
    # projection's matmul can round them differently by position (1 ulp on this CPU),
    # and top_k then breaks the "tie" by that round-off.
    for weight in layer.key_dense.weights:
        weight.assign(np.zeros(weight.shape, "float32"))
    value = random((B, S, D))
    mask = np.ones((B, T, S), bool)
    mask[:, :, 1] = False
    indices, weights = layer.compact_attention(random((B, T, D)), value, attention_mask=mask)
    np.testing.assert_array_equal(to_numpy(indices), np.broadcast_to([0, 2, 3], (B, HEADS, T, 3)))
    np.testing.assert_allclose(to_numpy(weights), 1 / 3, atol=1e-6)


def test_compact_form_matches_dense_scores_and_marks_empty_slots():
    layer = built_layer(top_k=4, selection="shared")
    mask = make_mask()
    query, value = random((B, T, D), 1), random((B, S, D), 2)
    _, dense = layer(query, value, attention_mask=mask, return_attention_scores=True)
    indices, weights = layer.compact_attention(query, value, attention_mask=mask)
    indices, weights, dense = to_numpy(indices), to_numpy(weights), to_numpy(dense)
    assert indices.shape == weights.shape == (B, HEADS, T, 4)
    assert (indices[:, 0] == indices[:, 1]).all()  # shared: one set for every head
    rebuilt = np.zeros_like(dense)
    for b, n, t, j in np.ndindex(indices.shape):
        if indices[b, n, t, j] >= 0:
            rebuilt[b, n, t, indices[b, n, t, j]] = weights[b, n, t, j]
    np.testing.assert_allclose(rebuilt, dense, atol=1e-6)
    empty = indices < 0
    assert empty[0, :, 1].all() and (weights[empty] == 0).all()  # query 1 sees no key
    assert empty[1, :, 2, 2:].all() and not empty[1, :, 2, :2].any()  # two valid keys


def test_a_query_with_no_valid_key_outputs_zeros_with_finite_gradients(path):
    layer = built_layer(query_chunk_size=3)
    mask = make_mask()
    query, value = tf.constant(random((B, T, D), 1)), tf.constant(random((B, S, D), 2))
    with tf.GradientTape() as tape:
        tape.watch([query, value])
        output = layer(query, value, attention_mask=mask)
        loss = ops.sum(output**2)
    gradients = tape.gradient(loss, [query, value, *layer.trainable_weights])
    assert (to_numpy(output)[0, 1] == 0).all()
    assert np.isfinite(to_numpy(output)).all()
    assert all(np.isfinite(to_numpy(g)).all() for g in gradients)


def test_gradients_flow_through_the_selected_scores(path):
    """The query and key projections reach the loss only through the kept scores: their
    gradients must be nonzero and match central differences (in float64, with steps
    small enough to keep the same selection)."""
    keras.utils.set_random_seed(0)
    layer = built_layer(top_k=3, dtype="float64")
    query, value = random((B, T, D), 1), random((B, S, D), 2)
    selection = to_numpy(layer.compact_attention(query, value)[0])
    with tf.GradientTape() as tape:
        loss = ops.sum(layer(query, value) ** 2)
    query_kernel, key_kernel = layer.query_dense.kernel, layer.key_dense.kernel
    analytic = tape.gradient(loss, [query_kernel, key_kernel])
    for variable, gradient in zip((query_kernel, key_kernel), analytic, strict=True):
        gradient = to_numpy(gradient)
        assert np.abs(gradient).max() > 1e-4
        index = np.unravel_index(np.abs(gradient).argmax(), gradient.shape)
        original = to_numpy(variable).copy()
        losses = []
        for step in (1e-5, -1e-5):
            nudged = original.copy()
            nudged[index] += step
            variable.assign(nudged)
            np.testing.assert_array_equal(
                to_numpy(layer.compact_attention(query, value)[0]), selection
            )
            losses.append(float(ops.sum(layer(query, value) ** 2)))
        variable.assign(original)
        np.testing.assert_allclose((losses[0] - losses[1]) / 2e-5, gradient[index], rtol=1e-4)


# --------------------------------------------------- same function as keras MHA
@pytest.mark.parametrize("selection", ["per_head", "shared"])
@pytest.mark.parametrize("chunk", [None, 4])
def test_top_k_covering_all_keys_is_multi_head_attention(selection, chunk, path):
    options = {"value_dim": 4, "output_shape": 5}
    mha = keras.layers.MultiHeadAttention(HEADS, KEY_DIM, **options)
    ours = SparseDenseMultiHeadAttention(
        HEADS, KEY_DIM, top_k=S, selection=selection, query_chunk_size=chunk, **options
    )
    query, value, key = random((B, T, D), 1), random((B, S, D), 2), random((B, S, D), 3)
    mha(query, value, key)
    ours(query, value, key)
    weights = [random(w.shape, seed=i) * 0.5 for i, w in enumerate(mha.weights)]
    mha.set_weights(weights)
    ours.set_weights(weights)
    mask = make_mask()
    mask[:, :, 0] = True  # MultiHeadAttention outputs its bias where nothing is visible
    for kwargs in ({}, {"attention_mask": mask}):
        expected, expected_scores = mha(query, value, key, return_attention_scores=True, **kwargs)
        output, scores = ours(query, value, key, return_attention_scores=True, **kwargs)
        np.testing.assert_allclose(to_numpy(output), to_numpy(expected), atol=1e-5)
        np.testing.assert_allclose(to_numpy(scores), to_numpy(expected_scores), atol=1e-6)
        np.testing.assert_allclose(
            to_numpy(ours(query, value, key, **kwargs)),
            to_numpy(mha(query, value, key, **kwargs)),
            atol=1e-5,
        )


def test_keras_masks_are_honoured_like_multi_head_attention():
    ids = keras.Input((None,), dtype="int32")
    embedded = keras.layers.Embedding(20, D, mask_zero=True)(ids)
    mha_out = keras.layers.MultiHeadAttention(HEADS, KEY_DIM, name="mha")(embedded, embedded)
    ours_out = SparseDenseMultiHeadAttention(HEADS, KEY_DIM, top_k=50, name="ours")(
        embedded, embedded
    )
    assert ours_out._keras_mask is not None  # the query's mask is carried on
    model = keras.Model(ids, [mha_out, ours_out])
    model.get_layer("ours").set_weights(model.get_layer("mha").get_weights())
    data = np.array([[3, 4, 5, 0, 0], [6, 7, 8, 9, 1]])
    mha_result, ours_result = (to_numpy(x) for x in model(data))
    np.testing.assert_allclose(ours_result[:, :3], mha_result[:, :3], atol=1e-5)
    np.testing.assert_allclose(ours_result[1], mha_result[1], atol=1e-5)
    assert (ours_result[0, 3:] == 0).all()  # padded queries see no key


# ------------------------------------------------------------------- chunking
@pytest.mark.parametrize("selection", ["per_head", "shared"])
def test_chunked_equals_unchunked_in_graph_mode(selection, path):
    whole = built_layer(selection=selection)
    chunked = SparseDenseMultiHeadAttention(
        HEADS, KEY_DIM, top_k=3, selection=selection, query_chunk_size=3
    )
    query, value = random((B, T, D), 1), random((B, S, D), 2)
    chunked(query, value)
    chunked.set_weights(whole.get_weights())
    mask = make_mask()

    @tf.function
    def run(layer):
        output, scores = layer(query, value, attention_mask=mask, return_attention_scores=True)
        return output, scores, *layer.compact_attention(query, value, attention_mask=mask)

    for a, b in zip(run(whole), run(chunked), strict=True):
        np.testing.assert_allclose(to_numpy(a), to_numpy(b), atol=1e-6)


def test_unknown_lengths_and_fewer_keys_than_top_k():
    """Lengths unknown when the model is built: chunks and key padding are dynamic."""
    query_in, value_in = keras.Input((None, D)), keras.Input((None, D))
    layer = SparseDenseMultiHeadAttention(HEADS, KEY_DIM, top_k=4, query_chunk_size=3)
    model = keras.Model([query_in, value_in], layer(query_in, value_in))
    for_each = tf.function(lambda q, v: model([q, v]), reduce_retracing=True)
    for queries, keys in ((7, 2), (5, 9)):
        query, value = random((B, queries, D), queries), random((B, keys, D), keys)
        expected, _ = numpy_sparse_dense(layer, query, value)
        np.testing.assert_allclose(to_numpy(for_each(query, value)), expected, atol=1e-5)


# -------------------------------------------------------- one token per row / sparse
def test_two_dimensional_query_is_one_token_per_row():
    layer = SparseDenseMultiHeadAttention(HEADS, KEY_DIM, top_k=3, output_shape=4)
    query, value = random((B, 11), 1), random((B, S, D), 2)
    output, scores = layer(query, value, return_attention_scores=True)
    assert output.shape == (B, 4) and scores.shape == (B, HEADS, 1, S)
    expected, _ = numpy_sparse_dense(layer, query, value)
    np.testing.assert_allclose(to_numpy(output), expected, atol=1e-5)


def test_sparse_query_is_projected_without_densifying(monkeypatch):
    layer = SparseDenseMultiHeadAttention(HEADS, KEY_DIM, top_k=3, output_shape=4)
    rng = np.random.default_rng(0)
    dense_query = np.where(rng.random((B, 40)) < 0.1, rng.normal(size=(B, 40)), 0).astype("float32")
    sparse_query = tf.sparse.from_dense(dense_query)
    value = tf.constant(random((B, S, D), 2))
    expected = to_numpy(layer(dense_query, value))

    def refuse(*args, **kwargs):
        raise AssertionError("the sparse query was densified")

    monkeypatch.setattr(tf.sparse, "to_dense", refuse)
    np.testing.assert_allclose(to_numpy(layer(sparse_query, value)), expected, atol=1e-6)

    query_in, value_in = keras.Input((40,), sparse=True), keras.Input((S, D))
    model = keras.Model([query_in, value_in], layer(query_in, value_in))
    model.compile("sgd", "mse")
    history = model.fit([sparse_query, value], np.zeros((B, 4)), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


# --------------------------------------------------------- Keras layer checks
CONFIGS = [
    {"num_heads": 2, "key_dim": 3, "top_k": 2},
    {
        "num_heads": 3,
        "key_dim": 4,
        "top_k": 5,
        "value_dim": 2,
        "dropout": 0.1,
        "selection": "shared",
        "query_chunk_size": 4,
        "output_shape": (3, 2),
        "use_bias": False,
        "kernel_initializer": "he_normal",
        "kernel_regularizer": "l2",
        "seed": 3,
    },
]


@pytest.mark.parametrize("config", CONFIGS)
def test_config_round_trip(config):
    layer = SparseDenseMultiHeadAttention(**config)
    config_out = layer.get_config()
    rebuilt = SparseDenseMultiHeadAttention.from_config(config_out)
    assert rebuilt.get_config() == config_out
    for name in ("num_heads", "top_k", "selection", "query_chunk_size", "output_shape", "seed"):
        assert config_out[name] == config.get(name, config_out[name])
    serialized = keras.saving.serialize_keras_object(layer)
    assert serialized["registered_name"] == "sattn_dash>SparseDenseMultiHeadAttention"


@pytest.mark.parametrize("config", CONFIGS)
def test_symbolic_and_eager_shapes_agree(config):
    layer = SparseDenseMultiHeadAttention(**config)
    output, scores = layer(keras.Input((T, D)), keras.Input((S, D)), return_attention_scores=True)
    eager_output, eager_scores = layer(
        random((B, T, D)), random((B, S, D)), return_attention_scores=True
    )
    assert tuple(eager_output.shape) == (B, *output.shape[1:])
    assert tuple(eager_scores.shape) == (B, *scores.shape[1:]) == (B, config["num_heads"], T, S)
    assert layer.compute_output_shape((B, T, D), (B, S, D)) == tuple(eager_output.shape)


def test_model_with_both_layers_reloads_with_identical_predictions(reload_keras_model):
    keras.utils.set_random_seed(0)
    features = keras.Input((8,))
    tokens = keras.layers.Reshape((4, 2))(features)
    tokens = keras.layers.Dense(D)(tokens)
    attended = SparseDenseMultiHeadAttention(
        HEADS, KEY_DIM, top_k=2, selection="shared", query_chunk_size=3, name="attention"
    )(tokens, tokens)
    branches = [keras.layers.GlobalAveragePooling1D()(attended), keras.layers.Dense(D)(features)]
    combined = SparseAttentionWeighting(num_modules=2, name="combiner")(branches)
    model = keras.Model(features, keras.layers.Dense(1)(combined))
    model.compile("adam", "mse")
    data = random((16, 8))
    model.fit(data, random((16, 1)), epochs=1, verbose=0)
    restored = reload_keras_model(model)
    np.testing.assert_array_equal(to_numpy(model(data)), to_numpy(restored(data)))
    assert isinstance(restored.get_layer("attention"), SparseDenseMultiHeadAttention)
    assert restored.get_layer("attention").get_config() == model.get_layer("attention").get_config()


@pytest.mark.parametrize("jit_compile", [False, True], ids=["graph", "xla"])
def test_a_training_step_updates_every_weight(jit_compile):
    keras.utils.set_random_seed(0)
    query_in, value_in = keras.Input((T, D)), keras.Input((S, D))
    layer = SparseDenseMultiHeadAttention(
        HEADS, KEY_DIM, top_k=2, dropout=0.2, query_chunk_size=3, selection="shared"
    )
    model = keras.Model([query_in, value_in], layer(query_in, value_in))
    model.compile(keras.optimizers.SGD(0.1), "mse", jit_compile=jit_compile)
    before = [to_numpy(w).copy() for w in layer.trainable_weights]
    inputs = [random((8, T, D), 1), random((8, S, D), 2)]
    history = model.fit(inputs, random((8, T, D), 3), epochs=2, batch_size=4, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    for old, new in zip(before, layer.trainable_weights, strict=True):
        if new.path.endswith("key/bias"):
            continue  # q . b_key is the same for every key: softmax ignores it (as in MHA)
        assert not np.allclose(old, to_numpy(new)), new.path


def test_dropout_only_in_training():
    layer = built_layer(dropout=0.5, seed=1, query_chunk_size=3)
    query, value = random((B, T, D), 1), random((B, S, D), 2)
    inference = to_numpy(layer(query, value, training=False))
    expected, _ = numpy_sparse_dense(layer, query, value)
    np.testing.assert_allclose(inference, expected, atol=1e-5)
    training = to_numpy(layer(query, value, training=True))
    assert np.isfinite(training).all() and not np.allclose(training, inference)


def test_mixed_precision_computes_in_float16_with_a_float32_softmax():
    layer = built_layer(dtype="mixed_float16", query_chunk_size=3)
    query, value = random((B, T, D), 1), random((B, S, D), 2)
    output, scores = layer(query, value, return_attention_scores=True)
    assert to_numpy(output).dtype == np.float16 and to_numpy(scores).dtype == np.float16
    assert layer.query_dense.kernel.dtype == "float32"
    expected, expected_scores = numpy_sparse_dense(layer, query, value)
    np.testing.assert_allclose(to_numpy(output).astype("float64"), expected, atol=2e-2)
    np.testing.assert_allclose(to_numpy(scores).astype("float64"), expected_scores, atol=5e-3)


# ----------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_heads": 0}, "num_heads must be a positive integer, got 0"),
        ({"key_dim": -1}, "key_dim must be a positive integer, got -1"),
        ({"top_k": 0}, "top_k must be a positive integer, got 0"),
        ({"top_k": 2.0}, "top_k must be a positive integer, got 2.0"),
        ({"value_dim": 0}, "value_dim must be a positive integer, got 0"),
        ({"query_chunk_size": 0}, "query_chunk_size must be a positive integer, got 0"),
        ({"dropout": 1.0}, r"dropout must be a number in \[0, 1\), got 1.0"),
        ({"selection": "global"}, "selection must be one of"),
        ({"output_shape": (3, 0)}, "output_shape must be None, a positive integer"),
    ],
)
def test_bad_arguments_raise_value_error_with_a_message(kwargs, message):
    arguments = {"num_heads": 2, "key_dim": 3, "top_k": 2, **kwargs}
    with pytest.raises(ValueError, match=message):
        SparseDenseMultiHeadAttention(**arguments)


@pytest.mark.parametrize(
    ("query_shape", "value_shape", "key_shape", "message"),
    [
        ((B, 2, T, D), (B, S, D), None, "query must be"),
        ((B, T, D), (B, S), None, "value and key must be"),
        ((B, T, D), (B, S, D), (B, S + 1, D), "same number of keys"),
    ],
)
def test_bad_input_shapes_raise_value_error_with_a_message(
    query_shape, value_shape, key_shape, message
):
    layer = SparseDenseMultiHeadAttention(2, 3, top_k=2)
    key = None if key_shape is None else random(key_shape)
    with pytest.raises(ValueError, match=message):
        layer(random(query_shape), random(value_shape), key)
