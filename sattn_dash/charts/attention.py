"""Charts of token attention: per-head heatmaps of one row, attention over a data split
(overall and per class), and the sparse-dense router's choices."""

from __future__ import annotations

import altair as alt
import pandas as pd

from sattn_dash.charts.style import ALERT, SEQUENTIAL, finish, rows, tooltip

EMPTY = "#f1f3f5"  # a key the query did not select: weight exactly 0
DARK = "#1c3faa"


def _token_order(frame: pd.DataFrame, token: str, index: str) -> list[str]:
    if index in frame:
        return list(dict.fromkeys(frame.sort_values(index)[token]))
    return list(dict.fromkeys(frame[token]))


def head_heatmaps(frame: pd.DataFrame) -> alt.Chart:
    """One heatmap per head, queries down and keys across, for one row and one layer
    (``head, query_token, key_token, weight, selected``; ``query``/``key`` order them).
    Selected keys carry their weight as text; the rest are exactly zero."""
    keys = _token_order(frame, "key_token", "key")
    queries = _token_order(frame, "query_token", "query")
    top = float(frame["weight"].max()) if len(frame) and frame["weight"].max() > 0 else 1.0
    tips = [
        tooltip("head", "Head", "d", "Q"),
        tooltip("query_token", "Query token", kind="N"),
        tooltip("key_token", "Key token", kind="N"),
        tooltip("weight", "Attention weight (share of the query's 1)", ".4f", "Q"),
        tooltip("selected", "In the top-k selection", kind="N"),
    ]
    base = alt.Chart(frame).encode(
        x=alt.X("key_token:N", sort=keys, title="Key token (attended to)"),
        y=alt.Y("query_token:N", sort=queries, title="Query token"),
    )
    cells = base.mark_rect(stroke="white", strokeWidth=0.5).encode(
        color=alt.Color(
            "weight:Q",
            title="Weight",
            scale=alt.Scale(domain=[0, top], range=[EMPTY, DARK]),
        ),
        tooltip=tips,
    )
    marks = (
        base.transform_filter("datum.selected")
        .mark_text(fontSize=9)
        .encode(
            text=alt.Text("weight:Q", format=".2f"),
            color=alt.condition(
                f"datum.weight > {top / 2}", alt.value("white"), alt.value("#1f2430")
            ),
            tooltip=tips,
        )
    )
    size = max(10, min(28, 320 // max(len(keys), 1)))
    layered = alt.layer(cells, marks, data=frame).properties(
        width=size * len(keys), height=size * len(queries)
    )
    chart = layered.facet(
        facet=alt.Facet("head:O", title="Head", header=alt.Header(labelFontWeight="bold")),
        columns=2,
    )
    return finish(chart, "Attention per head (numbers mark the selected keys)", height=None)


def key_attention(frame: pd.DataFrame) -> alt.Chart:
    """Mean attention each key token receives over a split (``key_token,
    mean_attention, selection_frequency``)."""
    bars = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y("key_token:N", sort="-x", title="Key token"),
            x=alt.X("mean_attention:Q", title="Mean attention weight (share of 1)"),
            color=alt.Color(
                "selection_frequency:Q",
                title="Selected in",
                scale=alt.Scale(scheme=SEQUENTIAL),
                legend=alt.Legend(format="%"),
            ),
            tooltip=[
                tooltip("key_token", "Key token", kind="N"),
                tooltip("mean_attention", "Mean attention weight", ".4f", "Q"),
                tooltip(
                    "selection_frequency", "Share of (row, head, query) selecting it", ".2%", "Q"
                ),
                tooltip("rows", "Rows averaged", ",d", "Q"),
            ],
        )
    )
    return finish(bars, "Attention per token over the test rows", height=rows(20))


def class_heatmap(
    frame: pd.DataFrame, x: str, value: str, title: str, value_title: str
) -> alt.Chart:
    """A class x token (or branch) heatmap of ``value`` with the exact value on hover."""
    cells = (
        alt.Chart(frame)
        .mark_rect(stroke="white", strokeWidth=0.5)
        .encode(
            x=alt.X(f"{x}:N", title=None, sort=list(dict.fromkeys(frame[x]))),
            y=alt.Y("class:N", title="Class"),
            color=alt.Color(f"{value}:Q", title=value_title, scale=alt.Scale(scheme=SEQUENTIAL)),
            tooltip=[
                tooltip("class", "Class", kind="N"),
                tooltip(x, x.replace("_", " ").capitalize(), kind="N"),
                tooltip(value, value_title, ".4f", "Q"),
                *([tooltip("rows", "Rows in this class", ",d", "Q")] if "rows" in frame else []),
            ],
        )
    )
    return finish(cells, title, height=rows(28))


def co_selection(frame: pd.DataFrame) -> alt.Chart:
    """How often two branches are routed to together (``branch, other_branch,
    co_selection, rows_both``); the diagonal is each branch's own selection rate."""
    order = list(dict.fromkeys(frame["branch"]))
    base = alt.Chart(frame).encode(
        x=alt.X("other_branch:N", sort=order, title=None),
        y=alt.Y("branch:N", sort=order, title=None),
    )
    tips = [
        tooltip("branch", "Branch", kind="N"),
        tooltip("other_branch", "Together with", kind="N"),
        tooltip("co_selection", "Share of rows routed to both", ".2%", "Q"),
        tooltip("rows_both", "Rows routed to both", ",d", "Q"),
    ]
    cells = base.mark_rect(stroke="white").encode(
        color=alt.Color(
            "co_selection:Q",
            title="Share of rows",
            scale=alt.Scale(scheme=SEQUENTIAL, domain=[0, 1]),
            legend=alt.Legend(format="%"),
        ),
        tooltip=tips,
    )
    text = base.mark_text(fontSize=11).encode(
        text=alt.Text("co_selection:Q", format=".0%"),
        color=alt.condition("datum.co_selection > 0.5", alt.value("white"), alt.value("#1f2430")),
        tooltip=tips,
    )
    return finish(cells + text, "Branches picked together", height=rows(40))


def before_after(
    frame: pd.DataFrame, x: str, value: str, value_title: str, title: str
) -> alt.Chart:
    """Grouped bars of ``value`` per ``x`` for the original and the edited row
    (``version`` is "original" or "edited")."""
    bars = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y(f"{x}:N", title=None, sort=list(dict.fromkeys(frame[x]))),
            yOffset=alt.YOffset("version:N", sort=["original", "edited"]),
            x=alt.X(f"{value}:Q", title=value_title),
            color=alt.Color(
                "version:N",
                sort=["original", "edited"],
                title=None,
                scale=alt.Scale(domain=["original", "edited"], range=["#adb5bd", ALERT]),
            ),
            tooltip=[
                tooltip("version", "Row", kind="N"),
                tooltip(x, x.replace("_", " ").capitalize(), kind="N"),
                tooltip(value, value_title, ".4f", "Q"),
            ],
        )
    )
    return finish(bars, title, height=rows(36))
