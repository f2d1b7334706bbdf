"""sattn_dash.tabular: read a user's table, understand its columns, prepare it for a model.

    df = read_table(upload)                      # any CSV/TSV/Excel/Parquet/JSON file
    schema = infer_schema(df, targets="churned") # roles + reasons, task, hints, groups
    prepared = prepare(df, schema, seed=0)       # fitted on train, float32 splits

No TensorFlow and no Streamlit here: pages import this cheaply.
"""

from sattn_dash.tabular.infer import ONE_HOT_MAX, infer_schema
from sattn_dash.tabular.prepare import data_hash, prepare
from sattn_dash.tabular.prepared import SPLITS, PreparedData
from sattn_dash.tabular.read import ReadInfo, ReadLimits, list_sheets, read_info, read_table
from sattn_dash.tabular.samples import SAMPLES, SampleInfo, load_sample
from sattn_dash.tabular.schema import (
    FEATURE_ROLES,
    TASKS,
    ColumnInfo,
    Hint,
    Role,
    Schema,
    TargetInfo,
)

__all__ = [
    "FEATURE_ROLES",
    "ONE_HOT_MAX",
    "SAMPLES",
    "SPLITS",
    "TASKS",
    "ColumnInfo",
    "Hint",
    "PreparedData",
    "ReadInfo",
    "ReadLimits",
    "Role",
    "SampleInfo",
    "Schema",
    "TargetInfo",
    "data_hash",
    "infer_schema",
    "list_sheets",
    "load_sample",
    "prepare",
    "read_info",
    "read_table",
]
