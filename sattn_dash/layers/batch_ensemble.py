"""BatchEnsemble layers (Wen, Tran & Ba, ICLR 2020) for TabM-style branches (Gorishniy,
Kotelnikov & Babenko, "TabM: Advancing Tabular Deep Learning with Parameter-Efficient
Ensembling", ICLR 2025).

A branch of k members carries one extra axis, ``(batch, k, features)``: ``EnsembleSplit``
makes k copies of the branch's input, then each ``BatchEnsembleDense`` is k Dense layers
that share one kernel and differ by rank-one adapters, for little more than the cost of one
Dense. Each member can then make its own prediction, so the combiners can weigh them.

Adapter initialisation, as the papers' code does it:

- ``"random_signs"``: r and s random +-1, as in BatchEnsemble and TabM's "TabM-naive";
- ``"input_signs"``: r random +-1, s ones: TabM's first layer (the only place TabM
  makes the members differ at the start);
- ``"ones"``: r and s ones: TabM's layers after the first one.

So TabM is ``input_signs`` for the first layer and ``ones`` for the rest; TabM-mini is
just one input scaling (the first layer's r) in front of a shared MLP. TabM initialises
the kernel uniform in +-1/sqrt(d_in) (``VarianceScaling(1/3, "fan_in", "uniform")``)
and gives every member the same starting bias; here the kernel starts as ``Dense``'s does
(``glorot_uniform``) unless told otherwise, and the bias is drawn once and copied to every
member, as in TabM.
"""

import keras
from keras import ops

from sattn_dash.layers._checks import check_positive_int
from sattn_dash.layers.options import ADAPTER_INITS


@keras.saving.register_keras_serializable(package="sattn_dash")
class EnsembleSplit(keras.layers.Layer):
    """``(batch, d)`` -> ``(batch, k, d)``: k copies of the input, one per member.

    Any rank >= 2 works: the member axis is inserted after the batch axis.
    """

    def __init__(self, k, **kwargs):
        super().__init__(**kwargs)
        check_positive_int("k", k)
        self.k = k

    def build(self, input_shape):
        self._check_input_shape(input_shape)

    def call(self, inputs):
        return ops.repeat(ops.expand_dims(inputs, 1), self.k, axis=1)

    def _check_input_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) < 2:
            raise ValueError(
                f"EnsembleSplit expects inputs of rank >= 2 (batch, features), got {input_shape}."
            )
        return input_shape

    def compute_output_shape(self, input_shape):
        input_shape = self._check_input_shape(input_shape)
        return (input_shape[0], self.k, *input_shape[1:])

    def get_config(self):
        config = super().get_config()
        config["k"] = self.k
        return config


@keras.saving.register_keras_serializable(package="sattn_dash")
class BatchEnsembleDense(keras.layers.Layer):
    """k Dense layers sharing one kernel: member i computes
    ``activation(((x_i * r_i) @ W) * s_i + b_i)``.

    Args:
        units: output width of every member.
        k: number of members (the size of the input's axis 1).
        activation: a Keras activation (name or function); ``None`` is linear.
        use_bias: add the per-member bias ``b``.
        adapter_init: how r and s start: ``"random_signs"``, ``"input_signs"`` or
            ``"ones"`` (see the module docstring for which paper does which).
        kernel_initializer, bias_initializer: Keras initializers for the shared ``W``
            and for ``b`` (drawn once, the same for every member).

    Input ``(batch, k, d_in)``, output ``(batch, k, units)``. Weights: ``kernel``
    ``(d_in, units)`` shared; ``input_adapter`` r ``(k, d_in)``, ``output_adapter`` s
    ``(k, units)`` and ``bias`` b ``(k, units)`` per member. Computes in the layer's
    compute dtype, as ``Dense`` does (r and s are exact in float16 at the start).
    """

    def __init__(
        self,
        units,
        k,
        activation=None,
        use_bias=True,
        adapter_init="random_signs",
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_positive_int("units", units)
        check_positive_int("k", k)
        if adapter_init not in ADAPTER_INITS:
            raise ValueError(f"adapter_init must be one of {ADAPTER_INITS}, got {adapter_init!r}.")
        if not isinstance(use_bias, bool):
            raise ValueError(f"use_bias must be True or False, got {use_bias!r}.")
        self.units = units
        self.k = k
        self.activation = keras.activations.get(activation)
        self.use_bias = use_bias
        self.adapter_init = adapter_init
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def build(self, input_shape):
        d_in = self._check_input_shape(input_shape)[-1]
        self.kernel = self.add_weight(
            name="kernel", shape=(d_in, self.units), initializer=self.kernel_initializer
        )
        input_signs = self.adapter_init in ("random_signs", "input_signs")
        output_signs = self.adapter_init == "random_signs"
        self.input_adapter = self.add_weight(
            name="input_adapter",
            shape=(self.k, d_in),
            initializer=_RandomSigns() if input_signs else "ones",
        )
        self.output_adapter = self.add_weight(
            name="output_adapter",
            shape=(self.k, self.units),
            initializer=_RandomSigns() if output_signs else "ones",
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias",
                shape=(self.k, self.units),
                initializer=_SameForEveryMember(self.bias_initializer),
            )

    def call(self, inputs):
        outputs = ops.matmul(inputs * self.input_adapter, self.kernel) * self.output_adapter
        if self.bias is not None:
            outputs = outputs + self.bias
        return self.activation(outputs)

    def _check_input_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != 3 or input_shape[-1] is None or input_shape[1] not in (None, self.k):
            raise ValueError(
                f"BatchEnsembleDense expects inputs of shape (batch, k={self.k}, features) "
                f"with known features, got {input_shape}; put EnsembleSplit({self.k}) "
                "before the first one."
            )
        return input_shape

    def compute_output_shape(self, input_shape):
        batch, k, _ = self._check_input_shape(input_shape)
        return (batch, k, self.units)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "k": self.k,
                "activation": keras.activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "adapter_init": self.adapter_init,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            }
        )
        return config


class _RandomSigns:
    """+1 or -1 with equal chance. The seed is drawn when the initializer is made, so
    ``keras.utils.set_random_seed`` makes it reproducible."""

    def __init__(self):
        self.uniform = keras.initializers.RandomUniform(-1.0, 1.0)

    def __call__(self, shape, dtype=None):
        draws = self.uniform(shape, "float32")
        return ops.cast(ops.where(draws < 0.0, -1.0, 1.0), dtype or "float32")


class _SameForEveryMember:
    """A ``(k, units)`` value whose k rows are one draw of ``initializer((units,))``."""

    def __init__(self, initializer):
        self.initializer = initializer

    def __call__(self, shape, dtype=None):
        row = self.initializer((shape[1],), dtype=dtype)
        return ops.tile(ops.expand_dims(row, 0), (shape[0], 1))
