"""The model as data: frozen dataclasses a user can save, share, diff and reload.

A spec says what to build, never how: ``build_model`` turns it into Keras layers. Every
check a user can fail lives in ``ModelSpec.validate`` and names the bad field by its path
(``branches[1].blocks[0].activation``) so a page or the CLI can point at it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, fields
from typing import Any

from sattn_dash.errors import SpecError
from sattn_dash.modeling.checks import choices as _choices
from sattn_dash.modeling.checks import known_fields as _known_fields
from sattn_dash.modeling.checks import mapping as _require_mapping
from sattn_dash.modeling.checks import number as _number
from sattn_dash.modeling.checks import one_of as _one_of
from sattn_dash.modeling.checks import positive_int as _positive_int
from sattn_dash.modeling.combiners import CombinerSpec

SPEC_VERSION = 1

BLOCK_KINDS = (
    "dense",
    "dropout",
    "batchnorm",
    "layernorm",
    "residual",
    "feature_attention",
    "piecewise_linear",
    "periodic",
    "batch_ensemble",
)
# Kinds that embed each numeric column on its own: they read raw columns, so only a
# branch's first block may be one.
NUMERIC_EMBEDDINGS = ("piecewise_linear", "periodic")
ACTIVATIONS = (
    "linear",
    "relu",
    "tanh",
    "sigmoid",
    "swish",
    "gelu",
    "elu",
    "selu",
    "softplus",
    "leaky_relu",
    "mish",
)
OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop", "nadam")
POOLINGS = ("cls", "mean")
SCHEDULES = ("constant", "cosine")
# How a branch reads integer-coded categorical columns: never as a number.
CATEGORICAL_ENCODINGS = ("embedding", "one_hot")

# Which optional fields each block kind reads, with the default filled in when left out.
BLOCK_FIELDS: dict[str, dict[str, Any]] = {
    "dense": {"units": None, "activation": "linear"},
    "dropout": {"rate": None},
    "batchnorm": {},
    "layernorm": {},
    "residual": {"units": None, "activation": "relu", "layers": 2, "hidden_units": None},
    "feature_attention": {
        "units": 16,
        "heads": 2,
        "key_dim": 8,
        "top_k": 4,
        "layers": 1,
        "cls_token": True,
        "pooling": None,
        "rate": 0.0,
    },
    "piecewise_linear": {"units": 8, "bins": 32, "activation": "relu", "start_linear": False},
    "periodic": {
        "units": 16,
        "frequencies": 16,
        "sigma": 0.1,
        "lite": False,
        "activation": "relu",
    },
    "batch_ensemble": {
        "units": 256,
        "layers": 2,
        "members": 8,
        "activation": "relu",
        "rate": 0.1,
    },
}
INT_FIELDS = (
    "units",
    "heads",
    "key_dim",
    "top_k",
    "layers",
    "hidden_units",
    "bins",
    "frequencies",
    "members",
)
# Fields a kind needs that have no default.
REQUIRED_BLOCK_FIELDS = {"dense": ("units",), "dropout": ("rate",), "residual": ("units",)}

BRANCH_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")


def head_name(target: str) -> str:
    """The output (and layer) name of a target's head: Keras names allow no '/'."""
    return "head_" + re.sub(r"[^0-9A-Za-z_]+", "_", str(target)).strip("_")


def member_name(branch: str, index: int) -> str:
    """The module name of member ``index`` (from 0) of a ``batch_ensemble`` branch."""
    return f"{branch}_m{index + 1}"


def members_output_name(target: str, branch: str) -> str:
    """The output holding every member's own prediction of ``target`` for ``branch``."""
    return f"{head_name(target)}_members_{branch}"


def output_targets(spec: ModelSpec) -> dict[str, str]:
    """``{model output name: target}``: each head, then each ensemble branch's member
    predictions (``members_output_name``), which train on the same target values."""
    names = {head_name(h.target): h.target for h in spec.heads}
    for branch in spec.branches:
        if branch.members:
            names.update({members_output_name(h.target, branch.name): h.target for h in spec.heads})
    return names


@dataclass(frozen=True)
class BlockSpec:
    """One step of a branch's stack. Fields a kind does not read stay ``None``.

    - ``dense``: ``units``, ``activation``.
    - ``dropout``: ``rate``.
    - ``batchnorm``, ``layernorm``: nothing.
    - ``residual``: ``layers`` Dense layers (``hidden_units`` wide, the last ``units``
      wide) added to the block's input, projected when the widths differ.
    - ``feature_attention``: FT-Transformer style: one ``units``-wide token per input
      feature (plus a CLS token), ``layers`` x SparseDenseMultiHeadAttention (``heads``,
      ``key_dim``, ``top_k``, dropout ``rate``) with residual + layer norm + feed-forward,
      then ``pooling`` (``cls`` or ``mean``) down to ``units`` values.
    - ``piecewise_linear`` (first block only): each numeric column encoded over ``bins``
      quantile bins of the training split, then its own Dense(``units``, ``activation``)
      (Gorishniy et al. 2022, "Q-LR"); the bin edges are saved in the model. With
      ``start_linear`` (TabM's version) it starts as a linear embedding of the value
      and learns the piecewise part on top.
    - ``periodic`` (first block only): each numeric column as ``frequencies`` learned
      sine/cosine pairs (initial scale ``sigma``), then Dense(``units``, ``activation``)
      per column, or one shared Dense with ``lite`` ("PLR").
    - ``batch_ensemble`` (last block only): TabM-style, ``members`` MLPs of ``layers``
      Dense(``units``, ``activation``) + dropout ``rate`` sharing their kernels, differing
      by rank-one adapters. Each member is a module of its own: the combiner weighs
      ``<branch>_m1`` ... ``<branch>_m<members>`` and each member is also trained on its
      own loss.
    """

    kind: str
    units: int | None = None
    activation: str | None = None
    rate: float | None = None
    heads: int | None = None
    key_dim: int | None = None
    top_k: int | None = None
    layers: int | None = None
    cls_token: bool | None = None
    pooling: str | None = None
    hidden_units: int | None = None
    bins: int | None = None
    frequencies: int | None = None
    sigma: float | None = None
    lite: bool | None = None
    members: int | None = None
    start_linear: bool | None = None

    def __post_init__(self):
        # Fill the kind's defaults so a saved spec says exactly what was built.
        for name, default in BLOCK_FIELDS.get(self.kind, {}).items():
            if getattr(self, name) is None and default is not None:
                object.__setattr__(self, name, default)
        if self.kind == "residual" and self.hidden_units is None and self.units is not None:
            object.__setattr__(self, "hidden_units", self.units)
        if self.kind == "feature_attention" and self.pooling is None:
            object.__setattr__(self, "pooling", "cls" if self.cls_token else "mean")

    def validate(self, path: str) -> None:
        _one_of(f"{path}.kind", self.kind, BLOCK_KINDS, "block kind")
        used = BLOCK_FIELDS[self.kind]
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "kind" or value is None:
                continue
            if f.name not in used:
                raise SpecError(
                    f"{path}.{f.name}: a {self.kind!r} block does not use {f.name!r}; "
                    f"remove it (a {self.kind!r} block reads: {_choices(used) or 'nothing'})."
                )
        for name in REQUIRED_BLOCK_FIELDS.get(self.kind, ()):
            if getattr(self, name) is None:
                raise SpecError(f"{path}.{name}: a {self.kind!r} block needs {name!r}; set it.")
        for name in INT_FIELDS:
            if name in used:
                _positive_int(f"{path}.{name}", getattr(self, name))
        if "bins" in used and self.bins < 2:
            raise SpecError(f"{path}.bins: expected at least 2 bins, got {self.bins!r}.")
        if "sigma" in used:
            _number(f"{path}.sigma", self.sigma, low=0.0, low_open=True)
        for name in ("lite", "start_linear"):
            if name in used and not isinstance(getattr(self, name), bool):
                raise SpecError(
                    f"{path}.{name}: expected true or false, got {getattr(self, name)!r}."
                )
        if "activation" in used:
            _one_of(f"{path}.activation", self.activation, ACTIVATIONS, "activation")
        if "rate" in used:
            _number(f"{path}.rate", self.rate, low=0.0, low_open=False, high=1.0)
        if self.kind == "feature_attention":
            if not isinstance(self.cls_token, bool):
                raise SpecError(
                    f"{path}.cls_token: expected true or false, got {self.cls_token!r}."
                )
            _one_of(f"{path}.pooling", self.pooling, POOLINGS, "pooling")
            if self.pooling == "cls" and not self.cls_token:
                raise SpecError(
                    f"{path}.pooling: 'cls' pooling needs a CLS token; set cls_token to "
                    "true or use 'mean' pooling."
                )

    def to_dict(self) -> dict:
        return {
            f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None
        }

    @classmethod
    def from_dict(cls, data: dict, path: str = "block") -> BlockSpec:
        return cls(**_known_fields(cls, data, path))


@dataclass(frozen=True)
class BranchSpec:
    """A named sub-network: which features it reads and its stack of blocks.

    ``inputs`` is ``"all"`` or source column names and/or column group names.
    ``categorical`` says how the integer-coded (many-level) categorical columns it reads
    are encoded before its first block: ``embedding`` (a learned vector per level,
    ``embedding_dim`` wide; None = ``1.6 * levels^0.56`` capped at 16) or ``one_hot``.
    Code 0 is the reserved level for unseen and missing values. A ``feature_attention``
    first block embeds them in its own tokens instead.
    """

    name: str
    inputs: str | tuple[str, ...] = "all"
    blocks: tuple[BlockSpec, ...] = ()
    categorical: str = "embedding"
    embedding_dim: int | None = None

    def validate(self, path: str) -> None:
        if not isinstance(self.name, str) or not BRANCH_NAME.match(self.name):
            raise SpecError(
                f"{path}.name: {self.name!r} is not a usable branch name; use a letter "
                "followed by letters, digits or underscores (at most 40 characters)."
            )
        if self.inputs != "all":
            if not isinstance(self.inputs, tuple) or not self.inputs:
                raise SpecError(
                    f"{path}.inputs: expected 'all' or a non-empty list of column or group "
                    f"names, got {self.inputs!r}."
                )
            for i, name in enumerate(self.inputs):
                if not isinstance(name, str) or not name:
                    raise SpecError(
                        f"{path}.inputs[{i}]: expected a column or group name, got {name!r}."
                    )
        if not isinstance(self.blocks, tuple) or not self.blocks:
            raise SpecError(f"{path}.blocks: a branch needs at least one block; add a dense block.")
        _one_of(
            f"{path}.categorical", self.categorical, CATEGORICAL_ENCODINGS, "categorical encoding"
        )
        if self.embedding_dim is not None:
            _positive_int(f"{path}.embedding_dim", self.embedding_dim)
            if self.categorical != "embedding":
                raise SpecError(
                    f"{path}.embedding_dim: only an 'embedding' encoding has a width; "
                    "remove embedding_dim or set categorical to 'embedding'."
                )
        last = len(self.blocks) - 1
        for i, block in enumerate(self.blocks):
            if not isinstance(block, BlockSpec):
                raise SpecError(f"{path}.blocks[{i}]: expected a block, got {block!r}.")
            block.validate(f"{path}.blocks[{i}]")
            if block.kind in NUMERIC_EMBEDDINGS and i > 0:
                raise SpecError(
                    f"{path}.blocks[{i}].kind: a {block.kind!r} block embeds raw columns, so "
                    "it must be the branch's first block; move it to the top."
                )
            if block.kind == "batch_ensemble" and i < last:
                raise SpecError(
                    f"{path}.blocks[{i}].kind: a 'batch_ensemble' block ends its branch (its "
                    "members are the modules the combiner weighs); move it to the bottom or "
                    "remove the blocks after it."
                )

    @property
    def members(self) -> int:
        """How many ensemble members the branch ends in (0: a plain branch)."""
        last = self.blocks[-1] if self.blocks else None
        return last.members if last is not None and last.kind == "batch_ensemble" else 0

    @property
    def module_names(self) -> list[str]:
        if not self.members:
            return [self.name]
        return [member_name(self.name, i) for i in range(self.members)]

    def feature_positions(self, prepared) -> list[int]:
        """The model input columns this branch reads, in ``prepared``'s feature order."""
        return list(prepared.features_for("all" if self.inputs == "all" else list(self.inputs)))

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "inputs": self.inputs if self.inputs == "all" else list(self.inputs),
            "blocks": [b.to_dict() for b in self.blocks],
            "categorical": self.categorical,
            "embedding_dim": self.embedding_dim,
        }

    @classmethod
    def from_dict(cls, data: dict, path: str = "branch") -> BranchSpec:
        values = _known_fields(cls, data, path)
        inputs = values.get("inputs", "all")
        if isinstance(inputs, list):
            values["inputs"] = tuple(inputs)
        blocks = values.get("blocks", ())
        if not isinstance(blocks, list | tuple):
            raise SpecError(f"{path}.blocks: expected a list of blocks, got {blocks!r}.")
        values["blocks"] = tuple(
            BlockSpec.from_dict(b, f"{path}.blocks[{i}]") for i, b in enumerate(blocks)
        )
        return cls(**values)


@dataclass(frozen=True)
class HeadSpec:
    """The output for one target: optional hidden Dense(relu) layers, then the task's
    activation (sigmoid, softmax, or a rescale to the target's units) and its loss."""

    target: str
    loss_weight: float = 1.0
    hidden_units: tuple[int, ...] = ()

    def validate(self, path: str) -> None:
        if not isinstance(self.target, str) or not self.target:
            raise SpecError(f"{path}.target: expected a target column name, got {self.target!r}.")
        _number(f"{path}.loss_weight", self.loss_weight, low=0.0, low_open=False)
        if not isinstance(self.hidden_units, tuple):
            raise SpecError(
                f"{path}.hidden_units: expected a list of widths, got {self.hidden_units!r}."
            )
        for i, units in enumerate(self.hidden_units):
            _positive_int(f"{path}.hidden_units[{i}]", units)

    def to_dict(self) -> dict:
        return {
            "target": self.target,
            "loss_weight": self.loss_weight,
            "hidden_units": list(self.hidden_units),
        }

    @classmethod
    def from_dict(cls, data: dict, path: str = "head") -> HeadSpec:
        values = _known_fields(cls, data, path)
        if isinstance(values.get("hidden_units"), list):
            values["hidden_units"] = tuple(values["hidden_units"])
        return cls(**values)


@dataclass(frozen=True)
class ModelSpec:
    """A whole model: branches, the combiner that weighs them, one head per target,
    and how it learns.

    The training recipe: ``optimizer`` at ``learning_rate`` with decoupled
    ``weight_decay`` (None: the optimizer's Keras default, 0.004 for AdamW, none for
    the others); ``schedule`` ``constant`` or ``cosine`` (linear warm-up over the first
    ``warmup_fraction`` of all steps, then cosine decay to 0 over the epoch budget);
    ``label_smoothing`` for classification losses (0 = plain cross-entropy). The
    defaults are what a spec written before these fields trained with.
    """

    name: str
    branches: tuple[BranchSpec, ...]
    combiner: CombinerSpec = field(default_factory=CombinerSpec)
    heads: tuple[HeadSpec, ...] = ()
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    preset: str | None = None
    weight_decay: float | None = None
    schedule: str = "constant"
    warmup_fraction: float = 0.0
    label_smoothing: float = 0.0

    def validate(self, data=None) -> ModelSpec:
        """Check the spec, and against ``data`` (a PreparedData or a Schema) when given.

        Returns the spec so calls chain; raises SpecError naming the first bad field.
        """
        if not isinstance(self.name, str) or not self.name.strip():
            raise SpecError("name: a model needs a name; set a short title.")
        if not isinstance(self.branches, tuple) or not self.branches:
            raise SpecError("branches: a model needs at least one branch; add one.")
        seen: set[str] = set()
        for i, branch in enumerate(self.branches):
            if not isinstance(branch, BranchSpec):
                raise SpecError(f"branches[{i}]: expected a branch, got {branch!r}.")
            branch.validate(f"branches[{i}]")
            if branch.name in seen:
                raise SpecError(
                    f"branches[{i}].name: {branch.name!r} is used by another branch; "
                    "give each branch its own name."
                )
            for other in seen:
                _check_names_apart(f"branches[{i}].name", branch.name, other)
            seen.add(branch.name)
        if not isinstance(self.combiner, CombinerSpec):
            raise SpecError(f"combiner: expected a combiner, got {self.combiner!r}.")
        for i, branch in enumerate(self.branches):
            if branch.members:
                member = re.compile(re.escape(branch.name) + r"_m\d+$")
                for j, other in enumerate(self.branches):
                    if member.match(other.name):
                        raise SpecError(
                            f"branches[{j}].name: {other.name!r} looks like a member of the "
                            f"batch_ensemble branch {branch.name!r} (branches[{i}]); rename it."
                        )
        self.combiner.validate("combiner", len(self.module_names))
        if not isinstance(self.heads, tuple) or not self.heads:
            raise SpecError("heads: a model needs one head per target; add one.")
        outputs: dict[str, str] = {}
        for i, head in enumerate(self.heads):
            if not isinstance(head, HeadSpec):
                raise SpecError(f"heads[{i}]: expected a head, got {head!r}.")
            head.validate(f"heads[{i}]")
            other = outputs.get(head_name(head.target))
            if other is not None:
                raise SpecError(
                    f"heads[{i}].target: {head.target!r} clashes with the head for {other!r} "
                    "(same output name); keep one head per target."
                )
            outputs[head_name(head.target)] = head.target
        for i, head in enumerate(self.heads):
            for branch in self.branches:
                name = members_output_name(head.target, branch.name)
                if branch.members and name in outputs:
                    raise SpecError(
                        f"heads[{i}].target: the members of branch {branch.name!r} predict "
                        f"{head.target!r} under the name {name!r}, which is the head of "
                        f"target {outputs[name]!r}; rename the branch."
                    )
        if not any(h.loss_weight > 0 for h in self.heads):
            raise SpecError(
                "heads: every loss_weight is 0, so nothing would be learned; raise one."
            )
        _one_of("optimizer", self.optimizer, OPTIMIZERS, "optimizer")
        _number("learning_rate", self.learning_rate, low=0.0, low_open=True)
        if self.weight_decay is not None:
            _number("weight_decay", self.weight_decay, low=0.0, low_open=False)
        _one_of("schedule", self.schedule, SCHEDULES, "learning-rate schedule")
        _number("warmup_fraction", self.warmup_fraction, low=0.0, low_open=False, high=1.0)
        _number("label_smoothing", self.label_smoothing, low=0.0, low_open=False, high=0.5)
        if self.preset is not None and not isinstance(self.preset, str):
            raise SpecError(f"preset: expected a preset name or null, got {self.preset!r}.")
        if data is not None:
            _validate_against(self, data)
        return self

    def branch(self, name: str) -> BranchSpec:
        for branch in self.branches:
            if branch.name == name:
                return branch
        raise SpecError(f"no branch named {name!r}; branches are {_choices(self.branch_names)}.")

    @property
    def branch_names(self) -> list[str]:
        return [b.name for b in self.branches]

    @property
    def module_names(self) -> list[str]:
        """What the combiner weighs, in order: each branch, or a ``batch_ensemble``
        branch's members ``<branch>_m1`` ... ``<branch>_m<k>``."""
        return [name for b in self.branches for name in b.module_names]

    def to_dict(self) -> dict:
        return {
            "spec_version": SPEC_VERSION,
            "name": self.name,
            "preset": self.preset,
            "branches": [b.to_dict() for b in self.branches],
            "combiner": self.combiner.to_dict(),
            "heads": [h.to_dict() for h in self.heads],
            "optimizer": self.optimizer,
            "learning_rate": self.learning_rate,
            "weight_decay": self.weight_decay,
            "schedule": self.schedule,
            "warmup_fraction": self.warmup_fraction,
            "label_smoothing": self.label_smoothing,
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, data: dict) -> ModelSpec:
        """Rebuild and validate a spec written by ``to_dict`` (or by hand)."""
        data = dict(_require_mapping(data, "spec"))
        version = data.pop("spec_version", SPEC_VERSION)
        if version != SPEC_VERSION:
            raise SpecError(
                f"spec_version: this sattn-dash reads version {SPEC_VERSION}, the file says "
                f"{version!r}; re-export the spec from a matching version."
            )
        values = _known_fields(cls, data, "spec")
        branches = values.get("branches", [])
        if not isinstance(branches, list | tuple):
            raise SpecError(f"branches: expected a list of branches, got {branches!r}.")
        values["branches"] = tuple(
            BranchSpec.from_dict(b, f"branches[{i}]") for i, b in enumerate(branches)
        )
        if "combiner" in values:
            values["combiner"] = CombinerSpec.from_dict(values["combiner"], "combiner")
        heads = values.get("heads", [])
        if not isinstance(heads, list | tuple):
            raise SpecError(f"heads: expected a list of heads, got {heads!r}.")
        values["heads"] = tuple(HeadSpec.from_dict(h, f"heads[{i}]") for i, h in enumerate(heads))
        return cls(**values).validate()

    @classmethod
    def from_json(cls, text: str) -> ModelSpec:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise SpecError(
                f"spec: not valid JSON ({err.msg} at line {err.lineno}); fix the file or "
                "export the spec again."
            ) from None
        return cls.from_dict(data)


def _check_names_apart(path: str, name: str, other: str) -> None:
    """Layer names are ``branch_<name>_<block>_<kind>``: branch ``a_0`` would own the
    layers of block 0 of branch ``a``, so such a pair of names is refused."""
    for longer, shorter in ((name, other), (other, name)):
        if re.match(re.escape(shorter) + r"_\d+(_|$)", longer):
            raise SpecError(
                f"{path}: {longer!r} is {shorter!r} plus '_<number>', which makes their "
                f"layer names clash; rename one (e.g. {longer.replace('_', '', 1)!r})."
            )


def _validate_against(spec: ModelSpec, data) -> None:
    """Check that columns, groups and targets named by the spec exist in the data."""
    prepared = data if hasattr(data, "features_for") else None
    schema = prepared.schema if prepared is not None else data
    choices = schema.groups_or_columns()
    for i, branch in enumerate(spec.branches):
        if branch.inputs == "all":
            continue
        for j, name in enumerate(branch.inputs):
            known = name in choices or (prepared is not None and name in prepared.feature_sources)
            if not known:
                raise SpecError(
                    f"branches[{i}].inputs[{j}]: no feature column or group named {name!r}; "
                    f"choose from {_choices(list(choices)[:20])}"
                    + (", ..." if len(choices) > 20 else "")
                    + " (or 'all')."
                )
        if prepared is not None and not branch.feature_positions(prepared):
            raise SpecError(
                f"branches[{i}].inputs: {list(branch.inputs)!r} feed no model input; "
                "choose other columns."
            )
    targets = schema.target_names
    heads = [h.target for h in spec.heads]
    for i, target in enumerate(heads):
        if target not in targets:
            raise SpecError(
                f"heads[{i}].target: the data has no target {target!r}; targets are "
                f"{_choices(targets)}."
            )
    for target in targets:
        if target not in heads:
            raise SpecError(
                f"heads: no head for target {target!r}; add a head for it (one head per target)."
            )
