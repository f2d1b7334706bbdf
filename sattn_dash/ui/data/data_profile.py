"""The table's profile on the Data page: preview, missing values, distributions, balance."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from sattn_dash.charts import data as data_charts
from sattn_dash.tabular import profile
from sattn_dash.tabular.schema import Role, Schema
from sattn_dash.ui.shared import state
from sattn_dash.ui.shared.components import chart, table

PREVIEW_ROWS = 500
PREVIEW_COLUMNS = 50  # a wide table's preview shows one page of columns at a time
MISSING_BARS = 40  # the missing-values chart shows the most-missing columns
NUMERIC_ROLES = (Role.numeric,)


def render_summary(df: pd.DataFrame, name: str, loaded=None) -> None:
    """Name, shape and how the table was read. `loaded` (a `LoadedTable` of a server
    path) says whether it streams and why; a streamed frame is the table's sample."""
    from sattn_dash.tabular.read import read_info

    info = read_info(df)
    how = f" · read as {info.describe()}" if info else ""
    stream = loaded.stream if loaded is not None else None
    rows = f"{stream.n_rows:,} rows (streamed)" if stream is not None else f"{len(df):,} rows"
    st.markdown(f"**{name}** · {rows} × {df.shape[1]:,} columns{how}")
    if loaded is not None:
        st.caption(f":material/{'stream' if stream else 'memory'}: {loaded.why}")
    for note in info.notes if info else ():
        st.caption(note)


def render_preview(df: pd.DataFrame) -> None:
    columns = profile.column_page(df.columns, _preview_page(df.shape[1]), PREVIEW_COLUMNS)
    shown = df.iloc[:PREVIEW_ROWS][columns].copy()
    shown.attrs = {}  # read_table's notes are shown above; Arrow cannot carry them
    which = f" and columns {_page_label(df.columns, columns)}" if len(columns) < df.shape[1] else ""
    table(
        shown,
        "table_preview",
        caption=f"The first {len(shown):,} of {len(df):,} rows{which}.",
        height=300,
    )


def _preview_page(n_columns: int) -> int:
    """The page of columns the user picked (a picker only appears for wide tables)."""
    n_pages = -(-n_columns // PREVIEW_COLUMNS)
    if n_pages <= 1:
        return 0
    return (
        st.number_input(
            f"Columns, page of {PREVIEW_COLUMNS} (1 to {n_pages:,})",
            min_value=1,
            max_value=n_pages,
            value=1,
            key=f"{state.PREVIEW_PAGE.name}.{state.TABLE_VERSION.get()}",  # page 1 per new table
        )
        - 1
    )


def _page_label(all_columns, columns) -> str:
    first = all_columns.get_loc(columns[0]) + 1
    return f"{first:,} to {first + len(columns) - 1:,} of {len(all_columns):,}"


def render_missing(df: pd.DataFrame) -> None:
    missing = profile.missing_table(df)
    with_missing = missing[missing["missing"] > 0]
    if with_missing.empty:
        st.success("No missing values in any column.", icon=":material/check_circle:")
        return
    shown = with_missing.head(MISSING_BARS)
    more = len(with_missing) - len(shown)
    chart(
        data_charts.missing_values(shown),
        missing,
        "missing_values",
        caption=(
            f"The {len(shown)} most-missing of {len(with_missing):,} columns with gaps; the "
            "CSV lists every column. "
            if more
            else ""
        )
        + "Missing cells are filled in by the preprocessing (median or most frequent).",
    )


def _is_numeric(schema: Schema, column: str) -> bool:
    info = schema.column(column)
    if column in schema.target_names:
        return schema.task(column) == "regression"
    return info.role in NUMERIC_ROLES


def render_distribution(df: pd.DataFrame, schema: Schema) -> None:
    columns = [c for c in schema.names]
    default = schema.feature_columns[0] if schema.feature_columns else columns[0]
    column = st.selectbox(
        "Column",
        columns,
        index=columns.index(default),
        key=state.PROFILE_COLUMN.name,
    )
    counts = profile.distribution_table(df[column], _is_numeric(schema, column))
    if counts.empty:
        st.caption(f"{column} has no values to count.")
        return
    info = schema.column(column)
    chart(
        data_charts.distribution(counts, column),
        counts,
        f"distribution_{column}",
        caption=f"Role: {info.role.value} · {info.n_unique:,} distinct values · "
        f"{info.n_missing:,} missing.",
    )


def render_balance(df: pd.DataFrame, schema: Schema) -> None:
    if not schema.targets:
        st.caption("Pick a target above to see how its values are spread.")
        return
    numeric = {t.name: t.task == "regression" for t in schema.targets}
    balance = profile.target_balance_table(df, schema.target_names, numeric)
    chart(
        data_charts.target_balance(balance),
        balance,
        "target_balance",
        caption="Rows per class (or per value range for numbers). Strong imbalance makes "
        "accuracy misleading: read the per-class metrics too.",
    )
