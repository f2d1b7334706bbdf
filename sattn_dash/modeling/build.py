"""``build_model``: a validated ModelSpec plus the prepared data -> a compiled keras.Model.

One input ``features`` (every model input column); each branch picks its columns by
position, runs its blocks, and ends in a ``branch_<name>_output`` layer; the combiner
layer is named ``combiner``; one output per target named ``head_name(target)``. Layer
names are how analysis finds things, so they are part of the contract. The build draws
every initial weight from Keras' global seed: call ``keras.utils.set_random_seed`` first
for a repeatable model.
"""

from __future__ import annotations

import keras
import numpy as np

from sattn_dash.layers import SparseDenseMultiHeadAttention
from sattn_dash.layers.batch_ensemble import BatchEnsembleDense, EnsembleSplit
from sattn_dash.layers.numeric_embeddings import (
    PeriodicEmbedding,
    PiecewiseLinearEmbedding,
    quantile_bin_edges,
)
from sattn_dash.modeling.combiners import combiner
from sattn_dash.modeling.explain import COMBINER
from sattn_dash.modeling.keras_layers import (
    CategoricalEncoding,
    ColumnSelect,
    EnsembleMember,
    FeatureTokenizer,
    StackMembers,
    TargetRescale,
    TokenPool,
)
from sattn_dash.modeling.losses import MemberLoss, SparseCrossentropy
from sattn_dash.modeling.schedules import WarmupCosine
from sattn_dash.modeling.spec import (
    NUMERIC_EMBEDDINGS,
    BlockSpec,
    BranchSpec,
    ModelSpec,
    head_name,
    member_name,
    members_output_name,
)

OPTIMIZER_CLASSES = {
    "adam": keras.optimizers.Adam,
    "adamw": keras.optimizers.AdamW,
    "sgd": keras.optimizers.SGD,
    "rmsprop": keras.optimizers.RMSprop,
    "nadam": keras.optimizers.Nadam,
}


def branch_prefix(name: str) -> str:
    return f"branch_{name}"


def build_model(spec: ModelSpec, prepared, compile: bool = True) -> keras.Model:
    """Build (and compile) the model ``spec`` describes for ``prepared``'s columns/targets."""
    spec.validate(prepared)
    features = keras.Input(shape=(len(prepared.feature_names),), name="features")
    modules = [m for branch in spec.branches for m in _branch(branch, features, prepared)]
    combined = _combine(spec, features, modules, prepared)
    heads = {h.target: _head_layers(h, prepared) for h in spec.heads}
    outputs = {head_name(t): _apply(layers, combined) for t, layers in heads.items()}
    for branch in spec.branches:
        if branch.members:
            outputs.update(_member_predictions(spec, branch, modules, heads, prepared))
    model = keras.Model(features, outputs, name=_model_name(spec.name))
    if compile:
        compile_model(model, spec, prepared)
    return model


def _model_name(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "_-" else "_" for c in name).strip("_")
    return cleaned or "model"


def _categorical_of(names, prepared) -> dict[int, int]:
    """{position in ``names``: number of codes} of the integer-coded categoricals."""
    return {
        j: prepared.categorical_features[name]
        for j, name in enumerate(names)
        if name in prepared.categorical_features
    }


def _branch(branch: BranchSpec, features, prepared) -> list[tuple[str, object]]:
    """The branch's modules as ``(name, tensor)``: one, or one per ensemble member."""
    prefix = branch_prefix(branch.name)
    positions = branch.feature_positions(prepared)
    names = [prepared.feature_names[p] for p in positions]
    x = features
    if positions != list(range(len(prepared.feature_names))):
        x = ColumnSelect(positions, feature_names=names, name=f"{prefix}_select")(features)
    categorical = _categorical_of(names, prepared)
    first, *rest = branch.blocks
    # Only the first block sees raw columns; integer codes never reach it as numbers.
    if first.kind == "feature_attention":
        x = _feature_attention(first, x, f"{prefix}_0", names, categorical)
    else:
        train = prepared.X_train.iloc[:, positions] if first.kind in NUMERIC_EMBEDDINGS else None
        x = _encoded_inputs(x, names, categorical, prefix, branch, first, train)
        if first.kind not in NUMERIC_EMBEDDINGS:
            x = _block(first, x, f"{prefix}_0")
    for i, block in enumerate(rest, start=1):
        x = _block(block, x, f"{prefix}_{i}")
    if not branch.members:
        return [(branch.name, keras.layers.Identity(name=f"{prefix}_output")(x))]
    modules = []
    for i in range(branch.members):
        module = member_name(branch.name, i)
        member = EnsembleMember(i, branch=branch.name, name=f"{prefix}_m{i + 1}_member")(x)
        modules.append((module, keras.layers.Identity(name=f"{prefix}_m{i + 1}_output")(member)))
    return modules


def _encoded_inputs(x, names, categorical, prefix, branch=None, first=None, train=None):
    """What a branch's first block reads: numeric columns (embedded one by one when
    ``first`` is a numeric-embedding block, with bins from the ``train`` rows), then
    each integer-coded categorical as its embedding or one-hot. Layers are named
    ``<prefix>_numeric``, ``_codes``, ``_categorical`` and ``_encoded``."""
    numeric = [j for j in range(len(names)) if j not in categorical]
    parts = []
    if numeric:
        numbers = x
        if categorical:
            numbers = ColumnSelect(
                numeric, feature_names=[names[j] for j in numeric], name=f"{prefix}_numeric"
            )(x)
        if first is not None and first.kind in NUMERIC_EMBEDDINGS:
            values = np.asarray(train, dtype=np.float32)[:, numeric]
            numbers = _numeric_embedding(first, numbers, values, f"{prefix}_0")
        parts.append(numbers)
    if categorical:
        codes = sorted(categorical)
        code_columns = ColumnSelect(
            codes, feature_names=[names[j] for j in codes], name=f"{prefix}_codes"
        )(x)
        width = branch.embedding_dim if branch is not None else None
        parts.append(
            CategoricalEncoding(
                [categorical[j] for j in codes],
                mode=branch.categorical if branch is not None else "embedding",
                widths=None if width is None else [width] * len(codes),
                feature_names=[names[j] for j in codes],
                name=f"{prefix}_categorical",
            )(code_columns)
        )
    if len(parts) == 1:
        return parts[0]
    return keras.layers.Concatenate(name=f"{prefix}_encoded")(parts)


def _numeric_embedding(block: BlockSpec, x, train_values, name: str):
    """One embedding per numeric column, flattened to ``(batch, columns * units)``."""
    n = int(x.shape[-1])
    if block.kind == "piecewise_linear":
        edges = quantile_bin_edges(train_values, block.bins)
        embedded = PiecewiseLinearEmbedding(
            edges,
            block.units,
            activation=block.activation,
            start_linear=block.start_linear,
            name=f"{name}_piecewise_linear",
        )(x)
    else:
        embedded = PeriodicEmbedding(
            n,
            block.units,
            n_frequencies=block.frequencies,
            sigma=block.sigma,
            lite=block.lite,
            activation=block.activation,
            name=f"{name}_periodic",
        )(x)
    return keras.layers.Reshape((n * block.units,), name=f"{name}_flatten")(embedded)


def _block(block: BlockSpec, x, name: str):
    layers = keras.layers
    if block.kind == "dense":
        return layers.Dense(block.units, activation=block.activation, name=f"{name}_dense")(x)
    if block.kind == "dropout":
        return layers.Dropout(block.rate, name=f"{name}_dropout")(x)
    if block.kind == "batchnorm":
        return layers.BatchNormalization(name=f"{name}_batchnorm")(x)
    if block.kind == "layernorm":
        return layers.LayerNormalization(name=f"{name}_layernorm")(x)
    if block.kind == "residual":
        return _residual(block, x, name)
    if block.kind == "batch_ensemble":
        return _batch_ensemble(block, x, name)
    return _feature_attention(block, x, name, None, {})


def _batch_ensemble(block: BlockSpec, x, name: str):
    """TabM: k copies of the input through ``layers`` BatchEnsembleDense layers (random
    sign input adapters on the first, as TabM), ``(batch, k, units)``."""
    h = EnsembleSplit(block.members, name=f"{name}_split")(x)
    for j in range(block.layers):
        h = BatchEnsembleDense(
            block.units,
            block.members,
            activation=block.activation,
            adapter_init="input_signs" if j == 0 else "ones",
            name=f"{name}_dense{j}",
        )(h)
        if block.rate:
            h = keras.layers.Dropout(block.rate, name=f"{name}_dropout{j}")(h)
    return h


def _residual(block: BlockSpec, x, name: str):
    h = x
    for j in range(block.layers):
        units = block.units if j == block.layers - 1 else block.hidden_units
        h = keras.layers.Dense(
            units, activation=block.activation, name=f"{name}_residual_dense{j}"
        )(h)
    skip = x
    if x.shape[-1] != block.units:
        skip = keras.layers.Dense(block.units, use_bias=False, name=f"{name}_residual_project")(x)
    return keras.layers.Add(name=f"{name}_residual_add")([h, skip])


def _feature_attention(block: BlockSpec, x, name: str, feature_names, categorical):
    layers = keras.layers
    d = block.units
    tokens = FeatureTokenizer(
        d,
        categorical=categorical,
        cls_token=block.cls_token,
        feature_names=feature_names,
        name=f"{name}_tokenizer",
    )(x)
    n_tokens = tokens.shape[1]
    for j in range(block.layers):
        # Scores are returned (and unused here) so explain_model can reach them.
        attention, _ = SparseDenseMultiHeadAttention(
            num_heads=block.heads,
            key_dim=block.key_dim,
            top_k=min(block.top_k, n_tokens),
            dropout=block.rate,
            name=f"{name}_attention{j}",
        )(tokens, tokens, return_attention_scores=True)
        tokens = layers.LayerNormalization(name=f"{name}_attention{j}_norm")(
            layers.Add(name=f"{name}_attention{j}_add")([tokens, attention])
        )
        hidden = layers.Dense(2 * d, activation="relu", name=f"{name}_ffn{j}_up")(tokens)
        hidden = layers.Dense(d, name=f"{name}_ffn{j}_down")(hidden)
        if block.rate:
            hidden = layers.Dropout(block.rate, name=f"{name}_ffn{j}_dropout")(hidden)
        tokens = layers.LayerNormalization(name=f"{name}_ffn{j}_norm")(
            layers.Add(name=f"{name}_ffn{j}_add")([tokens, hidden])
        )
    return TokenPool(block.pooling, name=f"{name}_pool")(tokens)


def _combine(spec: ModelSpec, features, modules, prepared):
    def query():
        # The routing query reads the input features, with categorical codes embedded.
        columns = prepared.feature_names
        categorical = _categorical_of(columns, prepared)
        return _encoded_inputs(features, columns, categorical, f"{COMBINER}_query")

    branches = [b for b in spec.branches for _ in b.module_names]
    return combiner(spec.combiner.kind).combine(spec.combiner, modules, COMBINER, query, branches)


def _head_layers(head, prepared) -> list:
    """The layers of a target's head, in order (applied to the combined vector, and to
    ensemble members' own vectors when they can share it)."""
    name = head_name(head.target)
    layers = [
        keras.layers.Dense(units, activation="relu", name=f"{name}_hidden{j}")
        for j, units in enumerate(head.hidden_units)
    ]
    task = prepared.tasks[head.target]
    # Outputs stay float32 under mixed precision: losses and probabilities need it.
    if task == "binary":
        return [*layers, keras.layers.Dense(1, activation="sigmoid", dtype="float32", name=name)]
    if task == "multiclass":
        n_classes = len(prepared.classes[head.target])
        return [
            *layers,
            keras.layers.Dense(n_classes, activation="softmax", dtype="float32", name=name),
        ]
    mean, std = prepared.target_stats[head.target]
    return [
        *layers,
        keras.layers.Dense(1, dtype="float32", name=f"{name}_standardized"),
        TargetRescale(mean, _usable_std(std), dtype="float32", name=name),
    ]


def _apply(layers, x):
    for layer in layers:
        x = layer(x)
    return x


def _member_predictions(spec: ModelSpec, branch: BranchSpec, modules, heads, prepared) -> dict:
    """Every member's own prediction per target, ``(batch, k, ...)``, from the members'
    outputs (so dropping a member in ablation drops its prediction too). Members share
    the target's head when the combiner hands the head a weighted mean of same-width
    modules (then the ensemble's logit is the members' weighted logits); otherwise each
    member gets its own linear head."""
    prefix = branch_prefix(branch.name)
    own = [t for n, t in modules if n in branch.module_names]
    stacked = StackMembers(name=f"{prefix}_members")(own)
    widths = {int(t.shape[-1]) for _, t in modules}
    c = spec.combiner
    shared = combiner(c.kind).averages_modules and c.project_to is None and len(widths) == 1
    outputs = {}
    for head in spec.heads:
        name = members_output_name(head.target, branch.name)
        if shared:
            outputs[name] = _apply(heads[head.target], stacked)
        else:
            outputs[name] = _member_head(head, stacked, name, prepared)
    return outputs


def _member_head(head, stacked, name: str, prepared):
    """k linear heads, one per member: ``(batch, k, d)`` -> ``(batch, k, out)``."""
    task = prepared.tasks[head.target]
    k = int(stacked.shape[1])
    out = len(prepared.classes[head.target]) if task == "multiclass" else 1
    x = keras.layers.EinsumDense(
        "bkd,kdo->bko", output_shape=(k, out), bias_axes="ko", name=f"{name}_dense"
    )(stacked)
    if task == "regression":
        mean, std = prepared.target_stats[head.target]
        return TargetRescale(mean, _usable_std(std), dtype="float32", name=name)(x)
    activation = "sigmoid" if task == "binary" else "softmax"
    return keras.layers.Activation(activation, dtype="float32", name=name)(x)


def _usable_std(std: float) -> float:
    return float(std) if std and float(std) > 0 else 1.0


def losses_and_metrics(spec: ModelSpec, prepared):
    """Loss, loss weight and metrics per output name, as ``model.compile`` takes them.

    A regression loss is the MSE in the target's units; its weight is divided by the
    target's variance so every target counts on the same (standardised) scale.
    Classification losses use the spec's ``label_smoothing``.
    """
    losses, weights, metrics = {}, {}, {}
    smoothing = float(spec.label_smoothing)
    for head in spec.heads:
        name = head_name(head.target)
        task = prepared.tasks[head.target]
        weights[name] = float(head.loss_weight)
        if task == "binary":
            losses[name] = (
                keras.losses.BinaryCrossentropy(label_smoothing=smoothing)
                if smoothing
                else "binary_crossentropy"
            )
            metrics[name] = [
                keras.metrics.BinaryAccuracy(name="accuracy"),
                keras.metrics.AUC(name="auc"),
            ]
        elif task == "multiclass":
            losses[name] = (
                SparseCrossentropy(label_smoothing=smoothing)
                if smoothing
                else "sparse_categorical_crossentropy"
            )
            metrics[name] = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
        else:
            losses[name] = "mse"
            weights[name] /= _usable_std(prepared.target_stats[head.target][1]) ** 2
            metrics[name] = [
                keras.metrics.MeanAbsoluteError(name="mae"),
                keras.metrics.RootMeanSquaredError(name="rmse"),
            ]
    for branch in spec.branches:
        if not branch.members:
            continue
        for head in spec.heads:
            name = members_output_name(head.target, branch.name)
            task = prepared.tasks[head.target]
            losses[name] = MemberLoss(task, label_smoothing=smoothing)
            weights[name] = weights[head_name(head.target)]
    return losses, weights, metrics


def loss_floor(spec: ModelSpec, prepared) -> float:
    """The least total training loss the compiled model can reach: with label
    smoothing a class loss cannot go below the entropy of the smoothed targets (0.20
    per binary output at 0.1, 0.50 per 10-class one), for the head and for each
    ensemble's members, at the weights ``losses_and_metrics`` gives them. A
    regression's floor is 0."""
    s = float(spec.label_smoothing)
    _, weights, _ = losses_and_metrics(spec, prepared)
    floor = 0.0
    for head in spec.heads:
        task = prepared.tasks[head.target]
        if not s or task == "regression":
            continue
        n = 2 if task == "binary" else len(prepared.classes[head.target])
        shares = np.array([1 - s + s / n, *[s / n] * (n - 1)])
        outputs = [head_name(head.target)] + [
            members_output_name(head.target, b.name) for b in spec.branches if b.members
        ]
        floor += sum(weights[o] for o in outputs) * float(-(shares * np.log(shares)).sum())
    return floor


def learning_rate_schedule(spec: ModelSpec, total_steps: int | None):
    """The spec's learning rate as Keras takes it: a number, or a warm-up + cosine
    schedule over ``total_steps`` (constant when the step count is unknown)."""
    if spec.schedule != "cosine" or not total_steps:
        return spec.learning_rate
    warmup = int(round(spec.warmup_fraction * total_steps))
    return WarmupCosine(spec.learning_rate, max(1, total_steps - warmup), warmup)


def make_optimizer(spec: ModelSpec, total_steps: int | None = None):
    """The spec's optimizer, learning-rate schedule and weight decay."""
    options = {"learning_rate": learning_rate_schedule(spec, total_steps)}
    if spec.weight_decay is not None:
        options["weight_decay"] = float(spec.weight_decay)
    return OPTIMIZER_CLASSES[spec.optimizer](**options)


def compile_model(
    model: keras.Model, spec: ModelSpec, prepared, *, total_steps: int | None = None, **options
) -> keras.Model:
    """Compile with the spec's training recipe, the heads' losses, weights and metrics.

    ``total_steps`` (epochs x batches per epoch) lets a cosine schedule span the whole
    budget; ``options`` go to ``model.compile`` (e.g. ``run_eagerly=True``).
    """
    losses, weights, metrics = losses_and_metrics(spec, prepared)
    model.compile(
        optimizer=make_optimizer(spec, total_steps),
        loss=losses,
        loss_weights=weights,
        metrics=metrics,
        **options,
    )
    return model
