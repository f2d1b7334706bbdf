"""The fitted preprocessing: one scikit-learn `ColumnTransformer` with a named `Pipeline`
per role, plus the map from each model input column back to its source column.

Roles and their pipelines (`PrepareOptions` picks the numeric scaling and how
many-level categoricals are encoded):
- numeric: read as numbers -> scaling of the observed values (`standard`: mean/std;
  `robust`: median/IQR; `quantile`: ranks mapped to a standard normal, which tames
  heavy tails and outliers) -> clipping to +-`clip` when set -> median imputation,
  plus a 0/1 missing indicator where the training split had gaps
- categorical (at most `infer.ONE_HOT_MAX` values, or every one with
  `many_levels="one_hot"`): text -> "(missing)" as its own value -> one-hot; a value
  never seen in training gets all zeros
- categorical_codes (more values, flagged high_cardinality, `many_levels="codes"`):
  text -> integer codes 1..n, 0 = unseen or missing, which every branch reads through
  a learned embedding (never as a number)
- boolean: 0/1 -> most-frequent imputation (+ missing indicator)
- datetime: calendar numbers that vary in training (year, month, day, weekday, hour) ->
  standard scaling -> median imputation
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    OneHotEncoder,
    OrdinalEncoder,
    QuantileTransformer,
    RobustScaler,
    StandardScaler,
)

from sattn_dash.tabular.coerce import (
    as_datetime,
    as_text,
    label,
    numeric_frame,
    shift_codes,
    text_frame,
    true_value,
)
from sattn_dash.tabular.options import PrepareOptions
from sattn_dash.tabular.schema import Role, Schema

MISSING = "(missing)"


class Clip(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Bounds scaled values to +-``limit`` so a few extreme rows cannot dominate;
    missing values stay missing (imputed later)."""

    def __init__(self, limit=None):
        self.limit = limit

    def fit(self, X, y=None):
        self.n_features_in_ = X.shape[1]
        if hasattr(X, "columns"):
            self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self

    def transform(self, X):
        return X if self.limit is None else np.clip(X, -self.limit, self.limit)


class CalendarFeatures(TransformerMixin, BaseEstimator):
    """Each datetime column as the calendar numbers that vary in the training data:
    year, month, day, weekday (0 = Monday) and hour of day (minutes as a fraction)."""

    def fit(self, X, y=None):
        X = pd.DataFrame(X)
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = X.shape[1]
        self.parts_ = {}
        for column in X.columns:
            parts = _calendar(as_datetime(X[column]).dropna())
            varying = [p for p, values in parts.items() if values.nunique() > 1]
            self.parts_[column] = varying or ["year"]
        return self

    def transform(self, X):
        X = pd.DataFrame(X)
        out = {}
        for column, parts in self.parts_.items():
            calendar = _calendar(as_datetime(X[column]))
            for part in parts:
                out[f"{column}_{part}"] = calendar[part]
        return pd.DataFrame(out, index=X.index)

    def get_feature_names_out(self, input_features=None):
        return np.asarray(
            [f"{c}_{p}" for c, parts in self.parts_.items() for p in parts], dtype=object
        )


def _calendar(dates: pd.Series) -> dict[str, pd.Series]:
    return {
        "year": dates.dt.year.astype("float64"),
        "month": dates.dt.month.astype("float64"),
        "day": dates.dt.day.astype("float64"),
        "weekday": dates.dt.day_of_week.astype("float64"),
        "hour": (dates.dt.hour + dates.dt.minute / 60).astype("float64"),
    }


class BinaryFlags(TransformerMixin, BaseEstimator):
    """Each two-valued column as one 0/1 column (1 = the yes-like or larger value, as the
    schema's reason says); values not seen in training become missing."""

    def fit(self, X, y=None):
        X = pd.DataFrame(X)
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = X.shape[1]
        self.values_ = {}
        for column in X.columns:
            seen = sorted({label(v) for v in X[column].dropna().unique()}, key=str)
            one = true_value(seen) if seen else None
            self.values_[column] = (str(one), [str(v) for v in seen if v != one])
        return self

    def transform(self, X):
        X = pd.DataFrame(X)
        out = {}
        for column, (one, zeros) in self.values_.items():
            text = as_text(X[column])
            flags = pd.Series(np.nan, index=X.index)
            flags[text == one] = 1.0
            flags[text.isin(zeros)] = 0.0
            out[column] = flags
        return pd.DataFrame(out, index=X.index)

    def get_feature_names_out(self, input_features=None):
        return np.asarray(list(self.values_), dtype=object)


def build_transformer(schema: Schema, options: PrepareOptions | None = None) -> ColumnTransformer:
    """An unfitted ColumnTransformer for the schema's feature columns (pandas output)."""
    options = options or PrepareOptions()
    by_role: dict[str, list[str]] = {}
    for info in schema.columns:
        if not info.is_feature:
            continue
        kind = info.role.value
        many = info.role == Role.categorical and "high_cardinality" in info.flags
        if many and options.many_levels == "codes":
            kind = "categorical_codes"
        by_role.setdefault(kind, []).append(info.name)
    steps = {
        "numeric": lambda: _numeric_pipeline(options),
        "categorical": _one_hot_pipeline,
        "categorical_codes": _codes_pipeline,
        "boolean": _boolean_pipeline,
        "datetime": _datetime_pipeline,
    }
    transformers = [(kind, steps[kind](), columns) for kind, columns in by_role.items()]
    transformer = ColumnTransformer(transformers, remainder="drop", verbose_feature_names_out=False)
    return transformer.set_output(transform="pandas")


def _scaler(options: PrepareOptions):
    if options.scaling == "robust":
        return RobustScaler()
    if options.scaling == "quantile":
        # n_quantiles above the training rows is lowered to their count by scikit-learn.
        return QuantileTransformer(output_distribution="normal", subsample=100_000, random_state=0)
    return StandardScaler()


def _numeric_pipeline(options: PrepareOptions) -> Pipeline:
    return Pipeline(
        [
            ("to_number", FunctionTransformer(numeric_frame, feature_names_out="one-to-one")),
            ("scale", _scaler(options)),  # before imputing: statistics of observed values
            ("clip", Clip(options.clip)),
            (
                "impute",
                SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
            ),
        ]
    )


def _one_hot_pipeline() -> Pipeline:
    return Pipeline(
        [
            ("to_text", FunctionTransformer(text_frame, feature_names_out="one-to-one")),
            (
                "impute",
                SimpleImputer(strategy="constant", fill_value=MISSING, keep_empty_features=True),
            ),
            (
                "one_hot",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float32),
            ),
        ]
    )


def _codes_pipeline() -> Pipeline:
    return Pipeline(
        [
            ("to_text", FunctionTransformer(text_frame, feature_names_out="one-to-one")),
            (
                "codes",
                OrdinalEncoder(
                    handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-1
                ),
            ),
            ("shift", FunctionTransformer(shift_codes, feature_names_out="one-to-one")),
        ]
    )


def _boolean_pipeline() -> Pipeline:
    return Pipeline(
        [
            ("flags", BinaryFlags()),
            (
                "impute",
                SimpleImputer(
                    strategy="most_frequent", add_indicator=True, keep_empty_features=True
                ),
            ),
        ]
    )


def _datetime_pipeline() -> Pipeline:
    return Pipeline(
        [
            ("calendar", CalendarFeatures()),
            ("scale", StandardScaler()),
            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
        ]
    )


def fit_transformer(
    schema: Schema, train: pd.DataFrame, options: PrepareOptions | None = None
) -> ColumnTransformer:
    """Fit on the training rows; fall back to role-prefixed names if plain ones clash."""
    columns = train[schema.feature_columns]
    try:
        return build_transformer(schema, options).fit(columns)
    except ValueError as exc:  # e.g. a column 'island_Biscoe' beside one-hot 'island'
        if "not unique" not in str(exc):
            raise
    transformer = build_transformer(schema, options)
    return transformer.set_params(verbose_feature_names_out=True).fit(columns)


def feature_sources(transformer: ColumnTransformer) -> dict[str, str]:
    """{model input column: source column} for a fitted transformer, in output order."""
    names = list(transformer.get_feature_names_out())
    sources: list[str] = [""] * len(names)
    for kind, pipeline, columns in transformer.transformers_:
        if kind == "remainder" or pipeline == "drop":
            continue
        out = list(columns)
        for _, step in pipeline.steps:
            out = _step_sources(step, out)
        block = transformer.output_indices_[kind]
        if len(out) != block.stop - block.start:
            raise RuntimeError(f"feature source map out of step with '{kind}' outputs")
        sources[block] = out
    return dict(zip(names, sources, strict=True))


def code_cardinalities(transformer: ColumnTransformer) -> dict[str, int]:
    """{model input column: number of codes incl. 0} for the integer-coded categoricals."""
    if "categorical_codes" not in transformer.named_transformers_:
        return {}
    pipeline = transformer.named_transformers_["categorical_codes"]
    block = transformer.output_indices_["categorical_codes"]
    names = list(transformer.get_feature_names_out())[block]
    known = [
        sum(not _is_nan(c) for c in cats) for cats in pipeline.named_steps["codes"].categories_
    ]
    return {name: n + 1 for name, n in zip(names, known, strict=True)}


def _step_sources(step, sources: list[str]) -> list[str]:
    if isinstance(step, SimpleImputer) and step.add_indicator:
        return sources + [sources[i] for i in step.indicator_.features_]
    if isinstance(step, OneHotEncoder):
        return [
            s for s, categories in zip(sources, step.categories_, strict=True) for _ in categories
        ]
    if isinstance(step, CalendarFeatures):
        return [s for s, parts in zip(sources, step.parts_.values(), strict=True) for _ in parts]
    return sources


def _is_nan(value) -> bool:
    return isinstance(value, float) and np.isnan(value)
