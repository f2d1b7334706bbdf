"""The schema: what each column is, what to predict, and which columns belong together.

A `Schema` is the visible, reversible record of every automatic decision about a table:
each column's role comes with the reason in plain words, and every `with_*` method
returns a new schema with one decision changed. Schemas made by `infer_schema` keep a
reference to their table so that changing a role or target re-runs the inference
(hints and class counts stay true); a schema loaded from JSON is read-only in that
respect but can still change its groups.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum

import pandas as pd

from sattn_dash.errors import DataError

TASKS = ("binary", "multiclass", "regression")
CLASSIFICATION = ("binary", "multiclass")


class Role(StrEnum):
    """How a column is used. Only numeric, categorical, boolean and datetime columns
    feed the model; the rest are shown but left out (and say why)."""

    numeric = "numeric"
    categorical = "categorical"
    boolean = "boolean"
    datetime = "datetime"
    text = "text"
    identifier = "identifier"
    constant = "constant"
    excluded = "excluded"
    target = "target"


FEATURE_ROLES = (Role.numeric, Role.categorical, Role.boolean, Role.datetime)


def as_role(value: Role | str) -> Role:
    """A Role from its name, or DataError listing the roles there are."""
    try:
        return Role(value)
    except ValueError:
        roles = ", ".join(r.value for r in Role)
        raise DataError(f"There is no role {value!r}. Choose one of: {roles}.") from None


@dataclass(frozen=True)
class ColumnInfo:
    """One column: its role, why, and the counts behind the decision.

    `flags` name things worth a look: mostly_missing, high_cardinality (integer codes
    for an embedding instead of one-hot), not_finite (inf or huge values count as
    missing), coerced_numeric (a few non-numbers count as missing), possible_leakage,
    set_by_user.
    """

    name: str
    role: Role
    reason: str
    dtype: str
    n_missing: int
    n_unique: int
    missing_fraction: float
    flags: tuple[str, ...] = ()

    @property
    def is_feature(self) -> bool:
        return self.role in FEATURE_ROLES


@dataclass(frozen=True)
class TargetInfo:
    """A column to predict. `classes` are the labels in code order (code i = classes[i];
    for binary, classes[1] is 1); regression targets have no classes."""

    name: str
    task: str
    classes: tuple = ()
    class_counts: tuple[int, ...] = ()
    n_missing_dropped: int = 0

    @property
    def is_classification(self) -> bool:
        return self.task in CLASSIFICATION


@dataclass(frozen=True)
class Hint:
    """Advice a careful analyst would give; level is "info" or "warning"."""

    level: str
    column: str | None
    message: str


@dataclass(frozen=True)
class Schema:
    columns: tuple[ColumnInfo, ...]
    targets: tuple[TargetInfo, ...] = ()
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    hints: tuple[Hint, ...] = ()
    n_rows: int = 0
    role_overrides: dict[str, str] = field(default_factory=dict)
    task_overrides: dict[str, str] = field(default_factory=dict)
    # Infers this schema's table again with other decisions (``infer_schema`` bound to
    # the table; set by ``infer_schema``, None for a schema loaded without its table).
    # Held as a value so this module need not import ``infer``, which imports it.
    _reinfer_with: Callable[..., Schema] | None = field(default=None, repr=False, compare=False)

    # --- reading -------------------------------------------------------------------

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def target_names(self) -> list[str]:
        return [t.name for t in self.targets]

    @property
    def feature_columns(self) -> list[str]:
        """Source columns the model uses as inputs, in table order."""
        return [c.name for c in self.columns if c.is_feature]

    def column(self, name: str) -> ColumnInfo:
        for info in self.columns:
            if info.name == name:
                return info
        raise DataError(unknown_name("column", name, self.names))

    def target(self, name: str) -> TargetInfo:
        for info in self.targets:
            if info.name == name:
                return info
        raise DataError(unknown_name("target", name, self.target_names))

    def task(self, target: str) -> str:
        return self.target(target).task

    def groups_or_columns(self) -> dict[str, tuple[str, ...]]:
        """The user's groups (feature columns only) then one group per other feature."""
        features = self.feature_columns
        out, grouped = {}, set()
        for name, members in self.groups.items():
            kept = tuple(c for c in members if c in features)
            grouped.update(members)
            if kept:
                out[name] = kept
        for column in features:
            if column not in grouped:
                out[column] = (column,)
        return out

    # --- changing one decision -----------------------------------------------------

    def with_role(self, column: str, role: Role | str | None) -> Schema:
        """Set a column's role (None goes back to the detected one). Setting "target"
        adds it to the targets; giving a target another role removes it from them."""
        self.column(column)
        targets = self.target_names
        overrides = dict(self.role_overrides)
        overrides.pop(column, None)
        if role is not None and as_role(role) == Role.target:
            return self._reinfer(targets + [c for c in [column] if c not in targets], overrides)
        if role is not None:
            overrides[column] = as_role(role).value
        return self._reinfer([t for t in targets if t != column], overrides)

    def with_targets(self, names, tasks: dict[str, str] | None = None) -> Schema:
        """Predict these columns (in this order; the first classification target is the
        one splits are stratified on). Targets leave any group they were in."""
        names = [names] if isinstance(names, str) else list(names)
        overrides = {k: v for k, v in self.role_overrides.items() if k not in names}
        task_overrides = {k: v for k, v in self.task_overrides.items() if k in names}
        task_overrides.update(tasks or {})
        return self._reinfer(names, overrides, task_overrides)

    def with_task(self, target: str, task: str | None) -> Schema:
        """Override the detected task of a target (None goes back to detection)."""
        self.target(target)
        task_overrides = {k: v for k, v in self.task_overrides.items() if k != target}
        if task is not None:
            task_overrides[target] = task
        return self._reinfer(self.target_names, dict(self.role_overrides), task_overrides)

    def with_group(self, name: str, columns) -> Schema:
        """Add or replace a named group of columns (a branch can take it as its input)."""
        groups = {**self.groups, name: tuple(columns)}
        return replace(self, groups=check_groups(groups, self.names, self.target_names))

    def without_group(self, name: str) -> Schema:
        if name not in self.groups:
            raise DataError(unknown_name("group", name, list(self.groups)))
        return replace(self, groups={k: v for k, v in self.groups.items() if k != name})

    def _reinfer(self, targets, role_overrides, task_overrides=None) -> Schema:
        if self._reinfer_with is None:
            raise DataError(
                "This schema was loaded from a saved run, without its table, so roles and "
                "targets cannot change here. Load the table and infer the schema again."
            )
        groups = {
            name: tuple(c for c in members if c not in targets)
            for name, members in self.groups.items()
        }
        return self._reinfer_with(
            targets=targets,
            tasks=self.task_overrides if task_overrides is None else task_overrides,
            groups={k: v for k, v in groups.items() if v},
            roles=role_overrides,
        )

    # --- JSON and tables -----------------------------------------------------------

    def to_dict(self) -> dict:
        return {
            "version": 1,
            "n_rows": self.n_rows,
            "columns": [
                {**asdict(c), "role": c.role.value, "flags": list(c.flags)} for c in self.columns
            ],
            "targets": [
                {**asdict(t), "classes": list(t.classes), "class_counts": list(t.class_counts)}
                for t in self.targets
            ],
            "groups": {k: list(v) for k, v in self.groups.items()},
            "hints": [asdict(h) for h in self.hints],
            "role_overrides": dict(self.role_overrides),
            "task_overrides": dict(self.task_overrides),
        }

    @classmethod
    def from_dict(cls, d: dict) -> Schema:
        return cls(
            columns=tuple(
                ColumnInfo(**{**c, "role": Role(c["role"]), "flags": tuple(c["flags"])})
                for c in d["columns"]
            ),
            targets=tuple(
                TargetInfo(
                    **{
                        **t,
                        "classes": tuple(t["classes"]),
                        "class_counts": tuple(t["class_counts"]),
                    }
                )
                for t in d["targets"]
            ),
            groups={k: tuple(v) for k, v in d.get("groups", {}).items()},
            hints=tuple(Hint(**h) for h in d.get("hints", [])),
            n_rows=d.get("n_rows", 0),
            role_overrides=dict(d.get("role_overrides", {})),
            task_overrides=dict(d.get("task_overrides", {})),
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per column, for the data page's table."""
        return pd.DataFrame(
            {
                "name": [c.name for c in self.columns],
                "role": [c.role.value for c in self.columns],
                "reason": [c.reason for c in self.columns],
                "dtype": [c.dtype for c in self.columns],
                "missing": [c.n_missing for c in self.columns],
                "unique": [c.n_unique for c in self.columns],
                "flags": [", ".join(c.flags) for c in self.columns],
            }
        )


def check_groups(groups, names: list[str], targets: list[str]) -> dict[str, tuple[str, ...]]:
    """Named groups as {name: columns}, or DataError saying which group is wrong and how."""
    checked, owner = {}, {}
    for name, members in (groups or {}).items():
        if not isinstance(name, str) or not name.strip():
            raise DataError("A group needs a name. Give each group a short name.")
        if name in names and tuple(members) != (name,):
            raise DataError(
                f"The group name '{name}' is also a column name. Pick another group name."
            )
        members = (members,) if isinstance(members, str) else tuple(members)
        if not members:
            raise DataError(f"Group '{name}' has no columns. Add columns or remove the group.")
        for column in members:
            if column not in names:
                raise DataError(f"Group '{name}': {unknown_name('column', column, names)}")
            if column in targets:
                raise DataError(
                    f"Group '{name}' holds '{column}', which is a target. A target cannot "
                    "also be an input: remove it from the group."
                )
            if column in owner and owner[column] != name:
                raise DataError(
                    f"Column '{column}' is in group '{owner[column]}' and in group '{name}'. "
                    "A column belongs to one group: remove it from one of them."
                )
            owner[column] = name
        checked[name] = tuple(dict.fromkeys(members))
    return checked


def unknown_name(kind: str, name, known: list[str]) -> str:
    """The message for a name that is not there: the closest known ones, and the list."""
    import difflib

    close = difflib.get_close_matches(str(name), [str(k) for k in known], n=3)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    shown = ", ".join(repr(k) for k in known[:12]) + (", ..." if len(known) > 12 else "")
    return f"There is no {kind} named {name!r}.{hint} Choose one of: {shown or 'none yet'}."
