"""sattn_dash.tabular: read a user's table, understand its columns, prepare it for a model.

    df = read_table(upload)                      # any CSV/TSV/Excel/Parquet/JSON file
    schema = infer_schema(df, targets="churned") # roles + reasons, task, hints, groups
    prepared = prepare(df, schema, seed=0)       # fitted on train, float32 splits

No TensorFlow and no Streamlit here: pages import this cheaply.
"""

from sattn_dash._lazy import lazy_exports

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "ONE_HOT_MAX": "infer",
        "infer_schema": "infer",
        "data_hash": "prepare",
        "encode_target": "prepare",
        "prepare": "prepare",
        "SPLITS": "prepared",
        "PreparedData": "prepared",
        "ReadInfo": "read",
        "ReadLimits": "read",
        "list_sheets": "read",
        "read_info": "read",
        "read_table": "read",
        "data_root": "paths",
        "find_table_files": "paths",
        "read_path": "paths",
        "SAMPLES": "samples",
        "LoadedTable": "stream",
        "StreamedData": "stream",
        "read_path_table": "stream",
        "TableStream": "stream",
        "prepare_stream": "stream",
        "should_stream": "stream",
        "split_codes": "stream",
        "SampleInfo": "samples",
        "load_sample": "samples",
        "FEATURE_ROLES": "schema",
        "TASKS": "schema",
        "ColumnInfo": "schema",
        "Hint": "schema",
        "Role": "schema",
        "Schema": "schema",
        "TargetInfo": "schema",
        "PrepareOptions": "options",
    },
)
