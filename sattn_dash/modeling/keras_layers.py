"""The small Keras layers a built model needs besides ``sattn_dash.layers``.

They are registered so a saved ``.keras`` model reloads without the spec, and they keep
the feature names they were built with, so analysis can label tokens and columns from the
model alone.
"""

from __future__ import annotations

import keras
from keras import ops

# By module, not by name: it may still be loading when the first Keras import registers
# every sattn-dash layer (sattn_dash._keras_registration).
import sattn_dash.layers.sparse_dense_attention as sparse_dense

__all__ = [
    "BranchRouter",
    "CategoricalEncoding",
    "ColumnSelect",
    "EnsembleMember",
    "FeatureTokenizer",
    "StackMembers",
    "TargetRescale",
    "TokenPool",
    "embedding_width",
]


@keras.saving.register_keras_serializable(package="sattn_dash")
class ColumnSelect(keras.layers.Layer):
    """Picks a branch's columns out of the shared ``features`` input, by position."""

    def __init__(self, indices, feature_names=None, **kwargs):
        super().__init__(**kwargs)
        self.indices = [int(i) for i in indices]
        if not self.indices:
            raise ValueError("ColumnSelect needs at least one column position.")
        self.feature_names = list(feature_names) if feature_names is not None else None

    def call(self, inputs):
        return ops.take(inputs, self.indices, axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], len(self.indices))

    def get_config(self):
        return {
            **super().get_config(),
            "indices": self.indices,
            "feature_names": self.feature_names,
        }


@keras.saving.register_keras_serializable(package="sattn_dash")
class FeatureTokenizer(keras.layers.Layer):
    """FT-Transformer feature tokenizer: one ``d_token`` vector per input feature.

    A numeric feature ``x_j`` becomes ``x_j * W_j + b_j``; an integer-coded categorical
    feature (``categorical[j]`` codes including 0 = unknown; codes outside count as
    unknown) looks up its own embedding table and adds ``b_j``. With
    ``cls_token`` a learned CLS vector is put in front, so the output is
    ``(batch, [1 +] n_features, d_token)``.
    """

    def __init__(
        self,
        d_token,
        categorical=None,
        cls_token=True,
        feature_names=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.d_token = int(d_token)
        # JSON turns int keys into strings; accept both.
        self.categorical = {int(k): int(v) for k, v in (categorical or {}).items()}
        self.cls_token = bool(cls_token)
        self.feature_names = list(feature_names) if feature_names is not None else None

    def build(self, input_shape):
        n = int(input_shape[-1])
        self.n_features = n
        self._categorical_positions = sorted(self.categorical)
        self._numeric_positions = [j for j in range(n) if j not in self.categorical]
        # Tokens are made numeric-first, categorical-second; this puts them back in order.
        made = self._numeric_positions + self._categorical_positions
        self._order = [made.index(j) for j in range(n)]
        scale = 1.0 / self.d_token**0.5
        init = keras.initializers.RandomUniform(-scale, scale)
        if self._numeric_positions:
            self.numeric_weight = self.add_weight(
                name="numeric_weight",
                shape=(len(self._numeric_positions), self.d_token),
                initializer=init,
            )
        if self._categorical_positions:
            sizes = [self.categorical[j] for j in self._categorical_positions]
            self._offsets = [sum(sizes[:i]) for i in range(len(sizes))]
            self._max_codes = [s - 1 for s in sizes]
            self.embeddings = self.add_weight(
                name="embeddings", shape=(sum(sizes), self.d_token), initializer=init
            )
        self.bias = self.add_weight(name="bias", shape=(n, self.d_token), initializer=init)
        if self.cls_token:
            self.cls = self.add_weight(name="cls", shape=(self.d_token,), initializer=init)

    def call(self, inputs):
        x = ops.cast(inputs, self.compute_dtype)
        tokens = []
        if self._numeric_positions:
            numeric = ops.take(x, self._numeric_positions, axis=-1)
            tokens.append(ops.expand_dims(numeric, -1) * self.numeric_weight)
        if self._categorical_positions:
            codes = ops.round(ops.take(x, self._categorical_positions, axis=-1))
            maximum = ops.convert_to_tensor(self._max_codes, x.dtype)
            codes = ops.where((codes < 0) | (codes > maximum), ops.zeros_like(codes), codes)
            codes = ops.cast(codes, "int32") + ops.convert_to_tensor(self._offsets, "int32")
            tokens.append(ops.take(self.embeddings, codes, axis=0))
        tokens = tokens[0] if len(tokens) == 1 else ops.concatenate(tokens, axis=1)
        tokens = ops.take(tokens, self._order, axis=1) + self.bias
        if self.cls_token:
            cls = ops.broadcast_to(self.cls, (ops.shape(x)[0], 1, self.d_token))
            tokens = ops.concatenate([ops.cast(cls, tokens.dtype), tokens], axis=1)
        return tokens

    def compute_output_shape(self, input_shape):
        return (input_shape[0], int(input_shape[-1]) + int(self.cls_token), self.d_token)

    def token_names(self) -> list[str]:
        """Labels of the output tokens: ``[CLS]`` then the feature names."""
        names = self.feature_names or [f"feature {j}" for j in range(self.n_features)]
        return (["[CLS]"] if self.cls_token else []) + list(names)

    def get_config(self):
        return {
            **super().get_config(),
            "d_token": self.d_token,
            "categorical": {str(k): v for k, v in self.categorical.items()},
            "cls_token": self.cls_token,
            "feature_names": self.feature_names,
        }


@keras.saving.register_keras_serializable(package="sattn_dash")
class TokenPool(keras.layers.Layer):
    """Turns ``(batch, tokens, d)`` into ``(batch, d)``: the CLS token or the mean."""

    def __init__(self, mode="cls", **kwargs):
        super().__init__(**kwargs)
        if mode not in ("cls", "mean"):
            raise ValueError(f"TokenPool mode must be 'cls' or 'mean', got {mode!r}.")
        self.mode = mode

    def call(self, inputs):
        return inputs[:, 0, :] if self.mode == "cls" else ops.mean(inputs, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


@keras.saving.register_keras_serializable(package="sattn_dash")
class TargetRescale(keras.layers.Layer):
    """Maps a standardised regression output back to the target's own units."""

    def __init__(self, mean=0.0, std=1.0, **kwargs):
        super().__init__(**kwargs)
        self.mean = float(mean)
        self.std = float(std)

    def call(self, inputs):
        return inputs * self.std + self.mean

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "std": self.std}


@keras.saving.register_keras_serializable(package="sattn_dash")
class BranchRouter(keras.layers.Layer):
    """The ``sparse_dense`` combiner: each sample picks its ``top_k`` branches.

    Called on ``[features, branch_1, ..., branch_n]``. Each branch output is projected to
    ``token_dim`` and becomes a token; a query made from the input features attends to
    the tokens with SparseDenseMultiHeadAttention, so each sample (and head) keeps only
    its ``top_k`` branches. While training:

    - noisy gating (Shazeer et al. 2017): the query gets Gaussian noise with a learned,
      per-sample scale ``softplus(features W_noise)``, so near-ties are explored;
    - the Switch-Transformer load-balancing loss ``n * sum_i f_i * P_i`` (``f_i``: share of
      selections that went to branch i, ``P_i``: mean router probability of branch i over
      all branches) times ``load_balance_weight`` is added with ``add_loss``: it is
      smallest when the branches are used equally, so routing cannot collapse onto one.

    All heads share each sample's selection, so exactly ``top_k`` branches get weight.
    ``return_routing=True`` returns ``(output, routing, scores)``: routing
    ``(batch, n)`` is the head-averaged weight of each branch (zero where not chosen,
    rows sum to 1), scores ``(batch, heads, 1, n)`` the attention scores.
    """

    def __init__(
        self,
        num_branches,
        top_k=2,
        num_heads=2,
        key_dim=16,
        token_dim=32,
        noisy_gating=True,
        load_balance_weight=0.01,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_branches = int(num_branches)
        self.top_k = int(top_k)
        self.num_heads = int(num_heads)
        self.key_dim = int(key_dim)
        self.token_dim = int(token_dim)
        self.noisy_gating = bool(noisy_gating)
        self.load_balance_weight = float(load_balance_weight)
        self.seed = seed
        if not 1 <= self.top_k <= self.num_branches:
            raise ValueError(f"top_k must be between 1 and {self.num_branches}, got {top_k}.")
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        features_shape, *branch_shapes = [tuple(s) for s in input_shape]
        if len(branch_shapes) != self.num_branches:
            raise ValueError(
                f"BranchRouter was built for {self.num_branches} branches but got "
                f"{len(branch_shapes)} (after the features)."
            )
        dense = keras.layers.Dense
        self.query = dense(self.token_dim, dtype=self.dtype_policy, name="query")
        self.query.build(features_shape)
        if self.noisy_gating:
            self.noise_scale = dense(self.token_dim, dtype=self.dtype_policy, name="noise_scale")
            self.noise_scale.build(features_shape)
        self.tokens = []
        for i, shape in enumerate(branch_shapes):
            projection = dense(self.token_dim, dtype=self.dtype_policy, name=f"token_{i}")
            projection.build(shape)
            self.tokens.append(projection)
        self.attention = sparse_dense.SparseDenseMultiHeadAttention(
            num_heads=self.num_heads,
            key_dim=self.key_dim,
            top_k=self.top_k,
            selection="shared",  # every head uses the sample's same top_k branches
            dtype=self.dtype_policy,
            name="attention",
        )
        token_shape = (features_shape[0], self.num_branches, self.token_dim)
        self.attention.build((features_shape[0], self.token_dim), token_shape)

    def call(self, inputs, training=None, return_routing=False):
        features, *branches = inputs
        tokens = ops.stack([p(b) for p, b in zip(self.tokens, branches, strict=True)], axis=1)
        query = self.query(features)
        if training and self.noisy_gating:
            noise = keras.random.normal(ops.shape(query), seed=self.seed_generator)
            query = query + ops.cast(noise, query.dtype) * ops.softplus(self.noise_scale(features))
        output, scores = self.attention(
            query, tokens, return_attention_scores=True, training=training
        )
        routing = ops.mean(ops.cast(scores[:, :, 0, :], "float32"), axis=1)
        if training and self.load_balance_weight > 0:
            self.add_loss(self.load_balance_weight * self._balance_loss(query, tokens, scores))
        if return_routing:
            return output, routing, scores
        return output

    def _balance_loss(self, query, tokens, scores):
        """Switch-Transformer loss: n * sum_i (share of selections) * (mean probability)."""
        attention = self.attention
        q = attention.query_dense(query[:, None, :])  # (batch, 1, heads, key_dim)
        k = attention.key_dense(tokens)  # (batch, n, heads, key_dim)
        logits = ops.einsum("bqhd,bkhd->bhqk", q, k) / self.key_dim**0.5
        probabilities = ops.softmax(ops.cast(logits[:, :, 0, :], "float32"), axis=-1)
        chosen = ops.cast(ops.stop_gradient(scores[:, 0, 0, :]) > 0, "float32")
        share = ops.mean(chosen, axis=0) / self.top_k
        mean_probability = ops.mean(probabilities, axis=(0, 1))
        return self.num_branches * ops.sum(share * mean_probability)

    def compute_output_spec(self, inputs, training=None, return_routing=False):
        features = inputs[0]
        batch = features.shape[0]
        output = keras.KerasTensor((batch, self.token_dim), dtype=self.compute_dtype)
        if not return_routing:
            return output
        routing = keras.KerasTensor((batch, self.num_branches), dtype="float32")
        scores = keras.KerasTensor(
            (batch, self.num_heads, 1, self.num_branches), dtype=self.compute_dtype
        )
        return output, routing, scores

    def get_config(self):
        return {
            **super().get_config(),
            "num_branches": self.num_branches,
            "top_k": self.top_k,
            "num_heads": self.num_heads,
            "key_dim": self.key_dim,
            "token_dim": self.token_dim,
            "noisy_gating": self.noisy_gating,
            "load_balance_weight": self.load_balance_weight,
            "seed": self.seed,
        }


def embedding_width(levels: int) -> int:
    """The default embedding width for a column of ``levels`` codes (0 included):
    fast.ai's rule ``1.6 * n^0.56``, kept between 2 and 16."""
    return int(min(16, max(2, round(1.6 * levels**0.56))))


@keras.saving.register_keras_serializable(package="sattn_dash")
class CategoricalEncoding(keras.layers.Layer):
    """Integer-coded categorical columns -> one learned vector (or one-hot) per column.

    Called on the code columns only (``(batch, n)``); ``levels[j]`` counts column j's
    codes including the reserved 0 (unknown or missing). Codes are rounded, and any code
    outside ``0..levels[j]-1`` (a level never seen in training, a NaN) reads as 0, so no
    code ever reaches a later layer as a magnitude. Output: the columns' vectors
    concatenated, ``(batch, sum(widths))``; ``mode="one_hot"`` uses width ``levels[j]``.
    """

    def __init__(self, levels, mode="embedding", widths=None, feature_names=None, **kwargs):
        super().__init__(**kwargs)
        if mode not in ("embedding", "one_hot"):
            raise ValueError(f"mode must be 'embedding' or 'one_hot', got {mode!r}.")
        self.levels = [int(n) for n in levels]
        if not self.levels or min(self.levels) < 1:
            raise ValueError(f"levels must be a non-empty list of counts >= 1, got {levels!r}.")
        self.mode = mode
        if widths is None:
            widths = [embedding_width(n) for n in self.levels]
        self.widths = [int(w) for w in widths] if mode == "embedding" else list(self.levels)
        self.feature_names = list(feature_names) if feature_names is not None else None
        self._offsets = [sum(self.levels[:i]) for i in range(len(self.levels))]

    def build(self, input_shape):
        if self.mode == "embedding":
            self.tables = [
                self.add_weight(
                    name=f"embedding_{j}",
                    shape=(n, w),
                    initializer=keras.initializers.RandomNormal(stddev=1.0 / w**0.5),
                )
                for j, (n, w) in enumerate(zip(self.levels, self.widths, strict=True))
            ]

    def codes(self, inputs):
        """The reserved-index codes the layer reads, ``(batch, n)`` int32."""
        x = ops.round(ops.cast(inputs, "float32"))
        top = ops.convert_to_tensor([n - 1 for n in self.levels], "float32")
        bad = ops.logical_not((x >= 0) & (x <= top))  # NaN compares false: also 0
        return ops.cast(ops.where(bad, ops.zeros_like(x), x), "int32")

    def call(self, inputs):
        codes = self.codes(inputs)
        if self.mode == "one_hot":
            parts = [
                ops.one_hot(codes[:, j], n, dtype=self.compute_dtype)
                for j, n in enumerate(self.levels)
            ]
        else:
            parts = [
                ops.cast(ops.take(table, codes[:, j], axis=0), self.compute_dtype)
                for j, table in enumerate(self.tables)
            ]
        return parts[0] if len(parts) == 1 else ops.concatenate(parts, axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], sum(self.widths))

    def get_config(self):
        return {
            **super().get_config(),
            "levels": self.levels,
            "mode": self.mode,
            "widths": self.widths,
            "feature_names": self.feature_names,
        }


@keras.saving.register_keras_serializable(package="sattn_dash")
class EnsembleMember(keras.layers.Layer):
    """Member ``index`` of a ``batch_ensemble`` branch: ``(batch, k, d)`` -> ``(batch, d)``.

    ``branch`` names the spec branch it belongs to, so analysis can find the columns a
    member reads from the model alone.
    """

    def __init__(self, index, branch=None, **kwargs):
        super().__init__(**kwargs)
        self.index = int(index)
        self.branch = branch

    def call(self, inputs):
        return inputs[:, self.index]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *input_shape[2:])

    def get_config(self):
        return {**super().get_config(), "index": self.index, "branch": self.branch}


@keras.saving.register_keras_serializable(package="sattn_dash")
class StackMembers(keras.layers.Layer):
    """A list of k ``(batch, d)`` member outputs -> ``(batch, k, d)``."""

    def call(self, inputs):
        return ops.stack(list(inputs), axis=1)

    def compute_output_shape(self, input_shape):
        first = tuple(input_shape[0])
        return (first[0], len(input_shape), *first[1:])
