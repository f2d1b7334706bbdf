"""Charts of a table before any model: missing values, distributions, target balance."""

from __future__ import annotations

import altair as alt
import pandas as pd

from sattn_dash.charts.style import ALERT, HEIGHT, PRIMARY, finish, rows, tooltip


def missing_values(table: pd.DataFrame) -> alt.Chart:
    """Share of missing cells per column (``column, missing, missing_share, rows``)."""
    bars = (
        alt.Chart(table)
        .mark_bar(color=ALERT)
        .encode(
            x=alt.X(
                "missing_share:Q",
                title="Missing (share of rows)",
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, max(0.05, float(table["missing_share"].max() or 0))]),
            ),
            y=alt.Y("column:N", sort=None, title=None),
            tooltip=[
                tooltip("column", "Column", kind="N"),
                tooltip("missing", "Missing (rows)", ",d", "Q"),
                tooltip("rows", "Rows in table", ",d", "Q"),
                tooltip("missing_share", "Missing (share)", ".2%", "Q"),
            ],
        )
    )
    return finish(bars, "Missing values per column", height=rows(20))


def distribution(table: pd.DataFrame, column: str) -> alt.Chart:
    """Histogram bins (``start``/``end`` set) or category counts (``label``) of one column."""
    tips = [
        tooltip("label", column, kind="N"),
        tooltip("count", "Rows", ",d", "Q"),
        tooltip("share", "Share of non-missing rows", ".2%", "Q"),
    ]
    numeric = bool(len(table)) and table["start"].notna().all()
    if numeric:
        chart = (
            alt.Chart(table)
            .mark_bar(color=PRIMARY)
            .encode(
                x=alt.X("start:Q", bin="binned", title=column),
                x2="end:Q",
                y=alt.Y("count:Q", title="Rows"),
                tooltip=tips,
            )
        )
    else:
        chart = (
            alt.Chart(table)
            .mark_bar(color=PRIMARY)
            .encode(
                x=alt.X("count:Q", title="Rows"),
                y=alt.Y("label:N", sort=None, title=column),
                tooltip=tips,
            )
        )
    return finish(chart, f"Distribution of {column}", height=HEIGHT if numeric else rows(20))


def target_balance(table: pd.DataFrame) -> alt.Chart:
    """Rows per class (or per value bin) for each target (``target, label, count, share``)."""
    chart = (
        alt.Chart(table)
        .mark_bar()
        .encode(
            x=alt.X("count:Q", title="Rows"),
            y=alt.Y("label:N", sort=None, title=None),
            color=alt.Color("target:N", title="Target", legend=None),
            row=alt.Row("target:N", title=None, header=alt.Header(labelFontWeight="bold")),
            tooltip=[
                tooltip("target", "Target", kind="N"),
                tooltip("label", "Class or range", kind="N"),
                tooltip("count", "Rows", ",d", "Q"),
                tooltip("share", "Share of rows", ".2%", "Q"),
            ],
        )
        .resolve_scale(y="independent")
        .properties(width=520, height=rows(20))
    )
    return finish(chart, "Target balance", height=None)
