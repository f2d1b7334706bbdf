"""`infer_schema`: understand a table's columns the way a data scientist would.

Each column gets a role and the reason for it; each target gets a task (binary,
multiclass, regression), its classes and how many rows lack a value; and the table gets
hints: likely leakage, high cardinality, heavy imbalance, mostly-missing columns.
Every decision can be overridden (`roles=`, `tasks=`, or the `Schema.with_*` methods).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import replace
from functools import partial

import numpy as np
import pandas as pd

from sattn_dash.errors import DataError
from sattn_dash.tabular.coerce import (
    all_whole,
    as_datetime,
    as_numeric,
    class_labels,
    count_not_finite,
    label,
    looks_like_dates,
    sort_labels,
    true_value,
)
from sattn_dash.tabular.schema import (
    TASKS,
    ColumnInfo,
    Hint,
    Role,
    Schema,
    TargetInfo,
    as_role,
    check_groups,
    unknown_name,
)

ONE_HOT_MAX = 20  # categoricals with more values get integer codes for an embedding
MOSTLY_MISSING = 0.5
READS_AS = 0.95  # share of values that must read as numbers (or dates) to count as such
ID_MIN_ROWS = 20
TEXT_MIN_LENGTH = 30
MULTICLASS_MAX_INTEGERS = 20  # whole-number targets with this few values are classes
MAX_CLASSES = 200
IMBALANCED = 0.10
LEAK_MIN_ROWS = 30  # below this a perfect split happens by chance too often to flag
LEAK_SAMPLE = 50_000  # rows screened for leakage before a full check
FEW_ROWS = 50
SAMPLE = 2000  # values looked at before a full pass (dates, numbers in text)
ID_NAMES = re.compile(
    r"^(id|uuid|guid|key|index|idx|row|rowid|rownames?|row[ ._]?names?|row[ ._]?(num|number|no)"
    r"|unnamed: ?0|record|obs|#)$|[ _.-]id$|[a-z]Id$|ID$"
)


def infer_schema(df: pd.DataFrame, targets=None, tasks=None, groups=None, roles=None) -> Schema:
    """Roles, targets, hints and groups for `df`.

    `targets`: column name(s) to predict (none yet is fine: the page asks). `tasks`:
    {target: task} to override detection. `groups`: {name: columns} the user defined.
    `roles`: {column: role} overrides.
    """
    _check_frame(df)
    targets = list(dict.fromkeys([targets] if isinstance(targets, str) else targets or []))
    tasks, roles = dict(tasks or {}), {k: as_role(v).value for k, v in (roles or {}).items()}
    for name in [*targets, *tasks, *roles]:
        if name not in df.columns:
            raise DataError(unknown_name("column", name, list(df.columns)))
    for name, task in tasks.items():
        if task not in TASKS:
            raise DataError(f"Unknown task {task!r} for '{name}'. Use one of: {', '.join(TASKS)}.")
        if name not in targets:
            raise DataError(
                f"A task was given for '{name}', which is not a target. Choose it as a target first."
            )
    groups = check_groups(groups, list(df.columns), targets)

    hints: list[Hint] = []
    frame = df.copy(deep=False)
    frame.attrs = {}  # pandas copies attrs into every column taken: 10,000 times on a wide table
    target_infos = tuple(_target(frame[t], tasks.get(t), hints) for t in targets)
    columns = []
    for name, values in frame.items():
        if name in targets:
            info = target_infos[targets.index(name)]
            columns.append(_target_column(values, info))
        else:
            columns.append(_column(values, roles.get(name), len(df)))
    columns = _flag_leaks(columns, frame, target_infos, hints)
    hints.extend(_column_hints(columns, len(df)))
    if len(df) < FEW_ROWS:
        hints.append(
            Hint(
                "warning",
                None,
                f"Only {len(df)} rows: any model trained on them "
                "will be noisy. Add rows if you can.",
            )
        )
    for name, members in groups.items():
        usable = [c for c in columns if c.name in members and c.is_feature]
        if not usable:
            hints.append(
                Hint(
                    "warning",
                    None,
                    f"Group '{name}' has no column the model "
                    "can use; give one of its columns a feature role.",
                )
            )
    return Schema(
        columns=tuple(columns),
        targets=target_infos,
        groups=groups,
        hints=tuple(hints),
        n_rows=len(df),
        role_overrides=roles,
        task_overrides=tasks,
        _reinfer_with=partial(infer_schema, df),
    )


def _check_frame(df) -> None:
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"Expected a table (pandas DataFrame), got {type(df).__name__}.")
    if df.shape[1] == 0 or len(df) == 0:
        raise DataError("The table is empty. Load a table with at least one row and column.")
    if not all(isinstance(c, str) for c in df.columns):
        raise DataError(
            "Column names must be text. Rename the columns (df.columns = "
            "df.columns.astype(str)) or read the file with read_table."
        )
    if df.columns.duplicated().any():
        dupes = sorted(set(df.columns[df.columns.duplicated()]))
        raise DataError(f"Column names repeat ({', '.join(dupes)}). Give each column its own name.")


# --- features ------------------------------------------------------------------------


def _column(s: pd.Series, override: str | None, n_rows: int) -> ColumnInfo:
    present = s.dropna()
    n_missing = int(len(s) - len(present))
    n_unique = _n_unique(present)
    detected, reason, flags = _detect_role(s, present, n_unique, n_rows)
    if override is not None:
        role = Role(override)
        _check_override(s, present, n_unique, role)
        if role != detected:
            reason = f"set by you (detected as {detected.value}: {reason})"
            flags = ("set_by_user",) + tuple(
                f for f in flags if f not in ("high_cardinality", "maybe_identifier")
            )
            if role == Role.categorical and n_unique > ONE_HOT_MAX:
                flags += ("high_cardinality",)
        detected = role
    missing_fraction = n_missing / max(len(s), 1)
    if missing_fraction >= MOSTLY_MISSING and detected != Role.constant:
        flags += ("mostly_missing",)
    return ColumnInfo(
        name=str(s.name),
        role=detected,
        reason=reason,
        dtype=str(s.dtype),
        n_missing=n_missing,
        n_unique=n_unique,
        missing_fraction=round(missing_fraction, 4),
        flags=tuple(flags),
    )


def _detect_role(s, present, n_unique, n_rows) -> tuple[Role, str, tuple[str, ...]]:
    if len(present) == 0:
        return Role.constant, "empty: every value is missing", ()
    if n_unique == 1:
        where = " where present" if len(present) < len(s) else ""
        return Role.constant, f"one value ({_show(present.iloc[0])}) in every row{where}", ()
    if pd.api.types.is_bool_dtype(s):
        return Role.boolean, "true/false values", ()
    if pd.api.types.is_datetime64_any_dtype(s):
        return Role.datetime, "dates: used as calendar numbers (year, month, day, ...)", ()
    if isinstance(s.dtype, pd.CategoricalDtype):  # the user said "categories"
        return _boolean(present) if n_unique == 2 else _categorical(present, n_unique)
    if pd.api.types.is_numeric_dtype(s):
        return _numeric_role(s, present, n_unique, n_rows, "numbers")
    text = present.astype(str)
    numbers, share = _share_numeric(present)
    if share == 1.0:
        return _numeric_role(s, numbers, n_unique, n_rows, "numbers written as text")
    if share >= READS_AS:
        bad = present[numbers.isna()].astype(str).value_counts().index[:3].tolist()
        flags = ("coerced_numeric",)
        reason = (
            f"numbers; {int(numbers.isna().sum()):,} values that are not numbers "
            f"({', '.join(repr(b) for b in bad)}) count as missing"
        )
        return Role.numeric, reason, flags
    if n_unique == 2:
        return _boolean(present)
    if _reads_as_dates(text):
        return (
            Role.datetime,
            f"dates like {_show(present.iloc[0])}: used as calendar numbers (year, month, day, ...)",
            (),
        )
    mean_length = float(text.str.len().mean())
    if n_unique == len(s) and len(s) >= ID_MIN_ROWS:
        if _named_like_id(s):
            return Role.identifier, "named like an ID, with a different value in every row", ()
        if mean_length < TEXT_MIN_LENGTH or not text.str.contains(r"\s").any():
            return Role.identifier, "a different value in every row, like an ID: not a feature", ()
    if mean_length >= TEXT_MIN_LENGTH and (n_unique > len(present) / 2 or mean_length > 100):
        return (
            Role.text,
            (
                f"free text (about {mean_length:.0f} characters, mostly unique): "
                "not used; set it to categorical to use it"
            ),
            (),
        )
    return _categorical(present, n_unique)


def _numeric_role(s, numbers, n_unique, n_rows, kind):
    values = as_numeric(numbers) if not pd.api.types.is_numeric_dtype(numbers) else numbers
    if n_unique == 2:
        return _boolean(values)
    unique_whole = n_unique == n_rows >= ID_MIN_ROWS and all_whole(values)
    why_id = _why_identifier(s, values, n_unique) if unique_whole else None
    if why_id:
        return Role.identifier, f"{why_id}: not a feature", ()
    flags = ("maybe_identifier",) if unique_whole else ()
    reason = kind
    bad = count_not_finite(s)
    if bad:
        flags += ("not_finite",)
        reason += f"; {bad:,} infinite or too-large values count as missing"
    return Role.numeric, reason, flags


def _named_like_id(s: pd.Series) -> bool:
    return bool(ID_NAMES.search(str(s.name).strip()))


def _why_identifier(s: pd.Series, values: pd.Series, n_unique: int) -> str | None:
    """Why a column of distinct whole numbers is a row number or an ID, or None."""
    numbers = values.to_numpy(dtype=float)
    low, high = numbers.min(), numbers.max()
    if high - low + 1 == n_unique:
        return f"the whole numbers {low:.0f} to {high:.0f}, one per row, like a row number"
    if (np.diff(numbers) > 0).all():
        return "a different whole number in every row, in increasing order, like a row number"
    if _named_like_id(s):
        return "named like an ID, with a different whole number in every row"
    return None


def _boolean(present):
    values = sort_labels({label(v) for v in present.unique()})
    one = true_value(values)
    zero = next(v for v in values if v != one)
    return Role.boolean, f"two values: {_show(zero)} = 0, {_show(one)} = 1", ()


def _categorical(present, n_unique):
    if n_unique > ONE_HOT_MAX:
        return (
            Role.categorical,
            f"categories ({n_unique:,} values): integer codes for an embedding",
            ("high_cardinality",),
        )
    common = present.astype(str).value_counts().index[:3].tolist()
    more = ", ..." if n_unique > 3 else ""
    return (
        Role.categorical,
        f"categories ({n_unique} values: {', '.join(repr(c) for c in common)}{more}): one-hot",
        (),
    )


def _check_override(s, present, n_unique, role: Role) -> None:
    name = s.name
    if role == Role.target:
        raise DataError(f"To predict '{name}', choose it as a target instead of giving it a role.")
    if role == Role.numeric:
        _, share = _share_numeric(present)
        if share < 0.5:
            raise DataError(
                f"'{name}' cannot be numeric: only {share:.0%} of its values are "
                "numbers. Choose categorical or text instead."
            )
    if role == Role.boolean and n_unique > 2:
        raise DataError(
            f"'{name}' cannot be boolean: it has {n_unique} different values, "
            "not two. Choose categorical instead."
        )
    if role == Role.datetime and len(present):
        sample = present.iloc[:SAMPLE]
        share = as_datetime(sample).notna().mean()
        if share < 0.5:
            raise DataError(
                f"'{name}' cannot be a date: only {share:.0%} of its values read "
                "as dates. Choose categorical or text instead."
            )


def _share_numeric(present: pd.Series) -> tuple[pd.Series, float]:
    """The values as numbers, and the share that are numbers (sampled first: cheap no)."""
    if len(present) == 0:
        return present, 0.0
    if pd.api.types.is_numeric_dtype(present):
        return present, 1.0
    if pd.to_numeric(present.iloc[:SAMPLE], errors="coerce").notna().mean() < READS_AS:
        return present, 0.0
    numbers = pd.to_numeric(present, errors="coerce")
    return numbers, float(numbers.notna().mean())


def _reads_as_dates(text: pd.Series) -> bool:
    sample = text.iloc[:SAMPLE]
    if not looks_like_dates(sample):
        return False
    return bool(as_datetime(sample).notna().mean() >= READS_AS)


def _n_unique(present: pd.Series) -> int:
    try:
        return int(present.nunique())
    except TypeError:  # unhashable cells (lists) in a frame built by hand
        return int(present.astype(str).nunique())


# --- targets -------------------------------------------------------------------------


def _target(s: pd.Series, task: str | None, hints: list[Hint]) -> TargetInfo:
    name = s.name
    if pd.api.types.is_datetime64_any_dtype(s) or (
        not pd.api.types.is_numeric_dtype(s) and _reads_as_dates(s.dropna().astype(str))
    ):
        raise DataError(
            f"'{name}' holds dates, which cannot be predicted here. Choose "
            "another target, or turn the dates into a number (such as days)."
        )
    labels = class_labels(s)
    numeric = pd.api.types.is_numeric_dtype(s) or _share_numeric(s.dropna())[1] == 1.0
    present = labels.dropna()
    n_missing = int(len(s) - len(present))
    if len(present) == 0:
        raise DataError(f"The target '{name}' has no values. Choose a column that has them.")
    counts = present.value_counts()
    if len(counts) == 1:
        raise DataError(
            f"The target '{name}' has the same value ({_show(counts.index[0])}) in every row "
            "that has one, so there is nothing to predict. Choose another target."
        )
    detected = _detect_task(s, present, len(counts), numeric)
    task = task or detected
    _check_task(name, task, len(counts), numeric)
    if n_missing:
        hints.append(
            Hint(
                "info",
                name,
                f"{n_missing:,} rows have no value for '{name}'; they "
                "are left out of training and evaluation.",
            )
        )
    if task == "regression":
        return TargetInfo(str(name), task, (), (), n_missing)
    classes = sort_labels(counts.index.tolist())
    class_counts = tuple(int(counts[c]) for c in classes)
    hints.extend(_balance_hints(str(name), classes, class_counts))
    return TargetInfo(str(name), task, tuple(classes), class_counts, n_missing)


def _detect_task(s, present, n_classes, numeric) -> str:
    if n_classes == 2:
        return "binary"
    if numeric:
        whole = all_whole(present.astype(float))
        return "multiclass" if whole and n_classes <= MULTICLASS_MAX_INTEGERS else "regression"
    return "multiclass"


def _check_task(name, task, n_classes, numeric) -> None:
    if task == "binary" and n_classes != 2:
        raise DataError(
            f"'{name}' has {n_classes} different values, so it cannot be a binary "
            "target. Choose multiclass" + (" or regression." if numeric else ".")
        )
    if task == "multiclass" and n_classes > MAX_CLASSES:
        raise DataError(
            f"'{name}' has {n_classes:,} different values, too many classes (the limit is "
            f"{MAX_CLASSES}). "
            + (
                "Choose regression for a number, or group the values."
                if numeric
                else "Group the values into fewer classes, or choose another target."
            )
        )
    if task == "regression" and not numeric:
        raise DataError(
            f"'{name}' holds text, not numbers, so it cannot be a regression "
            "target. Choose binary or multiclass."
        )


def _balance_hints(name, classes, counts) -> list[Hint]:
    hints, total = [], sum(counts)
    smallest = int(np.argmin(counts))
    share = counts[smallest] / total
    if share < IMBALANCED:
        hints.append(
            Hint(
                "warning",
                name,
                f"Class {_show(classes[smallest])} is only {share:.1%} of '{name}' "
                f"({counts[smallest]:,} of {total:,} rows): accuracy looks good even for a model "
                "that never predicts it, so judge the model by balanced accuracy or AUC.",
            )
        )
    tiny = [f"{_show(c)} ({n})" for c, n in zip(classes, counts, strict=True) if n < 5]
    if tiny:
        hints.append(
            Hint(
                "warning",
                name,
                f"Classes with fewer than 5 rows: {', '.join(tiny[:5])}. Too few to learn from or "
                "to split evenly; merge them into a larger class or drop those rows.",
            )
        )
    return hints


def _target_column(s: pd.Series, info: TargetInfo) -> ColumnInfo:
    present = s.dropna()
    if info.task == "regression":
        reason = "target: regression (predict a number)"
    else:
        reason = f"target: {info.task} ({len(info.classes)} classes)"
    return ColumnInfo(
        name=str(s.name),
        role=Role.target,
        reason=reason,
        dtype=str(s.dtype),
        n_missing=int(len(s) - len(present)),
        n_unique=_n_unique(present),
        missing_fraction=round((len(s) - len(present)) / len(s), 4),
        flags=(),
    )


# --- hints ---------------------------------------------------------------------------


def _flag_leaks(columns: list[ColumnInfo], df, targets: tuple[TargetInfo, ...], hints):
    """Flag (and hint at) features that determine a target on every row.

    On a big table each pair is screened on a sample first (a rule that holds on every
    row holds on the sample), and only candidates are checked on the whole table. Plain
    number columns are screened all at once with NumPy, so a table of 10,000 columns
    costs one pass, not 10,000 group-bys."""
    ys = {
        t.name: class_labels(df[t.name]) if t.is_classification else as_numeric(df[t.name])
        for t in targets
    }
    sample = np.sort(np.random.default_rng(0).permutation(len(df))[:LEAK_SAMPLE])
    numbers = [
        c.name
        for c in columns
        if c.is_feature and c.role == Role.numeric and pd.api.types.is_numeric_dtype(df[c.name])
    ]
    cleared = {
        t.name: set(_numeric_leak_screen(df[numbers].iloc[sample], ys[t.name].iloc[sample], t))
        for t in targets
    }
    flagged = []
    for info in columns:
        for target in targets if info.is_feature else ():
            if info.name in cleared[target.name]:
                continue
            x, y = df[info.name], ys[target.name]
            why = _perfect_predictor(x.iloc[sample], info.role, y.iloc[sample], target)
            if why and len(sample) < len(df):
                why = _perfect_predictor(x, info.role, y, target)
            if why:
                hints.append(
                    Hint(
                        "warning",
                        info.name,
                        f"'{info.name}' predicts '{target.name}' perfectly ({why}). If it is only "
                        "known after the outcome, it leaks the answer: set its role to excluded.",
                    )
                )
                info = replace(info, flags=info.flags + ("possible_leakage",))
                break
        flagged.append(info)
    return flagged


def _numeric_leak_screen(frame: pd.DataFrame, y: pd.Series, info: TargetInfo) -> list[str]:
    """The number columns of `frame` that surely do NOT determine `y` by any rule of
    `_perfect_predictor`: a loose, vectorised version of those rules (never clears a
    column that the exact check would flag; the rest are checked one by one)."""
    keep = y.notna().to_numpy()
    if frame.shape[1] == 0 or keep.sum() < LEAK_MIN_ROWS:
        return list(frame.columns)
    x = np.column_stack([as_numeric(frame[c]).to_numpy(float) for c in frame.columns])[keep]
    present = ~np.isnan(x)
    n = present.sum(axis=0)
    codes = pd.factorize(y[keep])[0] if info.is_classification else y[keep].to_numpy(float)
    may_leak = _maps_to_one_value(x, codes) & (n >= LEAK_MIN_ROWS)
    if info.is_classification:
        may_leak |= _ranges_apart(x, codes)
    else:
        may_leak |= _correlation(x, present, codes) > 0.99
    return [c for c, leak in zip(frame.columns, may_leak, strict=True) if not leak]


def _maps_to_one_value(x: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Per column: every repeated value of x goes with one target value (and values
    repeat, at most half as many as rows: the first rule of `_perfect_predictor`)."""
    order = np.argsort(x, axis=0, kind="stable")
    xs = np.take_along_axis(x, order, axis=0)
    ys = codes[order]
    same_x = xs[1:] == xs[:-1]  # NaN never equals: missing values drop out
    n = (~np.isnan(x)).sum(axis=0)
    n_values = n - same_x.sum(axis=0)
    consistent = ~(same_x & (ys[1:] != ys[:-1])).any(axis=0)
    return consistent & (n_values <= n / 2)


def _ranges_apart(x: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Per column: the classes' value ranges do not overlap."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a class with no value present
        lows = np.stack([np.nanmin(x[codes == k], axis=0) for k in np.unique(codes)])
        highs = np.stack([np.nanmax(x[codes == k], axis=0) for k in np.unique(codes)])
    lows, highs = np.where(np.isnan(lows), np.inf, lows), np.where(np.isnan(lows), np.inf, highs)
    order = np.argsort(lows, axis=0)
    lows, highs = np.take_along_axis(lows, order, 0), np.take_along_axis(highs, order, 0)
    apart = (highs[:-1] < lows[1:]) | np.isinf(lows[1:])
    return apart.all(axis=0)


def _correlation(x: np.ndarray, present: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per column: |Pearson r| of x and y over the rows where x is present."""
    with np.errstate(all="ignore"):
        n = present.sum(axis=0)
        xz, yz = np.where(present, x, 0.0), np.where(present, y[:, None], 0.0)
        mx, my = xz.sum(0) / n, yz.sum(0) / n
        cov = (xz * yz).sum(0) / n - mx * my
        vx = (xz * xz).sum(0) / n - mx * mx
        vy = (yz * yz).sum(0) / n - my * my
        r = np.abs(cov / np.sqrt(vx * vy))
    return np.nan_to_num(r, nan=1.0)  # unknown (constant or empty): check it exactly


def _perfect_predictor(feature: pd.Series, role: Role, y: pd.Series, info: TargetInfo):
    """Why `feature` alone determines the target `y` on every row, or None."""
    x = as_numeric(feature) if role == Role.numeric else feature
    both = x.notna() & y.notna()
    if both.sum() < LEAK_MIN_ROWS:
        return None
    x, y = x[both], y[both]
    n_values = _n_unique(x)
    if n_values <= len(x) / 2 and (_group(y, x).nunique() == 1).all():
        return "each of its values goes with a single target value"
    if role != Role.numeric:
        return None
    if info.is_classification:
        ranges = _group(x, y).agg(["min", "max"]).sort_values("min")
        if (ranges["max"].to_numpy()[:-1] < ranges["min"].to_numpy()[1:]).all():
            return "its value ranges for the classes do not overlap"
        return None
    if x.std() > 0 and y.std() > 0:
        r = float(np.corrcoef(x, y)[0, 1])
        if abs(r) > 0.999:
            return f"correlation {r:.4f}"
    return None


def _group(values: pd.Series, by: pd.Series):
    try:
        return values.groupby(by, observed=True)
    except TypeError:  # mixed or unhashable keys in a frame built by hand
        return values.groupby(by.astype(str), observed=True)


def _column_hints(columns: list[ColumnInfo], n_rows: int) -> list[Hint]:
    hints = []
    for c in (c for c in columns if c.is_feature):
        said = {  # flag: (level, message), in the order the hints are shown
            "mostly_missing": (
                "warning",
                f"'{c.name}' is {c.missing_fraction:.0%} missing. Its missing-value indicator "
                "may carry the signal; if not, set its role to excluded.",
            ),
            "high_cardinality": (
                "warning" if c.n_unique > n_rows / 2 else "info",
                f"'{c.name}' has {c.n_unique:,} different values in {n_rows:,} rows; rare "
                "values teach the model little. It gets integer codes for an embedding; "
                "consider grouping rare values.",
            ),
            "not_finite": (
                "info",
                f"'{c.name}' has infinite or too-large values; they are treated as missing.",
            ),
            "maybe_identifier": (
                "info",
                f"'{c.name}' has a different whole number in every row. If it is an ID "
                "or a code rather than a quantity, set its role to identifier.",
            ),
            "coerced_numeric": (
                "info",
                f"'{c.name}' is read as numbers: {c.reason}. "
                "If those values mean something, set it to categorical.",
            ),
        }
        hints += [
            Hint(level, c.name, text) for flag, (level, text) in said.items() if flag in c.flags
        ]
    return hints


def _show(value) -> str:
    return repr(label(value))
