"""SparseAttentionWeighting: a learned, temperature-scaled mix of several branch outputs.

Keeps the contract of the published KMR layer (one trainable ``attention_weights`` of
ones, output = sum_i softmax(w / T)_i * input_i, ``ValueError`` for bad arguments) and
fixes what it gets wrong: the weights scale whole inputs, so every rank >= 2 is correct;
inputs of different widths get a clear error or, with ``project_to``, one Dense each.
"""

import math

import keras
import numpy as np
from keras import ops

from sattn_dash.layers.normalizers import sparsemax
from sattn_dash.layers.options import NORMALIZERS, PENALTIES

_MIN_TEMPERATURE = 1e-3


@keras.saving.register_keras_serializable(package="sattn_dash")
class _AtLeast(keras.constraints.Constraint):
    """Keeps a trainable temperature positive, so w / T stays defined."""

    def __init__(self, minimum):
        self.minimum = minimum

    def __call__(self, w):
        return ops.maximum(w, self.minimum)

    def get_config(self):
        return {"minimum": self.minimum}


@keras.saving.register_keras_serializable(package="sattn_dash")
class SparseAttentionWeighting(keras.layers.Layer):
    """Combine ``num_modules`` branch outputs with learned module probabilities.

    Args:
        num_modules: number of inputs the layer is called on.
        temperature: divides the weights before normalising; lower is sharper. Stored
            as a scalar variable ``temperature`` so a callback can anneal it with
            ``layer.temperature.assign(t)``.
        normalizer: ``"softmax"`` (every module keeps some weight) or ``"sparsemax"``
            (modules can get exactly zero weight).
        project_to: ``None`` (inputs must have equal shapes) or a width: each input
            gets its own Dense projection to that width first, so branches of
            different widths can be combined.
        penalty: ``None``, ``"entropy"`` (entropy of the probabilities) or ``"l1"``
            (the probability mass outside the strongest module, 1 - max_i p_i; the
            plain L1 norm of a probability vector is always 1 and could not push
            anything). Either is added with ``add_loss`` and pushes toward fewer
            modules.
        penalty_weight: multiplies the penalty.
        trainable_temperature: learn the temperature too (kept >= 1e-3).
        module_dropout: while training, each row leaves out each group of modules with
            this probability (at least one group is kept) and the kept probabilities are
            renormalised, so no module can count on another to carry what it knows: a
            module is weighed by what it gives alone, not by what it duplicates. One
            number for every module, or one per module (0: never left out), so that
            only the modules that could make the others redundant are left out.
        dropout_groups: one integer per module; modules with the same integer are left
            out together (the members of one branch) and need the same rate. ``None``:
            each module alone.
        module_prices: one number >= 0 per module, or ``None``: while training the layer
            adds ``sum_i price_i * p_i`` with ``add_loss``, so a module with a price earns
            weight only where it lowers the loss by more than it costs (a validation or
            test loss stays the model's own, as with dropout). The sum is
            multiplied by the scalar variable ``price_scale`` (1; a callback can set it
            with ``layer.price_scale.assign(x)``, as the trainer does to make the prices
            a share of the loss).
        initial_shares: one number > 0 per module, or ``None`` (every module alike): the
            probabilities the modules start from, normalised. A branch of 8 ensemble
            members beside 3 single modules would otherwise start with 8/11 of the
            weight; shares of 1/8 per member start every branch even.

    The probabilities are computed in float32 (or wider) even under mixed precision.
    """

    def __init__(
        self,
        num_modules,
        temperature=1.0,
        normalizer="softmax",
        project_to=None,
        penalty=None,
        penalty_weight=0.01,
        trainable_temperature=False,
        module_dropout=0.0,
        dropout_groups=None,
        module_prices=None,
        initial_shares=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(num_modules, bool) or not isinstance(num_modules, int) or num_modules <= 0:
            raise ValueError(
                f"num_modules must be a positive integer, got {num_modules!r}: "
                "pass the number of branch outputs the layer combines."
            )
        if not _is_positive_number(temperature):
            raise ValueError(
                f"temperature must be a positive number, got {temperature!r}: "
                "use e.g. 1.0, lower values give sharper module probabilities."
            )
        if normalizer not in NORMALIZERS:
            raise ValueError(f"normalizer must be one of {NORMALIZERS}, got {normalizer!r}.")
        if project_to is not None and (
            isinstance(project_to, bool) or not isinstance(project_to, int) or project_to <= 0
        ):
            raise ValueError(
                f"project_to must be None or a positive integer width, got {project_to!r}."
            )
        if penalty is not None and penalty not in PENALTIES:
            raise ValueError(f"penalty must be None or one of {PENALTIES}, got {penalty!r}.")
        if not (isinstance(penalty_weight, int | float) and penalty_weight >= 0):
            raise ValueError(f"penalty_weight must be a number >= 0, got {penalty_weight!r}.")
        rates = _dropout_rates(module_dropout, num_modules)
        if dropout_groups is not None and len(dropout_groups) != num_modules:
            raise ValueError(
                f"dropout_groups needs one integer per module ({num_modules}), "
                f"got {len(dropout_groups)}."
            )
        groups = list(range(num_modules)) if dropout_groups is None else list(dropout_groups)
        group_rates: dict[int, float] = {}
        for group, rate in zip(groups, rates, strict=True):
            if group_rates.setdefault(group, rate) != rate:
                raise ValueError(
                    f"module_dropout: the modules of dropout group {group} need one rate, "
                    f"got {group_rates[group]} and {rate}."
                )
        #: the rate each dropout group (0, 1, ...) is left out with
        self.group_rates = [group_rates.get(g, 0.0) for g in range(max(groups) + 1)]
        if module_prices is not None and (
            len(module_prices) != num_modules or not all(_is_price(p) for p in module_prices)
        ):
            raise ValueError(
                f"module_prices needs one number >= 0 per module ({num_modules}), "
                f"got {module_prices!r}."
            )
        self.num_modules = num_modules
        if initial_shares is not None and (
            len(initial_shares) != num_modules
            or not all(_is_positive_number(x) for x in initial_shares)
        ):
            raise ValueError(
                f"initial_shares needs one number > 0 per module ({num_modules}), "
                f"got {initial_shares!r}."
            )
        self.initial_shares = None if initial_shares is None else [float(x) for x in initial_shares]
        self.module_prices = None if module_prices is None else [float(p) for p in module_prices]
        self.module_dropout = (
            float(module_dropout) if isinstance(module_dropout, int | float) else rates
        )
        self.dropout_groups = None if dropout_groups is None else [int(g) for g in dropout_groups]
        self.initial_temperature = float(temperature)
        self.normalizer = normalizer
        self.project_to = project_to
        self.penalty = penalty
        self.penalty_weight = float(penalty_weight)
        self.trainable_temperature = bool(trainable_temperature)
        self.supports_masking = True
        if any(self.group_rates):
            self.seed_generator = keras.random.SeedGenerator()

    def build(self, input_shape):
        shapes = self._check_inputs(input_shape)
        self.attention_weights = self.add_weight(
            name="attention_weights",
            shape=(self.num_modules,),
            initializer=self._initial_weights(),
            trainable=True,
        )
        self.temperature = self.add_weight(
            name="temperature",
            shape=(),
            initializer=keras.initializers.Constant(self.initial_temperature),
            trainable=self.trainable_temperature,
            constraint=_AtLeast(_MIN_TEMPERATURE),
        )
        if self.module_prices is not None:
            self.price_scale = self.add_weight(
                name="price_scale", shape=(), initializer="ones", trainable=False
            )
        if self.project_to is not None:
            self.projections = []
            for index, shape in enumerate(shapes):
                dense = keras.layers.Dense(
                    self.project_to, dtype=self.dtype_policy, name=f"projection_{index}"
                )
                dense.build(shape)
                self.projections.append(dense)

    def call(self, inputs, training=None):
        if not isinstance(inputs, list | tuple):
            self._check_inputs(tuple(inputs.shape))  # raises: one tensor, not a list
        inputs = list(inputs)
        self._check_inputs([tuple(x.shape) for x in inputs])
        if self.project_to is not None:
            inputs = [dense(x) for dense, x in zip(self.projections, inputs, strict=True)]
        probabilities = self._probabilities()
        if self.penalty is not None:
            self.add_loss(self.penalty_weight * self._penalty(probabilities))
        if self.module_prices is not None and training:
            prices = ops.convert_to_tensor(self.module_prices, dtype=probabilities.dtype)
            scale = ops.cast(self.price_scale, probabilities.dtype)
            self.add_loss(scale * ops.sum(prices * probabilities))
        if training and any(self.group_rates):
            return self._mix(inputs, self._dropped(probabilities, ops.shape(inputs[0])[0]))
        weights = ops.cast(probabilities, inputs[0].dtype)
        output = inputs[0] * weights[0]
        for index in range(1, self.num_modules):
            output = output + inputs[index] * weights[index]
        return output

    def _dropped(self, probabilities, batch):
        """Per-row weights ``(batch, num_modules)``: some groups left out, the rest
        renormalised; a row that lost every group keeps them all."""
        groups = self.dropout_groups or list(range(self.num_modules))
        keep = ops.cast(
            keras.random.uniform((batch, len(self.group_rates)), seed=self.seed_generator)
            >= ops.convert_to_tensor(self.group_rates, dtype="float32"),
            probabilities.dtype,
        )
        keep = ops.where(ops.sum(keep, axis=1, keepdims=True) > 0, keep, ops.ones_like(keep))
        kept = ops.take(keep, groups, axis=1) * probabilities
        return kept / ops.sum(kept, axis=1, keepdims=True)

    def _mix(self, inputs, weights):
        weights = ops.cast(weights, inputs[0].dtype)
        extra = (1,) * (len(inputs[0].shape) - 2)
        output = 0
        for index, x in enumerate(inputs):
            output = output + x * ops.reshape(weights[:, index], (-1, *extra, 1))
        return output

    def module_probabilities(self):
        """The current module probabilities as a numpy array ``(num_modules,)``."""
        if not self.built:
            raise ValueError(
                f"Layer '{self.name}' has no weights yet: call it on its "
                f"{self.num_modules} inputs (or build the model) first."
            )
        return np.asarray(ops.convert_to_numpy(self._probabilities()))

    @property
    def temperature_value(self):
        """The temperature as a Python float (the current value once built)."""
        if not self.built:
            return self.initial_temperature
        return float(ops.convert_to_numpy(self.temperature))

    def _initial_weights(self):
        """Ones, or the raw weights whose probabilities are ``initial_shares``:
        softmax(w / T) is proportional to exp(w / T), and sparsemax(w / T) is the
        shares themselves once w / T is the shares plus a constant."""
        if self.initial_shares is None:
            return "ones"
        shares = np.asarray(self.initial_shares) / sum(self.initial_shares)
        t = self.initial_temperature
        raw = t * shares if self.normalizer == "sparsemax" else t * np.log(shares)
        return keras.initializers.Constant(1.0 + raw - raw.max())

    def _probabilities(self):
        dtype = keras.backend.result_type(self.attention_weights.dtype, "float32")
        temperature = ops.maximum(ops.cast(self.temperature, dtype), _MIN_TEMPERATURE)
        logits = ops.cast(self.attention_weights, dtype) / temperature
        if self.normalizer == "sparsemax":
            return sparsemax(logits)
        return ops.softmax(logits)

    def _penalty(self, probabilities):
        if self.penalty == "entropy":
            return -ops.sum(probabilities * ops.log(ops.maximum(probabilities, 1e-12)))
        return 1.0 - ops.max(probabilities)

    def _check_inputs(self, shapes):
        """The input shapes as tuples, after checking count, rank and widths."""
        if (
            not isinstance(shapes, list | tuple)
            or not shapes
            or not isinstance(shapes[0], list | tuple)
        ):
            raise ValueError(
                f"{type(self).__name__} expects a list of {self.num_modules} tensors, "
                f"got a single input of shape {shapes}."
            )
        shapes = [tuple(shape) for shape in shapes]
        if len(shapes) != self.num_modules:
            raise ValueError(
                f"{type(self).__name__} was built for num_modules={self.num_modules} "
                f"inputs but got {len(shapes)}: {shapes}."
            )
        if any(len(shape) < 2 for shape in shapes):
            raise ValueError(
                f"Every input needs rank >= 2 (batch, ..., features); got shapes {shapes}."
            )
        reference = shapes[0]
        compared = (lambda s: s[1:-1]) if self.project_to is not None else (lambda s: s[1:])
        if any(
            len(shape) != len(reference) or not _compatible(compared(shape), compared(reference))
            for shape in shapes
        ):
            what = "all dimensions but the last" if self.project_to else "shapes"
            hint = (
                ""
                if self.project_to
                else " Pass project_to=<width> to project each input to a common width first."
            )
            raise ValueError(
                f"{type(self).__name__} needs inputs with equal {what} (batch aside); "
                f"got shapes {shapes}.{hint}"
            )
        return shapes

    def compute_output_shape(self, input_shape):
        shapes = self._check_inputs(input_shape)
        output_shape = shapes[0]
        if self.project_to is not None:
            output_shape = output_shape[:-1] + (self.project_to,)
        return output_shape

    def compute_mask(self, inputs, mask=None):
        if mask is None or all(m is None for m in mask):
            return None
        masks = [m for m in mask if m is not None]
        combined = masks[0]
        for m in masks[1:]:
            combined = ops.logical_and(combined, m)
        return combined

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_modules": self.num_modules,
                "temperature": self.temperature_value,
                "normalizer": self.normalizer,
                "project_to": self.project_to,
                "penalty": self.penalty,
                "penalty_weight": self.penalty_weight,
                "trainable_temperature": self.trainable_temperature,
                "module_dropout": self.module_dropout,
                "dropout_groups": self.dropout_groups,
                "module_prices": self.module_prices,
                "initial_shares": self.initial_shares,
            }
        )
        return config


def _dropout_rates(module_dropout, num_modules) -> list[float]:
    """One rate in [0, 1) per module, from one number or a list of them."""
    rates = (
        [module_dropout] * num_modules
        if isinstance(module_dropout, int | float) and not isinstance(module_dropout, bool)
        else list(module_dropout)
        if isinstance(module_dropout, list | tuple)
        else None
    )
    if (
        rates is None
        or len(rates) != num_modules
        or not all(
            isinstance(r, int | float) and not isinstance(r, bool) and 0 <= r < 1 for r in rates
        )
    ):
        raise ValueError(
            f"module_dropout must be in [0, 1), one number or one per module "
            f"({num_modules}), got {module_dropout!r}."
        )
    return [float(r) for r in rates]


def _is_positive_number(value):
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


def _is_price(value):
    return _is_positive_number(value) or (value == 0 and not isinstance(value, bool))


def _compatible(dims_a, dims_b):
    """Equal dimensions, where an unknown (None) dimension matches anything."""
    return len(dims_a) == len(dims_b) and all(
        a is None or b is None or a == b for a, b in zip(dims_a, dims_b, strict=True)
    )
