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


PAGE_WIDTH = 680  # px the page gives a chart in Streamlit's centred layout
LABELS = 170  # px for the query axis labels and titles beside the first panel
GAP = 20  # px between facet panels
HEAD_TITLE = "Attention per head by source column ([CLS] query as is, other queries averaged)"


def heads_per_line(panel: int) -> int:
    """How many head panels of ``panel`` px fit side by side on the page."""
    return max(1, (PAGE_WIDTH - LABELS + GAP) // (panel + GAP))


def head_heatmaps(frame: pd.DataFrame) -> alt.Chart:
    """One heatmap per head, query columns down and key columns across, for one row and
    one layer (``attention_by_column`` rows: ``head, query, query_column, key,
    key_column, weight, selected, key_tokens, query_tokens``). Selected entries carry
    their weight as text; the rest are exactly zero. Panels wrap to fit the page."""
    keys = _token_order(frame, "key_column", "key")
    queries = _token_order(frame, "query_column", "query")
    heads = frame["head"].nunique() if len(frame) else 1
    top = float(frame["weight"].max()) if len(frame) and frame["weight"].max() > 0 else 1.0
    tips = [
        tooltip("head", "Head", "d", "Q"),
        tooltip("query_column", "Query (mean over its tokens)", kind="N"),
        tooltip("key_column", "Key (sum over its tokens)", kind="N"),
        tooltip("weight", "Attention weight (share of the query's 1)", ".4f", "Q"),
        tooltip("key_tokens", "Key tokens summed", "d", "Q"),
        tooltip("query_tokens", "Query tokens averaged", "d", "Q"),
    ]
    label_axis = alt.Axis(labelLimit=150, labelAngle=-45)
    base = alt.Chart(frame).encode(
        x=alt.X("key_column:N", sort=keys, title="Key column (attended to)", axis=label_axis),
        y=alt.Y("query_column:N", sort=queries, title="Query", axis=alt.Axis(labelLimit=150)),
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
    size = max(16, min(28, (PAGE_WIDTH - LABELS) // max(len(keys), 1)))
    layered = alt.layer(cells, marks, data=frame).properties(
        width=size * len(keys), height=size * len(queries)
    )
    chart = layered.facet(
        facet=alt.Facet("head:O", title="Head", header=alt.Header(labelFontWeight="bold")),
        columns=min(heads, heads_per_line(size * len(keys))),
        spacing=GAP,
    )
    return finish(chart, HEAD_TITLE, height=None)


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
