"""Embeddings for numeric features (Gorishniy, Rubachev & Babenko, "On Embeddings for
Numerical Features in Tabular Deep Learning", NeurIPS 2022).

An MLP that sees each numeric feature as one number learns step-like or wiggly
dependences on it slowly; mapping every feature to a vector first closes much of the gap
to gradient boosting. Two forms of the paper, as its reference implementation
(``rtdl_num_embeddings``) computes them:

- piecewise-linear encoding over quantile bins: ``quantile_bin_edges`` on the training
  split, then ``PiecewiseLinearEncoding`` (the bare encoding) or
  ``PiecewiseLinearEmbedding`` (a linear map per feature after it: "Q-L", "Q-LR");
- periodic embeddings with learned frequencies: ``PeriodicEmbedding`` ("PLR", "PL",
  and PLR(lite) with one linear map shared by the features).

Inputs are ``(batch, n_features)``, outputs ``(batch, n_features, width)``. The feature
transforms run in float32 even under mixed precision (float16 cannot hold raw values near
bin edges or the phases 2 pi c x precisely); their results are handed on in the layer's
compute dtype.
"""

import math

import keras
import numpy as np
from keras import ops

from sattn_dash.layers._checks import check_positive_int, check_positive_number


# --------------------------------------------------------------------- bin edges
def quantile_bin_edges(X, n_bins):
    """Per column of ``X``, its distinct quantiles at 0, 1/n_bins, ..., 1.

    Fit on the training split only. As rtdl's ``compute_bins``: quantiles with linear
    interpolation, then repeated ones dropped, so a column with few distinct values gets
    fewer bins (never more than ``n_bins``). NaN and +-inf are ignored; repeats are
    dropped as float32, the precision the layers compute in. A column with fewer than
    two distinct finite values gets one bin ``[v, v + max(1, |v|)]`` (``v`` its value, 0
    when it has none): valid edges that carry no information, so the column is harmless.

    Exact NumPy rather than ``keras.layers.Discretization``: that layer's ``adapt``
    estimates quantiles with an approximate summary (error ``epsilon``) and keeps only
    the inner boundaries, not the minimum and maximum the encoding needs.

    Returns a list (one per column) of ascending Python floats, at least 2 each.
    """
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D array (rows, features), got shape {X.shape}.")
    if not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise ValueError(f"X must hold numbers, got dtype {X.dtype}.")
    check_positive_int("n_bins", n_bins)
    levels = np.linspace(0.0, 1.0, n_bins + 1)
    edges = []
    for column in X.astype("float64").T:
        finite = column[np.isfinite(column)]
        quantiles = np.quantile(finite, levels) if finite.size else np.zeros(1)
        distinct = np.unique(quantiles.astype("float32"))
        if distinct.size < 2:
            value = float(distinct[0])
            distinct = np.array([value, value + max(1.0, abs(value))], "float32")
        edges.append([float(e) for e in distinct])
    return edges


class _Bins:
    """Bin edges as the padded arrays the encoding needs, after checking them.

    ``left`` and ``width`` are ``(n_features, max_bins)``; ``lower`` / ``upper`` the
    clipping bounds: -inf below the first bin, +inf above the last, else 0 and 1, and
    0 and 0 in the padding of features with fewer bins, so clipping alone zeroes it.
    """

    def __init__(self, bin_edges):
        if not isinstance(bin_edges, list | tuple) or not bin_edges:
            raise ValueError(
                "bin_edges must be a non-empty list with one list of edges per feature "
                f"(quantile_bin_edges(X_train, n_bins) gives one), got {bin_edges!r}."
            )
        checked = [_checked_edges(index, edges) for index, edges in enumerate(bin_edges)]
        self.edges = [[float(e) for e in edges] for edges in checked]
        self.n_features = len(checked)
        self.bin_counts = [len(edges) - 1 for edges in checked]
        self.max_bins = max(self.bin_counts)
        shape = (self.n_features, self.max_bins)
        self.left = np.zeros(shape, "float32")
        self.width = np.ones(shape, "float32")
        self.lower = np.zeros(shape, "float32")
        self.upper = np.zeros(shape, "float32")
        for feature, edges in enumerate(checked):
            count = len(edges) - 1
            self.left[feature, :count] = edges[:-1]
            self.width[feature, :count] = np.diff(edges)
            self.upper[feature, :count] = 1.0
            self.lower[feature, 0] = -np.inf
            self.upper[feature, count - 1] = np.inf

    def encode(self, x, dtype):
        """(batch, n_features) -> (batch, n_features, max_bins) in ``dtype``, computed
        in the dtype of ``x``. The unclipped first and last bins of a value far outside
        the training range can exceed float16: they saturate (``_saturating_cast``)."""
        left, width, lower, upper = (
            ops.convert_to_tensor(a, x.dtype)
            for a in (self.left, self.width, self.lower, self.upper)
        )
        encoded = ops.minimum(ops.maximum((x[..., None] - left) / width, lower), upper)
        return _saturating_cast(encoded, dtype)


def _saturating_cast(x, dtype):
    """``x`` in ``dtype``, values beyond float16's range held at its largest finite
    value instead of becoming inf."""
    if dtype == "float16":
        limit = float(np.finfo("float16").max)
        x = ops.clip(x, -limit, limit)
    return ops.cast(x, dtype)


def _checked_edges(index, edges):
    try:
        values = np.asarray(edges, "float64")
    except (TypeError, ValueError):
        values = None
    if values is None or values.ndim != 1 or values.size < 2:
        raise ValueError(f"bin_edges[{index}] must be a list of at least 2 numbers, got {edges!r}.")
    as_float32 = values.astype("float32")
    if not np.isfinite(as_float32).all() or (np.diff(as_float32) <= 0).any():
        raise ValueError(
            f"bin_edges[{index}] must be finite and strictly increasing (in float32), "
            f"got {edges!r}; quantile_bin_edges gives valid edges."
        )
    return values


# --------------------------------------------------------------------- layers
class _NumericEmbedding(keras.layers.Layer):
    """What both embeddings share: a float32 input, the input check, the output shape,
    and one linear map per feature."""

    n_features: int
    output_width: int

    @property
    def input_dtype(self):
        # Raw feature values stay float32 under mixed precision (see the module docstring).
        return keras.backend.result_type(self.compute_dtype, "float32")

    def _check_input_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != 2 or input_shape[-1] != self.n_features:
            raise ValueError(
                f"{type(self).__name__} expects inputs of shape (batch, {self.n_features}) "
                f"(one column per feature it was made for), got {input_shape}."
            )
        return input_shape

    def compute_output_shape(self, input_shape):
        batch, features = self._check_input_shape(input_shape)
        return (batch, features, self.output_width)

    def _add_feature_dense(self, per_feature, fan_in, units):
        """Kernel ``(n_features, fan_in, units)`` (or ``(fan_in, units)`` shared) and bias,
        both uniform in +-1/sqrt(fan_in), as rtdl initialises its linear maps."""
        limit = 1.0 / math.sqrt(fan_in)
        leading = (self.n_features,) if per_feature else ()
        kernel = self.add_weight(
            name="kernel",
            shape=(*leading, fan_in, units),
            initializer=keras.initializers.RandomUniform(-limit, limit),
        )
        bias = self.add_weight(
            name="bias",
            shape=(*leading, units),
            initializer=keras.initializers.RandomUniform(-limit, limit),
        )
        return kernel, bias


def _feature_dense(x, kernel, bias):
    """(batch, features, fan_in) -> (batch, features, units), a separate map per feature
    when ``kernel`` is ``(features, fan_in, units)``, one shared when ``(fan_in, units)``."""
    if len(kernel.shape) == 3:
        # A batched matmul over features; measured faster than the equivalent einsum
        # ("bfi,fiu->bfu") forward and backward on CPU.
        per_feature = ops.matmul(ops.transpose(x, (1, 0, 2)), kernel)
        return ops.transpose(per_feature, (1, 0, 2)) + bias
    return ops.matmul(x, kernel) + bias


@keras.saving.register_keras_serializable(package="sattn_dash")
class PiecewiseLinearEncoding(_NumericEmbedding):
    """Piecewise-linear encoding (PLE) of each feature over its bins.

    Component t of feature j is ``(x - e_t) / (e_{t+1} - e_t)`` clipped to [0, 1], except
    that the first bin is not clipped below and the last not clipped above (so values
    outside the training range stay distinguishable); a feature with one bin is not
    clipped at all. Features with fewer bins than the widest are padded with zeros.
    Under ``mixed_float16`` the unclipped ends saturate at +-65504 rather than overflow.

    Args:
        bin_edges: one ascending list of edges per feature, at least 2 each
            (``quantile_bin_edges(X_train, n_bins)``). Stored in the config; not weights.

    Input ``(batch, n_features)``, output ``(batch, n_features, max_bins)``.
    """

    def __init__(self, bin_edges, **kwargs):
        super().__init__(**kwargs)
        self.bins = _Bins(bin_edges)
        self.n_features = self.bins.n_features
        self.output_width = self.bins.max_bins

    def build(self, input_shape):
        self._check_input_shape(input_shape)

    def call(self, inputs):
        return self.bins.encode(inputs, self.compute_dtype)

    def get_config(self):
        config = super().get_config()
        config["bin_edges"] = self.bins.edges
        return config


@keras.saving.register_keras_serializable(package="sattn_dash")
class PiecewiseLinearEmbedding(_NumericEmbedding):
    """The piecewise-linear encoding, then a separate linear map per feature
    ``(max_bins -> units)`` with bias, then ``activation``.

    ``activation="relu"`` is the paper's "Q-LR" embedding, ``"linear"`` its "Q-L".

    With ``start_linear`` (TabM's "version B" of rtdl): a linear embedding of the raw
    value, ``x_j w_j + b_j``, is added, the piecewise map has no bias and starts at
    zero, and ``activation`` applies to the sum. The embedding starts as a plain linear
    one and learns the bends the data supports; on small noisy tables, where the bends
    are mostly noise, it stays close to linear instead of starting from a random
    piecewise function of every feature.

    Args:
        bin_edges: as for ``PiecewiseLinearEncoding``.
        units: width of each feature's embedding.
        activation: a Keras activation (name or function).
        start_linear: add the linear embedding and zero-initialise the piecewise map.

    Input ``(batch, n_features)``, output ``(batch, n_features, units)``. Weights:
    ``kernel (n_features, max_bins, units)`` and ``bias (n_features, units)``; with
    ``start_linear``, ``linear_kernel (n_features, units)`` and ``bias`` instead.
    """

    def __init__(self, bin_edges, units, activation="relu", start_linear=False, **kwargs):
        super().__init__(**kwargs)
        check_positive_int("units", units)
        if not isinstance(start_linear, bool):
            raise ValueError(f"start_linear must be True or False, got {start_linear!r}.")
        self.bins = _Bins(bin_edges)
        self.n_features = self.bins.n_features
        self.units = units
        self.output_width = units
        self.activation = keras.activations.get(activation)
        self.start_linear = start_linear

    def build(self, input_shape):
        self._check_input_shape(input_shape)
        if not self.start_linear:
            self.kernel, self.bias = self._add_feature_dense(
                per_feature=True, fan_in=self.bins.max_bins, units=self.units
            )
            return
        # rtdl's LinearEmbeddings: weight and bias uniform in +-1/sqrt(units).
        limit = 1.0 / math.sqrt(self.units)
        self.linear_kernel, self.bias = (
            self.add_weight(
                name=name,
                shape=(self.n_features, self.units),
                initializer=keras.initializers.RandomUniform(-limit, limit),
            )
            for name in ("linear_kernel", "bias")
        )
        self.kernel = self.add_weight(
            name="kernel",
            shape=(self.n_features, self.bins.max_bins, self.units),
            initializer="zeros",
        )

    def call(self, inputs):
        encoded = self.bins.encode(inputs, self.compute_dtype)
        embedded = _feature_dense(encoded, self.kernel, self.bias)
        if self.start_linear:
            # The raw value is multiplied in float32 (see the module docstring).
            kernel = ops.cast(self.linear_kernel, inputs.dtype)
            embedded = embedded + _saturating_cast(inputs[..., None] * kernel, self.compute_dtype)
        return self.activation(embedded)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "bin_edges": self.bins.edges,
                "units": self.units,
                "activation": keras.activations.serialize(self.activation),
                "start_linear": self.start_linear,
            }
        )
        return config


@keras.saving.register_keras_serializable(package="sattn_dash")
class PeriodicEmbedding(_NumericEmbedding):
    """Periodic embedding with learned frequencies, then a linear map and ``activation``.

    ``v = concat(cos(2 pi c_j x_j), sin(2 pi c_j x_j))`` with trainable frequencies
    ``c (n_features, n_frequencies)``, then a separate Dense per feature
    (``lite=False``, the paper's "PLR"; "PL" with ``activation="linear"``) or one Dense
    shared by all features (``lite=True``, PLR(lite) from the TabR paper).

    Args:
        n_features: number of input columns.
        units: width of each feature's embedding.
        n_frequencies: frequencies per feature (k in the paper).
        sigma: the frequencies start as N(0, sigma) truncated at 3 sigma, as in rtdl.
            The paper's most important setting: larger means wigglier functions of
            each feature from the start (rtdl's default 0.01; 0.1 suits standardised
            inputs with sharp effects).
        lite: share one Dense across features.
        activation: a Keras activation (name or function).

    Input ``(batch, n_features)``, output ``(batch, n_features, units)``. The phases and
    their cos/sin are computed in float32, and ``frequencies`` is never autocast.
    """

    def __init__(
        self,
        n_features,
        units,
        n_frequencies=16,
        sigma=0.1,
        lite=False,
        activation="relu",
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_positive_int("n_features", n_features)
        check_positive_int("units", units)
        check_positive_int("n_frequencies", n_frequencies)
        check_positive_number("sigma", sigma)
        if not isinstance(lite, bool):
            raise ValueError(f"lite must be True or False, got {lite!r}.")
        self.n_features = n_features
        self.units = units
        self.output_width = units
        self.n_frequencies = n_frequencies
        self.sigma = float(sigma)
        self.lite = lite
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        self._check_input_shape(input_shape)
        self.frequencies = self.add_weight(
            name="frequencies",
            shape=(self.n_features, self.n_frequencies),
            initializer=_TruncatedNormal(self.sigma, cutoff=3.0),
            dtype=self.input_dtype,
            autocast=False,
        )
        self.kernel, self.bias = self._add_feature_dense(
            per_feature=not self.lite, fan_in=2 * self.n_frequencies, units=self.units
        )

    def call(self, inputs):
        frequencies = ops.cast(self.frequencies, inputs.dtype)
        phases = (2.0 * math.pi) * frequencies * inputs[..., None]
        periodic = ops.concatenate([ops.cos(phases), ops.sin(phases)], axis=-1)
        periodic = ops.cast(periodic, self.compute_dtype)
        return self.activation(_feature_dense(periodic, self.kernel, self.bias))

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "n_features": self.n_features,
                "units": self.units,
                "n_frequencies": self.n_frequencies,
                "sigma": self.sigma,
                "lite": self.lite,
                "activation": keras.activations.serialize(self.activation),
            }
        )
        return config


class _TruncatedNormal:
    """N(0, stddev) cut at +-cutoff stddevs, drawn by inverting the normal CDF.

    ``keras.initializers.TruncatedNormal`` always cuts at 2 stddevs; rtdl cuts at 3.
    The seed is drawn when the initializer is made, so ``keras.utils.set_random_seed``
    makes it reproducible.
    """

    def __init__(self, stddev, cutoff):
        self.stddev = stddev
        low = 0.5 * (1.0 + math.erf(-cutoff / math.sqrt(2.0)))
        self.uniform = keras.initializers.RandomUniform(low, 1.0 - low)

    def __call__(self, shape, dtype=None):
        u = ops.cast(self.uniform(shape, "float32"), "float32")
        z = math.sqrt(2.0) * ops.erfinv(2.0 * u - 1.0)
        return ops.cast(self.stddev * z, dtype or "float32")
