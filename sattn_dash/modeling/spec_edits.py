"""Pure edits of a ModelSpec that the branch editor offers: add, remove, move a branch,
rebuild a block stack from an edited table. No Streamlit; each returns a new spec.

(They only use ``dataclasses.replace`` and the spec's own field tables.)
"""

from __future__ import annotations

import math
from dataclasses import fields, replace

import pandas as pd

from sattn_dash.modeling.spec import (
    BLOCK_FIELDS,
    INT_FIELDS,
    BlockSpec,
    BranchSpec,
    HeadSpec,
    ModelSpec,
)

BLOCK_COLUMNS = [f.name for f in fields(BlockSpec)]
# Values a kind needs that the spec gives no default for: the editor fills these in so a
# newly picked kind is valid at once (the user can change them).
STARTER_VALUES = {"dense": {"units": 32}, "dropout": {"rate": 0.1}, "residual": {"units": 32}}


def blocks_frame(blocks: tuple[BlockSpec, ...]) -> pd.DataFrame:
    """A branch's blocks as a table, one row per block, a column per block field."""
    rows = [{name: getattr(b, name) for name in BLOCK_COLUMNS} for b in blocks]
    frame = pd.DataFrame(rows, columns=BLOCK_COLUMNS)
    for name in INT_FIELDS:
        frame[name] = frame[name].astype("Int64")
    for name in ("rate", "sigma"):
        frame[name] = frame[name].astype("Float64")
    for name in ("cls_token", "lite", "start_linear"):
        frame[name] = frame[name].astype("boolean")
    for name in ("kind", "activation", "pooling"):
        frame[name] = frame[name].astype("object")
    return frame


def _plain(value):
    """A table cell as a plain Python value (None for any kind of missing)."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return value
    return value


def block_from_row(row: dict) -> BlockSpec:
    """A block from one table row: fields the kind does not use are dropped, and a
    required field left empty gets a starter value."""
    kind = _plain(row.get("kind")) or "dense"
    used = BLOCK_FIELDS.get(kind, {})
    values = {name: _plain(row.get(name)) for name in used}
    for name, value in STARTER_VALUES.get(kind, {}).items():
        if values.get(name) is None:
            values[name] = value
    for name in INT_FIELDS:
        if isinstance(values.get(name), float):
            values[name] = int(values[name])
    return BlockSpec(kind, **{k: v for k, v in values.items() if v is not None})


def blocks_from_frame(frame: pd.DataFrame) -> tuple[BlockSpec, ...]:
    """The block stack of an edited table; rows with no kind are skipped."""
    rows = frame.to_dict("records")
    return tuple(block_from_row(r) for r in rows if _plain(r.get("kind")))


def with_branch(spec: ModelSpec, index: int, branch: BranchSpec) -> ModelSpec:
    branches = list(spec.branches)
    branches[index] = branch
    return replace(spec, branches=tuple(branches))


def add_branch(spec: ModelSpec) -> ModelSpec:
    """A new small dense branch over all features, with a name not yet taken."""
    taken = set(spec.branch_names)
    n = len(spec.branches) + 1
    while f"branch_{n}" in taken:
        n += 1
    branch = BranchSpec(f"branch_{n}", "all", (BlockSpec("dense", units=32, activation="relu"),))
    return replace(spec, branches=(*spec.branches, branch))


def remove_branch(spec: ModelSpec, index: int) -> ModelSpec:
    """Drop a branch; a routing top_k above the branches left is lowered to fit."""
    branches = spec.branches[:index] + spec.branches[index + 1 :]
    combiner = spec.combiner
    modules = len([m for b in branches for m in b.module_names])
    if branches and combiner.top_k > modules:
        combiner = replace(combiner, top_k=modules)
    return replace(spec, branches=branches, combiner=combiner)


def move_branch(spec: ModelSpec, index: int, step: int) -> ModelSpec:
    """Move a branch up (step -1) or down (+1); out-of-range moves change nothing."""
    target = index + step
    if not 0 <= target < len(spec.branches):
        return spec
    branches = list(spec.branches)
    branches[index], branches[target] = branches[target], branches[index]
    return replace(spec, branches=tuple(branches))


def fit_heads(spec: ModelSpec, targets: list[str]) -> ModelSpec:
    """One head per target, in target order: kept heads keep their settings, new targets
    get a default head, heads of targets no longer chosen are dropped."""
    by_target = {h.target: h for h in spec.heads}
    heads = tuple(by_target.get(t) or HeadSpec(t) for t in targets)
    return spec if heads == spec.heads else replace(spec, heads=heads)
