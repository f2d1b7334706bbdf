"""Sparsemax (Martins & Astudillo, 2016): a softmax that can give exact zeros.

Our own, because ``keras.ops.sparsemax`` in keras 3.15 sums the cumulative sums over the
whole support instead of taking the one at its end, so its output does not even sum to 1
(for ``[0.5, 0.2, -1.0, 0.9]`` it returns ``[0, 0, 0, 0.25]``; the answer is
``[0.3, 0, 0, 0.7]``).
"""

from keras import ops


def sparsemax(logits, axis=-1):
    """Euclidean projection of ``logits`` onto the probability simplex along ``axis``.

    The result sums to 1 along ``axis``, and entries below a data-dependent threshold
    are exactly 0. Gradients follow automatically: inside the support they are the
    identity minus the support mean, outside they are 0. The size of ``axis`` must be
    known when the function is traced.
    """
    logits = ops.convert_to_tensor(logits)
    rank = len(logits.shape)
    axis = axis % rank
    z = ops.moveaxis(logits, axis, -1) if axis != rank - 1 else logits
    size = z.shape[-1]
    if size is None:
        raise ValueError(
            "sparsemax needs the size of the normalised axis to be known; "
            f"got a tensor of shape {tuple(logits.shape)} with axis={axis} unknown."
        )
    z_sorted = ops.top_k(z, size, sorted=True)[0]
    cumulative = ops.cumsum(z_sorted, axis=-1)
    ranks = ops.cast(ops.arange(1, size + 1), z.dtype)
    # Support size k(z) = max{j : 1 + j * z_(j) > sum_{i <= j} z_(i)}; always >= 1.
    in_support = ops.cast(1.0 + ranks * z_sorted > cumulative, "int32")
    support_size = ops.sum(in_support, axis=-1, keepdims=True)
    support_sum = ops.take_along_axis(cumulative, support_size - 1, axis=-1)
    threshold = (support_sum - 1.0) / ops.cast(support_size, z.dtype)
    # Outside the support the answer is exactly 0; computing z - threshold there can
    # leave float round-off (1e-8) instead. Ties with the smallest kept value are kept.
    smallest_kept = ops.take_along_axis(z_sorted, support_size - 1, axis=-1)
    probabilities = ops.where(z >= smallest_kept, ops.maximum(z - threshold, 0.0), 0.0)
    return ops.moveaxis(probabilities, -1, axis) if axis != rank - 1 else probabilities
