"""sparsemax against a plain numpy reference (Martins & Astudillo 2016, Algorithm 1)."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from sattn_dash.layers import sparsemax


def numpy_sparsemax(z):
    """Reference along the last axis: sort, find the support size, shift, clip."""
    z = np.asarray(z, dtype="float64")
    flat = z.reshape(-1, z.shape[-1])
    out = np.zeros_like(flat)
    for row, values in enumerate(flat):
        ordered = np.sort(values)[::-1]
        cumulative = np.cumsum(ordered)
        ranks = np.arange(1, len(values) + 1)
        support = ranks[1 + ranks * ordered > cumulative].max()
        threshold = (cumulative[support - 1] - 1) / support
        out[row] = np.maximum(values - threshold, 0.0)
    return out.reshape(z.shape)


def test_worked_example_where_keras_ops_sparsemax_is_wrong():
    logits = np.array([0.5, 0.2, -1.0, 0.9], "float32")
    ours = ops.convert_to_numpy(sparsemax(logits))
    np.testing.assert_allclose(ours, [0.3, 0.0, 0.0, 0.7], atol=1e-6)
    assert ours[1] == 0.0 and ours[2] == 0.0  # exact zeros, not round-off
    keras_result = ops.convert_to_numpy(keras.ops.sparsemax(logits))
    assert abs(keras_result.sum() - 1.0) > 0.5  # the bug this module exists for


@pytest.mark.parametrize("shape", [(7,), (5, 9), (3, 4, 6)])
def test_matches_numpy_reference_and_lies_on_the_simplex(shape):
    logits = np.random.default_rng(len(shape)).normal(scale=2.0, size=shape).astype("float32")
    ours = ops.convert_to_numpy(sparsemax(logits))
    np.testing.assert_allclose(ours, numpy_sparsemax(logits), atol=1e-6)
    np.testing.assert_allclose(ours.sum(axis=-1), 1.0, atol=1e-6)
    assert (ours >= 0).all()
    reference_zeros = numpy_sparsemax(logits) == 0
    assert reference_zeros.any()
    assert (ours[reference_zeros] == 0.0).all()


def test_other_axes_match_the_last_axis_result():
    logits = np.random.default_rng(1).normal(size=(4, 6, 3)).astype("float32")
    along_middle = ops.convert_to_numpy(sparsemax(logits, axis=1))
    expected = np.moveaxis(numpy_sparsemax(np.moveaxis(logits, 1, -1)), -1, 1)
    np.testing.assert_allclose(along_middle, expected, atol=1e-6)


def test_ties_and_uniform_inputs():
    np.testing.assert_allclose(ops.convert_to_numpy(sparsemax(np.ones(4, "float32"))), 0.25)
    tied_top = ops.convert_to_numpy(sparsemax(np.array([2.0, 2.0, -3.0], "float32")))
    np.testing.assert_allclose(tied_top, [0.5, 0.5, 0.0])


def test_gradient_is_the_support_centred_identity():
    logits = tf.constant([0.5, 0.2, -1.0, 0.9])
    with tf.GradientTape() as tape:
        tape.watch(logits)
        probabilities = sparsemax(logits)
    jacobian = tape.jacobian(probabilities, logits).numpy()
    support = np.array([1.0, 0.0, 0.0, 1.0])
    expected = np.diag(support) - np.outer(support, support) / support.sum()
    np.testing.assert_allclose(jacobian, expected, atol=1e-6)


def test_unknown_axis_size_is_refused_with_a_message():
    @tf.function(input_signature=[tf.TensorSpec((2, None))])
    def traced(x):
        return sparsemax(x)

    with pytest.raises(ValueError, match="size of the normalised axis to be known"):
        traced.get_concrete_function()
