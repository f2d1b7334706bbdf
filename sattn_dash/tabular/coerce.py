"""Turn raw column values into numbers, text, dates and class labels, one way everywhere.

Schema inference decides a role by asking "does this column read as numbers / dates?";
the fitted transformer later reads the same column the same way. Both call these
functions, so what the schema promised is what the model gets.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

# Values beyond float32's range cannot reach the model; they count as missing, like inf.
FLOAT32_MAX = float(np.finfo(np.float32).max)
TRUE_WORDS = frozenset({"1", "true", "t", "yes", "y", "on"})
DATE_LIKE = re.compile(
    r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}"  # 2012-01-31, 2012/01/31
    r"|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}"  # 31.01.2012, 01/31/12
    r"|[A-Za-z]{3,9}\.? \d{1,2},? \d{4}"  # Jan 31, 2012
    r"|\d{1,2} [A-Za-z]{3,9}\.? \d{4}"  # 31 Jan 2012
)


def as_numeric(values: pd.Series) -> pd.Series:
    """Numbers as float64; anything that is not a finite float32-sized number is NaN."""
    out = pd.Series(_floats(values), index=values.index, name=values.name)
    too_big = np.abs(out.to_numpy()) > FLOAT32_MAX  # inf included; NaN compares False
    if too_big.any():
        out = out.mask(too_big)
    return out


def count_not_finite(values: pd.Series) -> int:
    """How many values are infinite or too large for float32 (they will count as missing)."""
    return int((np.abs(_floats(values)) > FLOAT32_MAX).sum())


def _floats(values: pd.Series) -> np.ndarray:
    if not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)):
        values = pd.to_numeric(values, errors="coerce")
    return values.to_numpy(dtype="float64", na_value=np.nan)


def all_whole(values) -> bool:
    """True when every value is a finite whole number (3.0 counts; inf does not)."""
    arr = np.asarray(values, dtype="float64")
    return bool(len(arr)) and bool(np.isfinite(arr).all()) and bool((arr % 1 == 0).all())


def label(value):
    """One plain Python scalar per value: 3.0 -> 3, numpy types -> Python types."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return int(value) if float(value).is_integer() else float(value)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)


def as_text(values: pd.Series) -> pd.Series:
    """Values as strings (object dtype, NaN for missing): what encoders see as categories."""
    if pd.api.types.is_string_dtype(values) and not pd.api.types.is_object_dtype(values):
        return values.astype(object).where(values.notna(), np.nan)
    present = values.notna()
    out = pd.Series(np.nan, index=values.index, dtype=object, name=values.name)
    if present.any():
        uniques = values[present].unique()
        mapping = {u: str(label(u)) for u in uniques}
        out[present] = values[present].map(mapping).to_numpy(dtype=object)
    return out


def as_datetime(values: pd.Series) -> pd.Series:
    """Dates as timezone-naive datetime64; values that do not read as dates are NaT.

    The format is inferred from the first value (fast); values it misses are retried
    one by one, so a column mixing '2012-01-31' and '31 Jan 2012' still reads fully.
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        out = values
    else:
        if pd.api.types.is_numeric_dtype(values):
            values = as_text(values)  # numbers are never epoch timestamps here
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = pd.to_datetime(values, errors="coerce", utc=True)
            missed = out.isna() & values.notna()
            if missed.any():
                retry = pd.to_datetime(values[missed], errors="coerce", utc=True, format="mixed")
                out = out.copy()
                out[missed] = retry
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_convert(None)
    return out


def looks_like_dates(text: pd.Series) -> bool:
    """True when the (string) values are written like dates, not like words or codes."""
    return bool(text.astype(str).str.contains(DATE_LIKE).mean() >= 0.95)


def true_value(values) -> object:
    """Which of a two-valued column's values means 1: a yes-like word, else the larger."""
    values = sorted({label(v) for v in values}, key=lambda v: (str(type(v)), v))
    for value in values:
        if str(value).strip().lower() in TRUE_WORDS:
            return value
    return values[-1]


def class_labels(values: pd.Series) -> pd.Series:
    """Target values as plain labels (numbers stay numbers), NaN where missing."""
    if pd.api.types.is_bool_dtype(values):
        return values.astype(object)
    if not pd.api.types.is_numeric_dtype(values) and _all_numbers(values.dropna().iloc[:2000]):
        numbers = pd.to_numeric(values, errors="coerce")
        if numbers.notna().sum() == values.notna().sum():
            values = numbers
    if not pd.api.types.is_numeric_dtype(values):
        return as_text(values)  # text labels, even where a few look like numbers
    values = as_numeric(values)
    out = pd.Series(np.nan, index=values.index, dtype=object, name=values.name)
    present = values.notna()
    if present.any():
        mapping = {u: label(u) for u in values[present].unique()}
        out[present] = values[present].map(mapping).to_numpy(dtype=object)
    return out


def _all_numbers(values: pd.Series) -> bool:
    return bool(pd.to_numeric(values, errors="coerce").notna().all())


def sort_labels(labels) -> list:
    """Class labels in a stable order: numbers numerically, text alphabetically."""
    return sorted(labels, key=lambda v: (isinstance(v, str), v))


def numeric_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """`as_numeric` on every column (a step of the fitted numeric pipeline); columns that
    are numbers already go through NumPy as one block, which keeps a table of 10,000
    columns as quick as one of ten."""
    numbers = frame.select_dtypes(include=["number", "bool"]).columns
    if len(numbers) < frame.shape[1]:
        return frame.apply(as_numeric)
    values = frame.to_numpy(dtype="float64", na_value=np.nan, copy=True)
    with np.errstate(invalid="ignore"):
        values[np.abs(values) > FLOAT32_MAX] = np.nan  # inf included, as in as_numeric
    return pd.DataFrame(values, index=frame.index, columns=frame.columns)


def text_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """`as_text` on every column (a step of the fitted categorical pipelines)."""
    return frame.apply(as_text)


def shift_codes(frame: pd.DataFrame) -> pd.DataFrame:
    """Ordinal codes -1 (unknown or missing), 0..n-1 become 0, 1..n: 0 is the embedding's
    'unknown' row."""
    return frame + 1
