"""`prepare`: from a table and its schema to model-ready train/validation/test splits.

Rows without a value for every target are dropped (and counted); the rest are split
once, seeded, stratified on the first classification target when its classes allow;
the preprocessing is fitted on the training split only and applied to all three.
"""

from __future__ import annotations

import hashlib
import warnings

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from sattn_dash.errors import DataError
from sattn_dash.tabular.coerce import as_numeric, class_labels
from sattn_dash.tabular.options import PrepareOptions
from sattn_dash.tabular.prepared import SPLITS, PreparedData
from sattn_dash.tabular.schema import Schema, TargetInfo
from sattn_dash.tabular.transform import (
    code_cardinalities,
    feature_sources,
    fit_transformer,
)

MIN_ROWS = 10  # enough for at least one row in each split and a few to train on


def prepare(
    df: pd.DataFrame,
    schema: Schema,
    seed: int = 0,
    test_size: float = 0.2,
    val_size: float = 0.2,
    options: PrepareOptions | None = None,
    split: np.ndarray | None = None,
) -> PreparedData:
    """Split, fit the preprocessing on the training rows, and encode the targets.

    `test_size` and `val_size` are shares of all usable rows (0.2 and 0.2 leave 0.6 to
    train). `options` (a `PrepareOptions`; default: standard scaling, integer codes for
    many-level categoricals) picks the feature encoding. Binary targets become 0/1
    float32, multiclass int64 codes in the order of `TargetInfo.classes`, regression
    float32 in the target's units. `split` gives each row's split instead of drawing it
    (0 train, 1 validation, 2 test; a streamed table's sample keeps the table's split).
    """
    options = options or PrepareOptions()
    _check_request(df, schema, test_size, val_size)
    codes = {t.name: encode_target(df[t.name], t) for t in schema.targets}
    usable = np.logical_and.reduce([~np.isnan(c.astype("float64")) for c in codes.values()])
    notes = []
    n_dropped = int((~usable).sum())
    if n_dropped:
        notes.append(f"{n_dropped:,} rows without a value for every target were left out.")
    if usable.sum() < MIN_ROWS:
        raise DataError(
            f"Only {int(usable.sum())} rows have a value for every target; at least {MIN_ROWS} "
            "are needed to train and check a model. Add rows, or choose another target."
        )
    features = df.loc[usable, schema.feature_columns]
    codes = {name: c[usable] for name, c in codes.items()}
    if split is None:
        positions, note = _split(schema, codes, seed, test_size, val_size)
        notes += [note] if note else []
    else:
        given = np.asarray(split)[usable]
        positions = {s: np.flatnonzero(given == code) for code, s in enumerate(SPLITS)}

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # unseen categories: handled by design
        transformer = fit_transformer(schema, features.iloc[positions["train"]], options)
        X = {
            s: transformer.transform(features.iloc[positions[s]]).astype(np.float32) for s in SPLITS
        }
    y = {
        s: {name: typed_codes(c[positions[s]], schema.target(name)) for name, c in codes.items()}
        for s in SPLITS
    }
    notes += _missing_class_notes(schema, y["train"])
    return PreparedData(
        schema=schema,
        **{f"X_{s}": X[s] for s in SPLITS},
        **{f"y_{s}": y[s] for s in SPLITS},
        feature_names=list(X["train"].columns),
        feature_sources=feature_sources(transformer),
        categorical_features=code_cardinalities(transformer),
        tasks={t.name: t.task for t in schema.targets},
        classes={t.name: list(t.classes) for t in schema.targets if t.is_classification},
        target_stats={
            t.name: _stats(y["train"][t.name]) for t in schema.targets if t.task == "regression"
        },
        transformer=transformer,
        row_index={s: features.index.to_numpy()[positions[s]] for s in SPLITS},
        seed=seed,
        data_hash=data_hash(df),
        notes=tuple(notes),
        test_size=test_size,
        val_size=val_size,
        options=options,
    )


def data_hash(df: pd.DataFrame) -> str:
    """A stable fingerprint of a table's names, types, index and values (sha256 hex):
    the same table gives the same hash in any session."""
    digest = hashlib.sha256()
    digest.update("\x1f".join(map(str, df.columns)).encode())
    digest.update("\x1f".join(map(str, df.dtypes)).encode())
    try:
        rows = pd.util.hash_pandas_object(df, index=True).to_numpy()
    except TypeError:  # unhashable cells (lists) in a frame built by hand
        rows = pd.util.hash_pandas_object(df.astype(str), index=True).to_numpy()
    digest.update(rows.tobytes())
    return digest.hexdigest()


def _check_request(df, schema: Schema, test_size, val_size) -> None:
    if not schema.targets:
        raise DataError("No target is chosen. Choose the column to predict, then prepare again.")
    if not schema.feature_columns:
        raise DataError(
            "No column is left to learn from: every column is a target or excluded. "
            "Give at least one column a feature role (numeric, categorical, boolean, datetime)."
        )
    for name, share in (("test_size", test_size), ("val_size", val_size)):
        if not 0 < share < 1:
            raise DataError(f"{name} is {share}; it must be a share between 0 and 1, like 0.2.")
    if test_size + val_size >= 0.9:
        raise DataError(
            f"test_size + val_size is {test_size + val_size:.2f}, leaving too little to train "
            "on. Keep their sum at most 0.8 (0.2 + 0.2 is usual)."
        )
    needed = schema.feature_columns + schema.target_names
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise DataError(
            f"The table lacks columns the schema uses: {', '.join(missing[:8])}. Use the table "
            "the schema was made from, or infer the schema again."
        )


def encode_target(values: pd.Series, target: TargetInfo) -> np.ndarray:
    """Float codes with NaN where the row has no usable target value (also used on each
    record batch of a streamed table)."""
    if target.task == "regression":
        return as_numeric(values).to_numpy(dtype="float64")
    labels = class_labels(values)
    position = {c: i for i, c in enumerate(target.classes)}
    codes = labels.map(position)
    unknown = labels.notna() & codes.isna()
    if unknown.any():
        example = labels[unknown].iloc[0]
        raise DataError(
            f"'{target.name}' has the value {example!r}, which was not there when the schema "
            "was made. Infer the schema again on this table."
        )
    return codes.to_numpy(dtype="float64")


def _split(schema: Schema, codes, seed, test_size, val_size):
    """Row positions per split, and a note when stratifying was not possible."""
    n = len(next(iter(codes.values())))
    rows = np.arange(n)
    by = next((t for t in schema.targets if t.is_classification), None)
    strata = codes[by.name].astype(np.int64) if by is not None else None
    val_share = val_size / (1 - test_size)
    note = None
    if strata is not None:
        try:
            rest, test = train_test_split(
                rows, test_size=test_size, random_state=seed, stratify=strata
            )
            train, val = train_test_split(
                rest, test_size=val_share, random_state=seed, stratify=strata[rest]
            )
            return {"train": train, "val": val, "test": test}, None
        except ValueError:
            counts = np.bincount(strata, minlength=len(by.classes))
            smallest = int(np.argmin(np.where(counts > 0, counts, n + 1)))
            note = (
                f"The split is random, not stratified on '{by.name}': class "
                f"{by.classes[smallest]!r} has only {counts[smallest]} rows, too few to "
                "share between train, validation and test."
            )
    rest, test = train_test_split(rows, test_size=test_size, random_state=seed)
    train, val = train_test_split(rest, test_size=val_share, random_state=seed)
    return {"train": train, "val": val, "test": test}, note


def typed_codes(codes: np.ndarray, target: TargetInfo) -> np.ndarray:
    """A target's codes as the model is fed them: whole class numbers for several
    classes (a sparse cross-entropy), float32 otherwise."""
    return codes.astype(np.int64 if target.task == "multiclass" else np.float32)


def _stats(values: np.ndarray) -> tuple[float, float]:
    std = float(np.std(values))
    return float(np.mean(values)), std if std > 0 else 1.0


def _missing_class_notes(schema: Schema, y_train: dict) -> list[str]:
    notes = []
    for target in schema.targets:
        if not target.is_classification:
            continue
        seen = set(np.unique(y_train[target.name]).astype(int))
        absent = [c for i, c in enumerate(target.classes) if i not in seen]
        if absent:
            notes.append(
                f"The training split has no rows of class {', '.join(map(repr, absent))} of "
                f"'{target.name}'; the model cannot learn to predict it."
            )
    return notes
