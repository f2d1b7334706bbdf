"""SparseDenseMultiHeadAttention: multi-head attention where each query keeps its top-k keys.

Zhao et al. 2019 (Explicit Sparse Transformer) for the selection; Gupta et al. 2021
(Memory-efficient Transformers via Top-k Attention) for the memory: queries are processed
in chunks, the keys are chosen on scores that carry no gradient, and the softmax, the
weighted sum and every gradient then touch only the k chosen keys and values, gathered
by index. Peak memory grows with chunk x keys, not queries x keys (TensorFlow may run a
few chunks at once), and backward costs O(queries x k) instead of O(queries x keys). For
short key sequences, where a gather costs more than it saves, the layer masks the full
score matrix instead.

The projections are the ``EinsumDense`` layers of ``keras.layers.MultiHeadAttention``
(same names, equations, shapes and order), so weights copy across 1:1, and with
``top_k >= number of keys`` both layers compute the same function.
"""

import math
from typing import NamedTuple

import keras
from keras import ops

from sattn_dash.layers._checks import check_positive_int
from sattn_dash.layers.options import SELECTIONS

# Gather the chosen keys and values when there are more than this many keys per chosen
# one; below it, masking the full (queries x keys) score matrix is faster. Measured on
# CPU, forward+backward, batch 8, 4 heads, top_k 16: masking won at 64 and 128 keys,
# gathering at 256 (1.76x vs 1.93x dense time) and 512 (1.25x vs 2.25x).
_GATHER_ABOVE_KEYS_PER_CHOSEN = 8
_MASKED_LOGIT = -1e30


@keras.saving.register_keras_serializable(package="sattn_dash")
class SparseDenseMultiHeadAttention(keras.layers.Layer):
    """Multi-head attention in which each query attends only to its ``top_k`` keys.

    Called like ``keras.layers.MultiHeadAttention``:
    ``layer(query, value, key=None, attention_mask=None, return_attention_scores=False,
    training=None)``. Keras masks on ``query``, ``value`` and ``key`` are honoured.

    - scores = Q K^T / sqrt(key_dim); each query keeps exactly
      k_eff = min(top_k, number of keys it may see) of them, ties going to the lower key
      index; masked keys are never kept; softmax over the kept scores; weighted sum of
      the values; output projection.
    - ``selection="per_head"``: each head picks its own keys. ``"shared"``: one set per
      query, picked on the head-averaged scores and used by every head (cheaper).
    - A query that may see no key outputs zeros (``MultiHeadAttention`` outputs the
      output bias there).
    - ``query_chunk_size``: process this many queries at a time (``None``: all at once).
    - ``query`` may be 2-D ``(batch, features)``: one query token per row, output
      ``(batch, output features)``. On the TensorFlow backend it may then be a
      ``tf.SparseTensor`` (e.g. bag-of-words rows); it is projected with a sparse matmul,
      never densified.

    ``return_attention_scores=True`` returns ``(output, scores)`` with scores
    ``(batch, heads, queries, keys)``, zero outside the selection.
    ``compact_attention(...)`` returns the same as ``(indices, weights)`` of shape
    ``(batch, heads, queries, k)``, index -1 and weight 0 in slots beyond k_eff.
    """

    def __init__(
        self,
        num_heads,
        key_dim,
        top_k,
        value_dim=None,
        dropout=0.0,
        selection="per_head",
        query_chunk_size=None,
        output_shape=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_positive_int("num_heads", num_heads)
        check_positive_int("key_dim", key_dim)
        check_positive_int("top_k", top_k)
        if value_dim is not None:
            check_positive_int("value_dim", value_dim)
        if query_chunk_size is not None:
            check_positive_int("query_chunk_size", query_chunk_size)
        if not (isinstance(dropout, int | float) and 0.0 <= dropout < 1.0):
            raise ValueError(f"dropout must be a number in [0, 1), got {dropout!r}.")
        if selection not in SELECTIONS:
            raise ValueError(f"selection must be one of {SELECTIONS}, got {selection!r}.")
        if output_shape is not None:
            output_shape = (output_shape,) if isinstance(output_shape, int) else output_shape
            if not isinstance(output_shape, list | tuple) or not all(
                isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in output_shape
            ):
                raise ValueError(
                    "output_shape must be None, a positive integer or a tuple of them, "
                    f"got {output_shape!r}."
                )
            output_shape = tuple(output_shape)
        self.num_heads = num_heads
        self.key_dim = key_dim
        self.value_dim = value_dim or key_dim
        self.top_k = top_k
        self.dropout = float(dropout)
        self.selection = selection
        self.query_chunk_size = query_chunk_size
        self.projection_shape = output_shape
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        self.sublayer_activity_regularizer = keras.regularizers.get(activity_regularizer)
        self.kernel_constraint = keras.constraints.get(kernel_constraint)
        self.bias_constraint = keras.constraints.get(bias_constraint)
        self.seed = seed
        self.supports_masking = True

    # ----------------------------------------------------------------------- build
    def build(self, query_shape, value_shape, key_shape=None):
        query_shape, value_shape, key_shape = self._check_shapes(
            query_shape, value_shape, key_shape
        )
        token_query_shape = _as_token_sequence(query_shape)
        heads = [self.num_heads, self.key_dim]
        self._query_dense = self._projection("abc,cde->abde", (None, *heads), "de", "query")
        self._query_dense.build(token_query_shape)
        self._key_dense = self._projection("abc,cde->abde", (None, *heads), "de", "key")
        self._key_dense.build(key_shape)
        value_heads = (None, self.num_heads, self.value_dim)
        self._value_dense = self._projection("abc,cde->abde", value_heads, "de", "value")
        self._value_dense.build(value_shape)
        self._dropout_layer = keras.layers.Dropout(
            rate=self.dropout, dtype=self.dtype_policy, seed=self.seed
        )
        output_dims = self.projection_shape or (query_shape[-1],)
        letters = "efghijklmnopqrstuvwxyz"[: len(output_dims)]
        self._output_dense = self._projection(
            f"abcd,cd{letters}->ab{letters}", (None, *output_dims), letters, "attention_output"
        )
        self._output_dense.build(
            (token_query_shape[0], token_query_shape[1], self.num_heads, self.value_dim)
        )

    @property
    def query_dense(self):
        return self._query_dense

    @property
    def key_dense(self):
        return self._key_dense

    @property
    def value_dense(self):
        return self._value_dense

    @property
    def output_dense(self):
        return self._output_dense

    def _projection(self, equation, output_shape, bias_axes, name):
        return keras.layers.EinsumDense(
            equation,
            output_shape=output_shape,
            bias_axes=bias_axes if self.use_bias else None,
            name=name,
            kernel_initializer=_fresh(self.kernel_initializer),
            bias_initializer=_fresh(self.bias_initializer),
            kernel_regularizer=self.kernel_regularizer,
            bias_regularizer=self.bias_regularizer,
            activity_regularizer=self.sublayer_activity_regularizer,
            kernel_constraint=self.kernel_constraint,
            bias_constraint=self.bias_constraint,
            dtype=self.dtype_policy,
        )

    def _check_shapes(self, query_shape, value_shape, key_shape):
        query_shape = tuple(query_shape)
        value_shape = tuple(value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        if len(query_shape) not in (2, 3):
            raise ValueError(
                "query must be (batch, queries, features) or (batch, features) for one "
                f"token per row; got shape {query_shape}."
            )
        if len(value_shape) != 3 or len(key_shape) != 3:
            raise ValueError(
                "value and key must be (batch, keys, features); got value shape "
                f"{value_shape} and key shape {key_shape}."
            )
        if None not in (value_shape[1], key_shape[1]) and value_shape[1] != key_shape[1]:
            raise ValueError(
                f"value and key must have the same number of keys; got value shape "
                f"{value_shape} and key shape {key_shape}."
            )
        return query_shape, value_shape, key_shape

    # ------------------------------------------------------------------------ call
    def call(
        self,
        query,
        value,
        key=None,
        query_mask=None,
        value_mask=None,
        key_mask=None,
        attention_mask=None,
        return_attention_scores=False,
        training=None,
    ):
        mode = "dense_scores" if return_attention_scores else "output"
        result = self._run(
            query, value, key, query_mask, value_mask, key_mask, attention_mask, training, mode
        )
        context, has_key = result[0], result[-1]
        output = self._output_dense(context)
        if has_key is not None:
            trailing = (1,) * (len(output.shape) - 2)
            has_key = ops.reshape(has_key, (*ops.shape(has_key), *trailing))
            output = output * ops.cast(has_key, output.dtype)
        if _is_single_token(query):
            output = output[:, 0]
        if return_attention_scores:
            return output, result[1]
        return output

    def compact_attention(
        self,
        query,
        value,
        key=None,
        attention_mask=None,
        query_mask=None,
        value_mask=None,
        key_mask=None,
    ):
        """The selection as ``(indices, weights)``, each ``(batch, heads, queries, k)``.

        ``k = min(top_k, keys)``; slots beyond a query's k_eff hold index -1 and weight 0.
        Keras masks are not read from eager arrays here: pass them as ``*_mask``.
        """
        query, value, key = (
            x if x is None else self.dtype_policy.convert_input(x, self.autocast, self.input_dtype)
            for x in (query, value, key)
        )
        if not self.built:
            self.build(query.shape, value.shape, None if key is None else key.shape)
        indices, weights, _ = self._run(
            query, value, key, query_mask, value_mask, key_mask, attention_mask, False, "compact"
        )
        return indices, weights

    def _run(
        self, query, value, key, query_mask, value_mask, key_mask, attention_mask, training, mode
    ):
        """Project, mask and attend; returns the chunk outputs of ``mode`` plus has_key."""
        value = _without_keras_mask(value, value_mask)
        key = value if key is None else _without_keras_mask(key, key_mask)
        mask = _combined_mask(
            query,
            query_mask,
            value_mask,
            key_mask,
            attention_mask,
        )
        q = self._project_query(_without_keras_mask(query, query_mask))
        k = self._key_dense(key)
        v = self._value_dense(value)
        q = q * ops.cast(1.0 / math.sqrt(self.key_dim), q.dtype)
        num_keys = k.shape[1]
        if num_keys is None:
            k, v, mask = _pad_keys(k, v, mask, self.top_k)
        outputs = self._attend(q, k, v, mask, training, mode)
        if num_keys is None and mode == "dense_scores":
            outputs = (outputs[0], outputs[1][..., : ops.shape(value)[1]])
        has_key = None if mask is None else ops.any(mask, axis=-1)  # (B, T or 1)
        return (*outputs, has_key)

    def _project_query(self, query):
        if not _is_single_token(query):
            return self._query_dense(query)
        if _is_sparse(query):
            kernel = ops.cast(self._query_dense.kernel, self.compute_dtype)
            features = kernel.shape[0]
            flat_kernel = ops.reshape(kernel, (features, self.num_heads * self.key_dim))
            projected = ops.matmul(query, flat_kernel)
            projected = ops.reshape(projected, (-1, 1, self.num_heads, self.key_dim))
            if self.use_bias:
                projected = projected + ops.cast(self._query_dense.bias, projected.dtype)
            return projected
        return self._query_dense(query[:, None, :])

    # ------------------------------------------------------------------- attention
    def _attend(self, q, k, v, mask, training, mode):
        """Chunk the queries (if asked) and attend each chunk to its top-k keys."""
        keys = self._prepare_keys(k, v, mode)
        num_queries = q.shape[1]
        chunk = self.query_chunk_size
        if chunk is None or (num_queries is not None and num_queries <= chunk):
            return self._attend_chunk(q, mask, keys, training, mode)

        per_query_mask = mask is not None and mask.shape[1] != 1
        batch = ops.shape(q)[0]
        total = ops.shape(q)[1]
        if num_queries is not None:
            chunks = -(-num_queries // chunk)
            padding = chunks * chunk - num_queries
        else:
            chunks = (total + chunk - 1) // chunk
            padding = chunks * chunk - total
        q = _pad_axis(q, 1, padding)
        q_chunks = ops.moveaxis(
            ops.reshape(q, (batch, chunks, chunk, self.num_heads, self.key_dim)), 1, 0
        )
        xs = [q_chunks]
        if per_query_mask:
            mask = _pad_axis(mask, 1, padding)
            xs.append(ops.moveaxis(ops.reshape(mask, (batch, chunks, chunk, -1)), 1, 0))

        def attend_chunk(chunk_inputs):
            chunk_mask = chunk_inputs[1] if per_query_mask else mask
            return self._attend_chunk(chunk_inputs[0], chunk_mask, keys, training, mode)

        # ops.map is a while loop that XLA can differentiate (ops.scan's TensorFlow loop
        # has no iteration bound, so its gradient does not compile); it lets TensorFlow
        # overlap a few chunks, which bench/bench_layers.py measures.
        ys = ops.map(attend_chunk, tuple(xs))
        return tuple(
            _unchunk(y, query_axis, total)
            for y, query_axis in zip(ys, _query_axes(mode), strict=True)
        )

    def _prepare_keys(self, k, v, mode):
        """The key and value layouts every chunk uses, made once (transposes cost)."""
        num_keys = k.shape[1]
        chosen = self.top_k if num_keys is None else min(self.top_k, num_keys)
        masked_path = (
            mode != "compact"
            and num_keys is not None
            and num_keys <= _GATHER_ABOVE_KEYS_PER_CHOSEN * chosen
        )
        ranking = heads = values_heads = None
        if self.selection == "shared":
            flat = ops.reshape(k, (ops.shape(k)[0], -1, self.num_heads * self.key_dim))
            ranking = ops.transpose(flat, (0, 2, 1))  # (B, N*H, S)
        if self.selection == "per_head" or masked_path:
            heads = ops.transpose(k, (0, 2, 3, 1))  # (B, N, H, S)
        if masked_path:
            values_heads = ops.transpose(v, (0, 2, 1, 3))  # (B, N, S, Hv)
        return _Keys(k, v, chosen, masked_path, ranking, heads, values_heads)

    def _attend_chunk(self, q, mask, keys, training, mode):
        """Attend a chunk of queries q (B, Tc, N, H) to the keys.

        ``mask`` is None or boolean (B, Tc or 1, S). Returns, by ``mode``: ``"output"``
        (context (B, Tc, N, Hv),), ``"dense_scores"`` (context, scores (B, N, Tc, S)),
        ``"compact"`` (indices, weights) of shape (B, N, Tc, k).
        """
        head_scores = None
        if keys.heads is not None:
            head_scores = ops.matmul(ops.transpose(q, (0, 2, 1, 3)), keys.heads)  # B,N,Tc,S
        if self.selection == "shared":
            # The mean over heads of q_n . k_n is (q . k over all heads) / N: one matmul
            # into (B, Tc, S) instead of (B, N, Tc, S); the 1/N does not change ranks.
            flat_q = ops.reshape(q, (ops.shape(q)[0], -1, self.num_heads * self.key_dim))
            ranked = ops.matmul(flat_q, keys.ranking)[:, None]
        else:
            ranked = head_scores
        indices, valid = _top_k(ranked, mask, keys.chosen)
        if keys.masked_path:
            keep = ops.any(_chosen_keys(indices, keys.v.shape[1], "bool"), axis=-2)
            if mask is not None:
                keep = ops.logical_and(keep, mask[:, None])  # top_k fills up with masked keys
            return self._attend_masked(head_scores, keep, keys, training, mode)
        k_rows = _gather_rows(keys.k, indices)  # (B, Tc, k, N, H)
        logits = ops.sum(q[:, :, None] * k_rows, axis=-1)  # (B, Tc, k, N)
        weights = _masked_softmax(logits, valid, axis=2, dtype=q.dtype)
        heads_first = ops.transpose(weights, (0, 3, 1, 2))  # (B, N, Tc, k)
        if mode == "compact":
            index_heads_first = ops.transpose(indices, (0, 3, 1, 2))
            if valid is not None:
                index_heads_first = ops.where(
                    ops.transpose(valid, (0, 3, 1, 2)), index_heads_first, -1
                )
            return (ops.broadcast_to(index_heads_first, ops.shape(heads_first)), heads_first)
        v_rows = _gather_rows(keys.v, indices)  # (B, Tc, k, N, Hv)
        dropped = self._dropout_layer(weights, training=training)
        context = ops.sum(dropped[..., None] * v_rows, axis=2)  # (B, Tc, N, Hv)
        if mode == "output":
            return (context,)
        chosen_keys = _chosen_keys(indices, ops.shape(keys.v)[1], q.dtype)
        return (context, ops.sum(heads_first[..., None] * chosen_keys, axis=-2))

    def _attend_masked(self, head_scores, keep, keys, training, mode):
        """Softmax over the full score matrix with everything outside ``keep`` masked.

        Faster than gathering when there are few keys per chosen key.
        """
        weights = _masked_softmax(head_scores, keep, axis=-1, dtype=keys.v.dtype)
        dropped = self._dropout_layer(weights, training=training)
        context = ops.transpose(ops.matmul(dropped, keys.values_heads), (0, 2, 1, 3))
        return (context,) if mode == "output" else (context, weights)

    # ------------------------------------------------------------- shapes, config
    def compute_output_shape(self, query_shape, value_shape, key_shape=None):
        query_shape, _, _ = self._check_shapes(query_shape, value_shape, key_shape)
        if self.projection_shape:
            return query_shape[:-1] + self.projection_shape
        return query_shape

    def compute_output_spec(
        self,
        query,
        value,
        key=None,
        query_mask=None,
        value_mask=None,
        key_mask=None,
        attention_mask=None,
        return_attention_scores=False,
        training=None,
    ):
        output_shape = self.compute_output_shape(
            query.shape, value.shape, None if key is None else key.shape
        )
        output = keras.KerasTensor(output_shape, dtype=self.compute_dtype)
        if not return_attention_scores:
            return output
        queries = 1 if len(query.shape) == 2 else query.shape[1]
        scores_shape = (query.shape[0], self.num_heads, queries, value.shape[1])
        return output, keras.KerasTensor(scores_shape, dtype=self.compute_dtype)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "key_dim": self.key_dim,
                "top_k": self.top_k,
                "value_dim": self.value_dim,
                "dropout": self.dropout,
                "selection": self.selection,
                "query_chunk_size": self.query_chunk_size,
                "output_shape": self.projection_shape,
                "use_bias": self.use_bias,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
                "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": keras.regularizers.serialize(self.bias_regularizer),
                "activity_regularizer": keras.regularizers.serialize(
                    self.sublayer_activity_regularizer
                ),
                "kernel_constraint": keras.constraints.serialize(self.kernel_constraint),
                "bias_constraint": keras.constraints.serialize(self.bias_constraint),
                "seed": self.seed,
            }
        )
        return config


# ----------------------------------------------------------------------- helpers
def _fresh(initializer):
    """A new initializer instance, so sub-layers do not share one (and its seed)."""
    return initializer.__class__.from_config(initializer.get_config())


def _is_sparse(x):
    return getattr(x, "sparse", False) or type(x).__name__ == "SparseTensor"


def _is_single_token(query):
    return len(query.shape) == 2


def _as_token_sequence(query_shape):
    return (query_shape[0], 1, query_shape[1]) if len(query_shape) == 2 else query_shape


def _without_keras_mask(x, mask):
    """A mask-free handle on ``x``, so sub-layers do not warn that they drop the mask."""
    return x if mask is None or _is_sparse(x) else ops.copy(x)


def _combined_mask(query, query_mask, value_mask, key_mask, attention_mask):
    """One boolean mask (B, T or 1, S) from the Keras masks and ``attention_mask``."""
    mask = None
    if query_mask is not None and not _is_single_token(query):
        mask = ops.cast(query_mask, "bool")[:, :, None]
    for keys_mask in (value_mask, key_mask):
        if keys_mask is not None:
            keys_mask = ops.cast(keys_mask, "bool")[:, None, :]
            mask = keys_mask if mask is None else ops.logical_and(mask, keys_mask)
    if attention_mask is not None:
        attention_mask = ops.cast(attention_mask, "bool")
        if len(attention_mask.shape) == 2:
            attention_mask = attention_mask[:, None, :]
        mask = attention_mask if mask is None else ops.logical_and(mask, attention_mask)
    return mask


def _pad_keys(k, v, mask, count):
    """Append ``count`` masked-out keys, so top-k always has enough to choose from."""
    batch, keys = ops.shape(k)[0], ops.shape(k)[1]
    k = _pad_axis(k, 1, count)
    v = _pad_axis(v, 1, count)
    real = ops.arange(keys + count) < keys
    padded_mask = ops.broadcast_to(real[None, None, :], (batch, 1, keys + count))
    if mask is not None:
        mask = ops.logical_and(_pad_axis(mask, 2, count), padded_mask)
    else:
        mask = padded_mask
    return k, v, mask


def _pad_axis(x, axis, count):
    """Append ``count`` zeros (False for booleans) along ``axis``; count may be a tensor."""
    if isinstance(count, int) and count == 0:
        return x
    shape = list(ops.shape(x))
    shape[axis] = count
    return ops.concatenate([x, ops.zeros(shape, x.dtype)], axis=axis)


class _Keys(NamedTuple):
    """Keys and values in the layouts the chunks need; None where a layout is unused."""

    k: object  # (B, S, N, H), rows gathered by index
    v: object  # (B, S, N, Hv)
    chosen: int  # keys kept per query: min(top_k, S)
    masked_path: bool  # mask the full score matrix instead of gathering
    ranking: object  # shared selection: (B, N*H, S)
    heads: object  # per-head scores: (B, N, H, S)
    values_heads: object  # masked path: (B, N, S, Hv)


def _top_k(ranked, mask, chosen):
    """Indices (B, Tc, k, G) of the top ``chosen`` of ranked (B, G, Tc, S), no gradient.

    Ties go to the lower index (top_k is stable). ``valid`` marks the chosen keys that
    are not masked (None without a mask): with fewer valid keys than ``chosen``, top_k
    has to fill the rest with masked ones.
    """
    if mask is not None:
        ranked = ops.where(mask[:, None], ranked, float("-inf"))
    values, indices = ops.top_k(ops.stop_gradient(ranked), chosen)
    indices = ops.transpose(indices, (0, 2, 3, 1))
    valid = None
    if mask is not None:
        valid = ops.transpose(values > float("-inf"), (0, 2, 3, 1))
    return indices, valid


def _gather_rows(x, indices):
    """Rows of x (B, S, N, D) at indices (B, Tc, k, G): (B, Tc, k, N, D).

    G = 1 takes whole key rows (all heads at once); G = N takes one head's row each.
    """
    batch, keys = ops.shape(x)[0], ops.shape(x)[1]
    heads, depth = x.shape[2], x.shape[3]
    offsets = ops.reshape(ops.arange(batch, dtype="int32") * keys, (-1, 1, 1, 1))
    rows = indices + offsets
    if indices.shape[-1] == 1:
        return ops.take(ops.reshape(x, (-1, heads, depth)), rows[..., 0], axis=0)
    rows = rows * heads + ops.arange(heads, dtype="int32")
    return ops.take(ops.reshape(x, (-1, depth)), rows, axis=0)


def _chosen_keys(indices, num_keys, dtype):
    """One-hot of indices (B, Tc, k, G) over the keys: (B, G, Tc, k, S) of ``dtype``."""
    heads_first = ops.transpose(indices, (0, 3, 1, 2))
    hits = ops.equal(heads_first[..., None], ops.arange(num_keys, dtype=indices.dtype))
    return hits if dtype == "bool" else ops.cast(hits, dtype)


def _masked_softmax(logits, keep, axis, dtype):
    """Softmax in float32 or wider over ``axis`` where ``keep``; rows with nothing kept
    give zeros."""
    logits = ops.cast(logits, keras.backend.result_type(logits.dtype, "float32"))
    if keep is None:
        return ops.cast(ops.softmax(logits, axis=axis), dtype)
    weights = ops.softmax(ops.where(keep, logits, _MASKED_LOGIT), axis=axis)
    anything_kept = ops.any(keep, axis=axis, keepdims=True)
    return ops.cast(ops.where(anything_kept, weights, 0.0), dtype)


def _query_axes(mode):
    """Where the query axis sits in each chunk output of ``mode``."""
    return {"output": (1,), "dense_scores": (1, 2), "compact": (2, 2)}[mode]


def _unchunk(y, query_axis, total):
    """(chunks, ..., chunk, ...) stacked by ops.map -> (..., chunks * chunk, ...)[:total]."""
    y = ops.moveaxis(y, 0, query_axis)  # chunks now right before the chunk axis
    shape = list(ops.shape(y))
    merged = shape[:query_axis] + [-1] + shape[query_axis + 2 :]
    y = ops.reshape(y, merged)
    return ops.slice(y, [0] * len(merged), shape[:query_axis] + [total] + shape[query_axis + 2 :])
