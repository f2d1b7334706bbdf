"""The search space as data: what a search may try, in the user's words, as JSON.

A space maps each setting to a *dimension*: a plain value (fixed), ``{"choices": [...]}``
(pick one), or ``{"low": a, "high": b}`` (a range; whole numbers when both ends are,
``"log": true`` to search orders of magnitude, ``"step"`` for a grid). Narrow a search
by fixing a value or shrinking a range; widen it by adding choices.

Branch kinds are a registry (``BRANCH_KINDS``): each kind names its own settings, their
default dimensions, and how a trial's values become blocks. A new block kind is one more
entry there; the default space and the sampler pick it up. Numeric embeddings
(``NUMERIC_EMBEDDINGS``: none, piecewise-linear, periodic) are a second registry: the
first block of each branch that reads raw columns (every kind but feature attention,
which embeds its own tokens).

Nothing here imports Optuna or TensorFlow: ``sample`` takes anything with Optuna's
``suggest_*`` methods, so a space can be checked and shown by light pages.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sattn_dash.errors import SpecError
from sattn_dash.layers.options import NORMALIZERS
from sattn_dash.modeling.checks import is_number
from sattn_dash.modeling.combiners import combiner, combiner_kinds
from sattn_dash.modeling.spec import (
    ACTIVATIONS,
    SCHEDULES,
    BlockSpec,
    BranchSpec,
    CombinerSpec,
    HeadSpec,
    ModelSpec,
)
from sattn_dash.tabular.options import SCALINGS

if TYPE_CHECKING:
    from sattn_dash.tabular.prepared import PreparedData

SPACE_VERSION = 1
LAYOUTS = ("all_columns", "per_group")
# Above this many column groups, one branch per group is left out of the default space.
MAX_GROUP_BRANCHES = 12


@dataclass(frozen=True)
class BranchKind:
    """One kind of branch a search may build: its settings and how they become blocks."""

    name: str
    summary: str
    settings: dict[str, Any]
    blocks: Callable[[dict[str, Any], float, PreparedData], tuple[BlockSpec, ...]]


def _mlp_blocks(
    values: dict[str, Any], dropout: float, prepared: PreparedData
) -> tuple[BlockSpec, ...]:
    blocks: list[BlockSpec] = []
    for _ in range(values["depth"]):
        blocks.append(BlockSpec("dense", units=values["width"], activation=values["activation"]))
        if dropout > 0:
            blocks.append(BlockSpec("dropout", rate=dropout))
    return tuple(blocks)


def _residual_blocks(
    values: dict[str, Any], dropout: float, prepared: PreparedData
) -> tuple[BlockSpec, ...]:
    block = BlockSpec(
        "residual",
        units=values["width"],
        hidden_units=values["width"] * 2,
        layers=values["layers"],
        activation="relu",
    )
    return (block, BlockSpec("dropout", rate=dropout)) if dropout > 0 else (block,)


def _attention_blocks(
    values: dict[str, Any], dropout: float, prepared: PreparedData
) -> tuple[BlockSpec, ...]:
    tokens = len(prepared.feature_names) + 1  # features + CLS
    return (
        BlockSpec(
            "feature_attention",
            units=values["width"],
            heads=values["heads"],
            key_dim=max(4, values["width"] // values["heads"]),
            top_k=min(values["top_k"], tokens),
            layers=values["layers"],
            cls_token=True,
            pooling="cls",
            rate=dropout,
        ),
    )


def _batch_ensemble_blocks(
    values: dict[str, Any], dropout: float, prepared: PreparedData
) -> tuple[BlockSpec, ...]:
    return (
        BlockSpec(
            "batch_ensemble",
            units=values["width"],
            layers=values["depth"],
            members=values["members"],
            rate=dropout,
        ),
    )


BRANCH_KINDS: dict[str, BranchKind] = {
    k.name: k
    for k in (
        BranchKind(
            "mlp",
            "Dense layers of one width (dropout after each when the trial has some).",
            {
                "depth": {"low": 1, "high": 3},
                "width": {"choices": [16, 32, 64, 128]},
                "activation": {"choices": ["relu", "swish", "gelu", "tanh"]},
            },
            _mlp_blocks,
        ),
        BranchKind(
            "residual",
            "A residual stack: ``layers`` Dense layers added back to their input.",
            {"width": {"choices": [16, 32, 64]}, "layers": {"low": 1, "high": 3}},
            _residual_blocks,
        ),
        BranchKind(
            "feature_attention",
            "One token per feature with top-k sparse attention (FT-Transformer style).",
            {
                "width": {"choices": [8, 16, 32]},
                "heads": {"choices": [1, 2, 4]},
                "top_k": {"low": 2, "high": 8},
                "layers": {"low": 1, "high": 2},
            },
            _attention_blocks,
        ),
        BranchKind(
            "batch_ensemble",
            "TabM: ``members`` MLPs of ``depth`` layers sharing weights (the trial's dropout "
            "between layers); the combiner weighs the members.",
            {
                "members": {"choices": [4, 8]},
                "width": {"choices": [32, 64, 128]},
                "depth": {"low": 1, "high": 2},
            },
            _batch_ensemble_blocks,
        ),
    )
}
# Kinds whose first block may be a numeric embedding (feature attention embeds its tokens).
EMBEDDING_KINDS = ("mlp", "residual", "batch_ensemble")

# Numeric embeddings a branch's first block may be: each one's settings (BlockSpec fields).
NUMERIC_EMBEDDINGS: dict[str, dict[str, Any]] = {
    "none": {},
    "piecewise_linear": {
        "bins": {"choices": [8, 16, 32]},
        "units": {"choices": [4, 8]},
        "start_linear": True,
    },
    "periodic": {
        "frequencies": {"choices": [8, 16]},
        "sigma": {"low": 0.01, "high": 1.0, "log": True},
        "units": {"choices": [8, 16]},
    },
}

# The settings every space has, with what each means (shown on the Search page).
SETTINGS: dict[str, str] = {
    "layout": "all_columns: every branch reads every column; per_group: one branch per "
    "column group (the groups of the Data page, else one per column)",
    "branches": "how many branches (all_columns layout)",
    "branch_kinds": "the kinds a branch may be, each with its own settings",
    "numeric_embeddings": "how a branch's first block embeds numeric columns (none, "
    "piecewise_linear over quantile bins, periodic), each with its own sizes; not for "
    "feature_attention or per-group branches",
    "group_branch": "the settings of every per-group branch (an mlp)",
    "combiner": "how branch outputs are combined",
    "temperature": "sparse_attention: softmax temperature (low = pick one branch)",
    "normalizer": "sparse_attention: softmax or sparsemax",
    "top_k": "sparse_dense: branches each row is routed to",
    "dropout": "dropout rate inside every branch",
    "learning_rate": "optimizer step size",
    "weight_decay": "decoupled weight decay (AdamW; 0 turns it off)",
    "schedule": "learning rate over training: constant, or cosine decay after a warm-up",
    "warmup_fraction": "cosine schedule: share of all steps spent warming up",
    "label_smoothing": "classification targets: share of probability spread over the "
    "other classes (0 = plain cross-entropy)",
    "scaling": "how numeric columns are scaled (fitted on the training rows)",
    "batch_size": "rows per training step",
    "epochs": "most epochs per trial; early stopping ends sooner",
    "patience": "epochs without a better validation loss before early stopping",
}


def default_space(prepared: PreparedData | None = None) -> dict[str, Any]:
    """A sensible space for ``prepared`` (one branch per group only when it has at most
    ``MAX_GROUP_BRANCHES`` groups); without data, the general one."""
    groups = len(prepared.groups_with_features()) if prepared is not None else 0
    layouts = ["all_columns", "per_group"] if 2 <= groups <= MAX_GROUP_BRANCHES else "all_columns"
    return {
        "space_version": SPACE_VERSION,
        "layout": {"choices": layouts} if isinstance(layouts, list) else layouts,
        "branches": {"low": 2, "high": 4},
        "branch_kinds": {name: copy.deepcopy(k.settings) for name, k in BRANCH_KINDS.items()},
        "group_branch": {
            "depth": {"low": 1, "high": 2},
            "width": {"choices": [8, 16, 32]},
            "activation": "relu",
        },
        "combiner": {"choices": list(combiner_kinds())},
        "temperature": {"low": 0.1, "high": 2.0, "log": True},
        "normalizer": {"choices": list(NORMALIZERS)},
        "top_k": {"low": 1, "high": 3},
        "dropout": {"low": 0.0, "high": 0.4},
        "learning_rate": {"low": 1e-4, "high": 1e-2, "log": True},
        "weight_decay": {"low": 1e-6, "high": 1e-2, "log": True},
        "numeric_embeddings": copy.deepcopy(NUMERIC_EMBEDDINGS),
        "schedule": {"choices": list(SCHEDULES)},
        "warmup_fraction": {"low": 0.0, "high": 0.1},
        "label_smoothing": {"low": 0.0, "high": 0.2},
        "scaling": {"choices": list(SCALINGS)},
        "batch_size": {"choices": [32, 64, 128, 256]},
        "epochs": 40,
        "patience": 5,
    }


# --- checking a space ------------------------------------------------------------------
def _fail(path: str, message: str) -> None:
    raise SpecError(f"space.{path}: {message}")


def _check_dimension(path: str, dim: Any, check_value: Callable[[str, Any], None]) -> None:
    """A dimension is well formed and every value it can give passes ``check_value``."""
    if not isinstance(dim, dict):
        check_value(path, dim)
        return
    if "choices" in dim:
        extra = set(dim) - {"choices"}
        choices = dim["choices"]
        if extra:
            _fail(path, f"a choice list takes only 'choices', not {sorted(extra)}.")
        if not isinstance(choices, list) or not choices:
            _fail(path, "'choices' must be a non-empty list; fix a value instead of an empty one.")
        for i, value in enumerate(choices):
            if isinstance(value, dict | list):
                _fail(f"{path}.choices[{i}]", "a choice must be a plain value.")
            check_value(f"{path}.choices[{i}]", value)
        return
    extra = set(dim) - {"low", "high", "log", "step"}
    if extra or "low" not in dim or "high" not in dim:
        _fail(
            path,
            "expected a value, {'choices': [...]} or {'low': a, 'high': b} "
            f"(optional 'log', 'step'); got {json.dumps(dim)}.",
        )
    low, high = dim["low"], dim["high"]
    if not (is_number(low) and is_number(high)) or low > high:
        _fail(path, f"'low' and 'high' must be numbers with low <= high; got {low!r}, {high!r}.")
    if dim.get("log") and low <= 0:
        _fail(path, "a log range needs low > 0; use a plain range to include 0.")
    if "step" in dim and not (is_number(dim["step"]) and dim["step"] > 0):
        _fail(f"{path}.step", f"expected a positive number, got {dim['step']!r}.")
    if dim.get("log") and "step" in dim:
        _fail(path, "a range cannot have both 'log' and 'step'; drop one.")
    check_value(path + ".low", low)
    check_value(path + ".high", high)


def _whole(low: int = 1) -> Callable[[str, Any], None]:
    def check(path: str, value: Any) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            _fail(path, f"expected a whole number >= {low}, got {value!r}.")

    return check


def _fraction(path: str, value: Any) -> None:
    if not is_number(value) or not 0 <= value < 1:
        _fail(path, f"expected a rate from 0 up to (not including) 1, got {value!r}.")


def _positive(path: str, value: Any) -> None:
    if not is_number(value) or value <= 0:
        _fail(path, f"expected a number > 0, got {value!r}.")


def _flag(path: str, value: Any) -> None:
    if not isinstance(value, bool):
        _fail(path, f"expected true or false, got {value!r}.")


def _not_negative(path: str, value: Any) -> None:
    if not is_number(value) or value < 0:
        _fail(path, f"expected a number >= 0, got {value!r}.")


def _smoothing(path: str, value: Any) -> None:
    if not is_number(value) or not 0 <= value < 0.5:
        _fail(path, f"expected a share from 0 up to (not including) 0.5, got {value!r}.")


def _among(choices, what: str) -> Callable[[str, Any], None]:
    def check(path: str, value: Any) -> None:
        if value not in choices:
            _fail(path, f"unknown {what} {value!r}; choose from {', '.join(map(repr, choices))}.")

    return check


# What each kind's own settings may hold (a new kind lists its settings here too).
SETTING_CHECKS: dict[str, Callable[[str, Any], None]] = {
    "depth": _whole(),
    "width": _whole(),
    "layers": _whole(),
    "heads": _whole(),
    "top_k": _whole(),
    "activation": _among(ACTIVATIONS, "activation"),
    "members": _whole(2),
    "bins": _whole(2),
    "units": _whole(),
    "frequencies": _whole(),
    "sigma": _positive,
    "start_linear": _flag,
}
CHECKS: dict[str, Callable[[str, Any], None]] = {
    "layout": _among(LAYOUTS, "layout"),
    "branches": _whole(),
    "combiner": _among(combiner_kinds(), "combiner"),
    "temperature": _positive,
    "normalizer": _among(NORMALIZERS, "normalizer"),
    "top_k": _whole(),
    "dropout": _fraction,
    "learning_rate": _positive,
    "weight_decay": _not_negative,
    "schedule": _among(SCHEDULES, "schedule"),
    "warmup_fraction": _fraction,
    "label_smoothing": _smoothing,
    "scaling": _among(SCALINGS, "scaling"),
    "batch_size": _whole(),
    "epochs": _whole(),
    "patience": _whole(),
}


def check_space(space: Any) -> dict[str, Any]:
    """The space with every setting present (defaults for the missing ones), checked;
    raises ``SpecError`` naming the bad entry (``space.learning_rate.low: ...``)."""
    if not isinstance(space, dict):
        raise SpecError("space: expected a JSON object of settings; start from the default.")
    version = space.get("space_version", SPACE_VERSION)
    if version != SPACE_VERSION:
        _fail("space_version", f"this sattn-dash reads version {SPACE_VERSION}, not {version!r}.")
    defaults = default_space()
    unknown = set(space) - set(defaults)
    if unknown:
        _fail(
            sorted(unknown)[0],
            f"unknown setting; the settings are {', '.join(sorted(defaults))}.",
        )
    merged = {**defaults, **copy.deepcopy(space)}
    for name, check in CHECKS.items():
        _check_dimension(name, merged[name], check)
    kinds = merged["branch_kinds"]
    if not isinstance(kinds, dict) or not kinds:
        _fail("branch_kinds", f"name at least one kind of branch: {', '.join(BRANCH_KINDS)}.")
    for name, settings in kinds.items():
        if name not in BRANCH_KINDS:
            _fail(f"branch_kinds.{name}", f"unknown kind; known: {', '.join(BRANCH_KINDS)}.")
        kinds[name] = _check_settings(f"branch_kinds.{name}", settings, BRANCH_KINDS[name].settings)
    embeddings = merged["numeric_embeddings"]
    if not isinstance(embeddings, dict) or not embeddings:
        _fail(
            "numeric_embeddings",
            f'name at least one ("none": {{}} for none): {", ".join(NUMERIC_EMBEDDINGS)}.',
        )
    for name, settings in embeddings.items():
        if name not in NUMERIC_EMBEDDINGS:
            _fail(
                f"numeric_embeddings.{name}",
                f"unknown embedding; known: {', '.join(NUMERIC_EMBEDDINGS)}.",
            )
        embeddings[name] = _check_settings(
            f"numeric_embeddings.{name}", settings, NUMERIC_EMBEDDINGS[name]
        )
    merged["group_branch"] = _check_settings(
        "group_branch", merged["group_branch"], BRANCH_KINDS["mlp"].settings
    )
    return merged


def _check_settings(path: str, settings: Any, defaults: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(settings, dict):
        _fail(path, "expected an object of settings ({} keeps the defaults).")
    unknown = set(settings) - set(defaults)
    if unknown:
        _fail(f"{path}.{sorted(unknown)[0]}", f"unknown setting; known: {', '.join(defaults)}.")
    merged = {**copy.deepcopy(defaults), **settings}
    for name, dim in merged.items():
        _check_dimension(f"{path}.{name}", dim, SETTING_CHECKS[name])
    return merged


def load_space(text: str) -> dict[str, Any]:
    """A space from JSON text (a file or the page's editor), checked."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise SpecError(
            f"space: not valid JSON ({err.msg} at line {err.lineno}, column {err.colno}); "
            "fix it or start again from the default space."
        ) from None
    return check_space(data)


# --- one trial's choices -----------------------------------------------------------------
def suggest(trial: Any, name: str, dim: Any) -> Any:
    """The trial's value for one dimension (a fixed value is returned as it is)."""
    if not isinstance(dim, dict):
        return dim
    if "choices" in dim:
        return trial.suggest_categorical(name, dim["choices"])
    low, high = dim["low"], dim["high"]
    if isinstance(low, int) and isinstance(high, int) and isinstance(dim.get("step", 1), int):
        return trial.suggest_int(
            name, low, high, step=dim.get("step", 1), log=dim.get("log", False)
        )
    return trial.suggest_float(
        name, float(low), float(high), step=dim.get("step"), log=dim.get("log", False)
    )


def _kind_values(trial: Any, prefix: str, settings: dict[str, Any]) -> dict[str, Any]:
    return {key: suggest(trial, f"{prefix}{key}", dim) for key, dim in settings.items()}


def _pick(trial: Any, name: str, options: dict[str, Any]) -> str:
    """One of a registry's names (a parameter only when there is a choice)."""
    names = list(options)
    return suggest(trial, name, {"choices": names} if len(names) > 1 else names[0])


def _numeric_embedding(
    trial: Any, prefix: str, embeddings: dict[str, Any]
) -> tuple[BlockSpec, ...]:
    name = _pick(trial, prefix + "embedding", embeddings)
    if name == "none":
        return ()
    return (BlockSpec(name, **_kind_values(trial, f"{prefix}{name}_", embeddings[name])),)


# What a setting added after a space was saved reads as in it: the behaviour before it.
UNSET_MEANS: dict[str, Any] = {
    "numeric_embeddings": {"none": {}},
    "schedule": "constant",
    "warmup_fraction": 0.0,
    "label_smoothing": 0.0,
    "scaling": "standard",
}


def sample(
    space: dict[str, Any], trial: Any, prepared: PreparedData
) -> tuple[ModelSpec, dict[str, Any]]:
    """The model and training settings of one trial: ``(spec, config values)``, the spec
    checked against ``prepared`` (raises ``SpecError`` when the trial's mix cannot build).
    """
    space = {**UNSET_MEANS, **space}
    dropout = suggest(trial, "dropout", space["dropout"])
    layout = suggest(trial, "layout", space["layout"])
    branches: list[BranchSpec] = []
    if layout == "per_group":
        values = _kind_values(trial, "group_", space["group_branch"])
        for i, group in enumerate(prepared.groups_with_features()):
            blocks = _mlp_blocks(values, dropout, prepared)
            branches.append(BranchSpec(f"group{i + 1}", inputs=(group,), blocks=blocks))
    else:
        for i in range(suggest(trial, "branches", space["branches"])):
            prefix = f"branch{i + 1}_"
            kind = _pick(trial, prefix + "kind", space["branch_kinds"])
            # Named by kind too: two kinds' "width" have different choices.
            values = _kind_values(trial, f"{prefix}{kind}_", space["branch_kinds"][kind])
            blocks = BRANCH_KINDS[kind].blocks(values, dropout, prepared)
            if kind in EMBEDDING_KINDS:
                blocks = _numeric_embedding(trial, prefix, space["numeric_embeddings"]) + blocks
            branches.append(BranchSpec(f"{kind}{i + 1}", blocks=blocks))
    combiner = _combiner(space, trial, len(branches))
    weight_decay = suggest(trial, "weight_decay", space["weight_decay"])
    schedule = suggest(trial, "schedule", space["schedule"])
    classifies = any(task != "regression" for task in prepared.tasks.values())
    spec = ModelSpec(
        name=f"trial {trial.number}",
        branches=tuple(branches),
        combiner=combiner,
        heads=tuple(HeadSpec(target) for target in prepared.tasks),
        optimizer="adamw" if weight_decay > 0 else "adam",
        learning_rate=suggest(trial, "learning_rate", space["learning_rate"]),
        weight_decay=weight_decay,
        schedule=schedule,
        warmup_fraction=(
            suggest(trial, "warmup_fraction", space["warmup_fraction"])
            if schedule == "cosine"
            else 0.0
        ),
        label_smoothing=(
            suggest(trial, "label_smoothing", space["label_smoothing"]) if classifies else 0.0
        ),
    )
    config = {
        "batch_size": suggest(trial, "batch_size", space["batch_size"]),
        "epochs": suggest(trial, "epochs", space["epochs"]),
        "patience": suggest(trial, "patience", space["patience"]),
        "scaling": suggest(trial, "scaling", space["scaling"]),
    }
    return spec.validate(prepared), config


def _combiner(space: dict[str, Any], trial: Any, n_branches: int) -> CombinerSpec:
    kind = suggest(trial, "combiner", space["combiner"])
    searched = {name: suggest(trial, name, space[name]) for name in combiner(kind).searched}
    return CombinerSpec(kind, **combiner(kind).limit(searched, n_branches))
