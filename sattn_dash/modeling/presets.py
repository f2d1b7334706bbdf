"""Ready-made architectures, one click away: the default (column groups beside TabM), TabM
alone, every example of the KMR
SparseAttentionWeighting page, plus one branch per column group and a feature-attention
model. Each preset is a function of the prepared data, so it fits any input width and
grows one head per target the user chose.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from sattn_dash.errors import SpecError
from sattn_dash.modeling.spec import BlockSpec, BranchSpec, CombinerSpec, HeadSpec, ModelSpec
from sattn_dash.tabular.groups import column_groups


@dataclass(frozen=True)
class Preset:
    """A named architecture: ``summary`` says in one line what it is for."""

    name: str
    title: str
    summary: str
    build_spec: Callable[[object], ModelSpec]


def _dense(units: int, activation: str = "relu") -> BlockSpec:
    return BlockSpec("dense", units=units, activation=activation)


def _mlp(widths, activation: str = "relu") -> tuple[BlockSpec, ...]:
    return tuple(_dense(u, activation) for u in widths)


def _heads(prepared, weight: Callable[[str, str, int], float] | None = None) -> tuple:
    """One head per target, in the data's target order."""
    items = list(prepared.tasks.items())
    return tuple(
        HeadSpec(target, loss_weight=weight(target, task, i) if weight else 1.0)
        for i, (target, task) in enumerate(items)
    )


def _spec(preset: str, branches, combiner: CombinerSpec, heads, prepared, **recipe) -> ModelSpec:
    return ModelSpec(
        name=PRESETS[preset].title,
        branches=tuple(branches),
        combiner=combiner,
        heads=heads,
        preset=preset,
        **recipe,
    ).validate(prepared)


# The modern tabular recipe (RealMLP, NeurIPS 2024; TabM, ICLR 2025), chosen once for
# every table: AdamW with decoupled weight decay, a short warm-up then cosine decay,
# light label smoothing.
MODERN_RECIPE = {
    "optimizer": "adamw",
    "learning_rate": 2e-3,
    "weight_decay": 3e-4,
    "schedule": "cosine",
    "warmup_fraction": 0.05,
    "label_smoothing": 0.1,
}


EMBEDDED_WIDTH = 512  # most values the numeric embedding hands each TabM member per row


def embedding_units(prepared) -> int:
    """Units per column of the default's numeric embedding: 16, fewer on wide tables so
    an embedded row stays within `EMBEDDED_WIDTH` values (at least 4 per column). On
    the 64 columns of digits this halved the fit time for 0.9 points of accuracy."""
    return int(min(16, max(4, EMBEDDED_WIDTH // max(1, len(prepared.feature_names)))))


def tabm(prepared) -> ModelSpec:
    # TabM (Gorishniy et al., ICLR 2025) with piecewise-linear embeddings (Gorishniy et
    # al., NeurIPS 2022), sized for a CPU: 8 members of 2 x 128 units instead of 32 of
    # 3 x 512. Each member is a module the combiner weighs and trains on its own loss.
    # The embedding starts linear in each value, as TabM's, so a small noisy table does
    # not start from (and stop at) a random bent function of every column.
    branch = BranchSpec(
        "tabm",
        blocks=(
            BlockSpec(
                "piecewise_linear", units=embedding_units(prepared), bins=32, start_linear=True
            ),
            BlockSpec("batch_ensemble", units=128, layers=2, members=8, rate=0.1),
        ),
    )
    combiner = CombinerSpec("sparse_attention", temperature=1.0)
    return _spec("tabm", [branch], combiner, _heads(prepared), prepared, **MODERN_RECIPE)


def three_branch(prepared) -> ModelSpec:
    # KMR "In a Sequential Model": its residual path adds inputs[:, :16], which breaks
    # below 16 inputs; the residual block projects the inputs instead.
    branches = [
        BranchSpec("relu", blocks=_mlp((32, 16), "relu")),
        BranchSpec("tanh", blocks=_mlp((32, 16), "tanh")),
        BranchSpec(
            "residual",
            blocks=(BlockSpec("residual", units=16, hidden_units=32, layers=2, activation="relu"),),
        ),
    ]
    combiner = CombinerSpec("sparse_attention", temperature=0.7)
    return _spec("three_branch", branches, combiner, _heads(prepared), prepared)


def three_paths(prepared) -> ModelSpec:
    # KMR "In a Functional Model": a Dense(16, relu) after the combination, per head.
    branches = [
        BranchSpec(
            "relu_dropout",
            blocks=(_dense(64, "relu"), BlockSpec("dropout", rate=0.2), _dense(32, "relu")),
        ),
        BranchSpec(
            "tanh_batchnorm",
            blocks=(_dense(64, "tanh"), BlockSpec("batchnorm"), _dense(32, "tanh")),
        ),
        BranchSpec("swish", blocks=_mlp((64, 32), "swish")),
    ]
    heads = tuple(HeadSpec(h.target, h.loss_weight, hidden_units=(16,)) for h in _heads(prepared))
    combiner = CombinerSpec("sparse_attention", temperature=0.5)
    return _spec("three_paths", branches, combiner, heads, prepared)


def dropout_ladder(prepared) -> ModelSpec:
    # KMR "Advanced Configuration": four paths with dropout 0.1..0.4, multi-task heads
    # weighted 1.0 for the first target and 0.5 for the others.
    branches = [
        BranchSpec(
            f"dropout_{i + 1}",
            blocks=(
                _dense(64, "relu"),
                BlockSpec("dropout", rate=round(0.1 * (i + 1), 1)),
                _dense(32, "relu"),
            ),
        )
        for i in range(4)
    ]
    heads = _heads(prepared, lambda target, task, i: 1.0 if i == 0 else 0.5)
    combiner = CombinerSpec("sparse_attention", temperature=0.3)
    return _spec("dropout_ladder", branches, combiner, heads, prepared)


def ensemble(prepared) -> ModelSpec:
    # KMR "Example 1: Ensemble Model Combination".
    branches = [
        BranchSpec("linear", blocks=_mlp((32, 16), "linear")),
        BranchSpec("nonlinear", blocks=_mlp((32, 16), "relu")),
        BranchSpec("deep", blocks=_mlp((64, 32, 16), "relu")),
    ]
    combiner = CombinerSpec("sparse_attention", temperature=0.4)
    return _spec("ensemble", branches, combiner, _heads(prepared), prepared)


def multi_scale(prepared) -> ModelSpec:
    # KMR "Example 2: Multi-Scale Feature Processing": classification heads weigh 1.0 and
    # regression heads 0.5 when the data has both kinds of target.
    branches = [
        BranchSpec("fine", blocks=_mlp((128, 64, 32))),
        BranchSpec("medium", blocks=_mlp((64, 32))),
        BranchSpec("coarse", blocks=_mlp((32,))),
    ]
    tasks = set(prepared.tasks.values())
    mixed = "regression" in tasks and len(tasks) > 1
    heads = _heads(prepared, lambda target, task, i: 0.5 if mixed and task == "regression" else 1.0)
    combiner = CombinerSpec("sparse_attention", temperature=0.6)
    return _spec("multi_scale", branches, combiner, heads, prepared)


def _branch_name(group: str, taken: set[str]) -> str:
    """A valid, unique branch name for a group. Underscores before digits are dropped
    ("city_02" -> "city02") so no name is another's plus '_<number>'."""
    base = re.sub(r"[^0-9A-Za-z_]+", "_", group).strip("_")
    base = re.sub(r"_+(?=\d)", "", base) or "group"
    if not base[0].isalpha():
        base = "g" + base
    base = base[:36]
    name, n = base, 2
    while name in taken:
        name, n = f"{base}{n}", n + 1
    taken.add(name)
    return name


def per_group(prepared) -> ModelSpec:
    taken: set[str] = set()
    branches = [
        BranchSpec(_branch_name(group, taken), inputs=(group,), blocks=_mlp((32, 16)))
        for group in prepared.groups_with_features()
    ]
    combiner = CombinerSpec("sparse_attention", temperature=0.5)
    return _spec("per_group", branches, combiner, _heads(prepared), prepared)


def column_groups_tabm(prepared) -> ModelSpec:
    # One small module per column group (the user's, else found from the table) beside
    # the TabM branch over every column, for what no group holds alone: interactions
    # across groups. While training, the all-columns branch is left out of half the rows
    # (all_columns_dropout), so there the groups must carry the signal together and
    # cannot lean on it; and its weight is priced at a twentieth of the model's loss per
    # unit (all_columns_price, training.prices), so it keeps weight only where columns
    # of different groups work together: on an additive table the groups take the
    # weight, and the all-columns weight says how much the model leans on
    # interactions. A sharp combiner (T=0.1) lets the weights part within a short fit.
    # Measured on 8 tables against tabm and on a planted table: bench/RESULTS.md, "A
    # default with named modules".
    taken: set[str] = set()
    groups = [
        BranchSpec(_branch_name(name, taken), inputs=tuple(columns), blocks=(_dense(128),))
        for name, columns in column_groups(prepared).items()
    ]
    (everything,) = tabm(prepared).branches
    all_columns = BranchSpec(_branch_name("all_columns", taken), blocks=everything.blocks)
    combiner = CombinerSpec(
        "sparse_attention", temperature=0.1, all_columns_dropout=0.5, all_columns_price=0.05
    )
    return _spec(
        "column_groups", [*groups, all_columns], combiner, _heads(prepared), prepared,
        **MODERN_RECIPE,
    )  # fmt: skip


def feature_attention(prepared) -> ModelSpec:
    n_tokens = len(prepared.feature_names) + 1  # features + CLS
    attention = BlockSpec(
        "feature_attention",
        units=16,
        heads=2,
        key_dim=8,
        top_k=min(4, n_tokens),
        layers=2,
        cls_token=True,
        pooling="cls",
        rate=0.1,
    )
    branches = [
        BranchSpec("feature_tokens", blocks=(attention,)),
        BranchSpec("mlp", blocks=_mlp((32, 16))),
    ]
    combiner = CombinerSpec("sparse_attention", temperature=1.0)
    return _spec("feature_attention", branches, combiner, _heads(prepared), prepared)


def routed_experts(prepared) -> ModelSpec:
    branches = [
        BranchSpec("relu", blocks=_mlp((64, 32), "relu")),
        BranchSpec("tanh", blocks=_mlp((64, 32), "tanh")),
        BranchSpec("deep", blocks=_mlp((64, 32, 32), "relu")),
        BranchSpec("linear", blocks=_mlp((32,), "linear")),
    ]
    combiner = CombinerSpec("sparse_dense", top_k=2, num_heads=2, key_dim=16)
    return _spec("routed_experts", branches, combiner, _heads(prepared), prepared)


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "column_groups",
            "Column groups + all columns (default)",
            "One module per column group (yours, or found from how columns go together) "
            "beside TabM over all columns: which group the model needs, and how much it "
            "needs groups together.",
            column_groups_tabm,
        ),
        Preset(
            "tabm",
            "TabM: piecewise-linear + BatchEnsemble",
            "Numeric columns embedded over quantile bins (linear at first, bends learned), "
            "then 8 weight-sharing MLP members (TabM), each a module the combiner weighs; "
            "AdamW + cosine.",
            tabm,
        ),
        Preset(
            "three_branch",
            "KMR: relu / tanh / residual",
            "Three small paths (relu, tanh, residual) weighed at T=0.7: a first look at "
            "which kind of non-linearity the data wants.",
            three_branch,
        ),
        Preset(
            "three_paths",
            "KMR: relu+dropout / tanh+batchnorm / swish",
            "Three regularised paths weighed at T=0.5 with a Dense(16) before each head: "
            "compares dropout, batch norm and swish on the same inputs.",
            three_paths,
        ),
        Preset(
            "dropout_ladder",
            "KMR: four-branch dropout ladder",
            "Four identical paths with dropout 0.1-0.4 at sparse T=0.3 and one head per "
            "target: shows how much regularisation the data tolerates.",
            dropout_ladder,
        ),
        Preset(
            "ensemble",
            "KMR: linear / nonlinear / deep ensemble",
            "A linear, a shallow and a deep model at T=0.4: tells whether the target needs "
            "depth or is close to linear.",
            ensemble,
        ),
        Preset(
            "multi_scale",
            "KMR: fine / medium / coarse multi-scale",
            "Wide-and-deep, medium and one-layer paths at T=0.6 with classification and "
            "regression heads: finds the capacity each task needs.",
            multi_scale,
        ),
        Preset(
            "per_group",
            "One branch per column group",
            "A small path per column group (or per column when no groups are defined): the "
            "combiner's weights read as group importance.",
            per_group,
        ),
        Preset(
            "feature_attention",
            "Feature attention (FT-Transformer)",
            "One token per feature with top-k sparse attention next to a plain MLP: shows "
            "which features each sample attends to.",
            feature_attention,
        ),
        Preset(
            "routed_experts",
            "Routed experts (top-2 sparse-dense)",
            "Four expert paths; each sample is routed to its top 2 by sparse-dense "
            "attention with load balancing: per-sample branch choice.",
            routed_experts,
        ),
    )
}


# The preset used when the user picks none (the CLI without --preset, the Architecture
# page before a choice): one choice for every table. column_groups, not tabm since
# 2026-12-07: as accurate on the 8 bench tables (-0.16 points), and its weights name the
# group of columns the model needs (bench/RESULTS.md, "A default with named modules").
DEFAULT_PRESET = "column_groups"


def preset_spec(name: str, prepared) -> ModelSpec:
    """The spec of preset ``name`` fitted to ``prepared`` (its width and targets)."""
    if name not in PRESETS:
        raise SpecError(f"preset: no preset named {name!r}; choose one of {', '.join(PRESETS)}.")
    return PRESETS[name].build_spec(prepared)
