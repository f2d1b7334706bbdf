"""Charts that put runs side by side."""

from __future__ import annotations

import altair as alt
import pandas as pd

from sattn_dash.charts.style import finish, rows, split_dash, tooltip


def overlaid_curves(history: pd.DataFrame, metric: str) -> alt.Chart:
    """One metric per epoch for several runs (``run, epoch, metric, split, value[,
    label]``), named in the user's words (``label``, else the Keras ``metric``, which only
    picks the rows and is not drawn)."""
    data = history[history["metric"] == metric]
    if "label" in data and not data.empty:
        metric, data = data["label"].iloc[0], data.drop(columns=["metric"])
    lines = (
        alt.Chart(data)
        .mark_line(point=alt.OverlayMarkDef(size=25))
        .encode(
            x=alt.X("epoch:Q", title="Epoch", axis=alt.Axis(tickMinStep=1, format="d")),
            y=alt.Y("value:Q", title=metric, scale=alt.Scale(zero=False)),
            color=alt.Color("run:N", title="Run"),
            strokeDash=split_dash(),
            tooltip=[
                tooltip("run", "Run", kind="N"),
                tooltip("epoch", "Epoch", "d", "Q"),
                tooltip("split", "Split", kind="N"),
                tooltip("value", metric, ".5f", "Q"),
            ],
        )
    )
    return finish(lines, f"{metric} per epoch")


def metrics_side_by_side(metrics: pd.DataFrame) -> alt.Chart:
    """Test metrics of several runs as grouped bars (``run, target, metric, value``)."""
    data = metrics.assign(measure=metrics["target"] + " · test " + metrics["metric"])
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("value:Q", title="Value on the test split"),
            y=alt.Y("run:N", title=None),
            color=alt.Color("run:N", title="Run", legend=None),
            row=alt.Row(
                "measure:N", title=None, header=alt.Header(labelAngle=0, labelAlign="left")
            ),
            tooltip=[
                tooltip("run", "Run", kind="N"),
                tooltip("target", "Target", kind="N"),
                tooltip("metric", "Metric", kind="N"),
                tooltip("value", "Value", ".4f", "Q"),
            ],
        )
        .properties(width=420, height=rows(22))
    )
    return finish(bars, "Test metrics", height=None)


def importances_side_by_side(importances: pd.DataFrame) -> alt.Chart:
    """Module importance per branch, one bar per run (``run, branch, importance, measure``:
    a module probability or a mean routing weight, both a share of 1)."""
    bars = (
        alt.Chart(importances)
        .mark_bar()
        .encode(
            x=alt.X(
                "importance:Q",
                title="Module importance (share of 1)",
                scale=alt.Scale(domain=[0, 1]),
            ),
            y=alt.Y("branch:N", title=None, sort=None),
            yOffset="run:N",
            color=alt.Color("run:N", title="Run"),
            tooltip=[
                tooltip("run", "Run", kind="N"),
                tooltip("branch", "Branch", kind="N"),
                tooltip("measure", "Measure", kind="N"),
                tooltip("importance", "Importance", ".4f", "Q"),
            ],
        )
    )
    return finish(bars, "Module importance by run", height=rows(44))
