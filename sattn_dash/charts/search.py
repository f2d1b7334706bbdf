"""Charts of a study: best value so far, parameters against the metric, importance.

They take the tidy frames of ``sattn_dash.search.study`` (``best_so_far``,
``parallel_frame``, ``param_importance``).
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from sattn_dash.charts import style


def best_so_far(frame: pd.DataFrame, metric: str) -> alt.Chart:
    """Each completed trial's value (points) and the best so far (a step line), in the
    order the trials ended."""
    x = alt.X("order:Q", title="Completed trials", axis=alt.Axis(tickMinStep=1))
    tips = [
        style.tooltip("trial", "Trial", kind="Q"),
        style.tooltip("value", metric, ".5g", "Q"),
        style.tooltip("best", f"Best {metric} so far", ".5g", "Q"),
    ]
    points = (
        alt.Chart(frame)
        .mark_circle(size=60, color=style.MUTED)
        .encode(x=x, y=alt.Y("value:Q", title=metric, scale=alt.Scale(zero=False)), tooltip=tips)
    )
    line = (
        alt.Chart(frame)
        .mark_line(interpolate="step-after", color=style.PRIMARY, strokeWidth=2)
        .encode(x=x, y="best:Q", tooltip=tips)
    )
    return style.finish(points + line, f"Best {metric} so far")


def parallel_coordinates(frame: pd.DataFrame, metric: str, direction: str) -> alt.Chart:
    """One line per trial across its parameters (each scaled to its own range), coloured
    by the trial's value: the better, the darker."""
    order = list(dict.fromkeys(frame["parameter"]))
    chart = (
        alt.Chart(frame)
        .mark_line(point=True, opacity=0.75)
        .encode(
            x=alt.X("parameter:N", sort=order, title=None, axis=alt.Axis(labelAngle=-30)),
            y=alt.Y("position:Q", title="Position in the parameter's range", axis=None),
            color=alt.Color(
                "value:Q",
                title=metric,
                scale=alt.Scale(scheme=style.SEQUENTIAL, reverse=direction == "minimize"),
            ),
            detail="trial:N",
            tooltip=[
                style.tooltip("trial", "Trial", kind="N"),
                style.tooltip("parameter", "Parameter", kind="N"),
                style.tooltip("shown", "Value", kind="N"),
                style.tooltip("value", metric, ".5g", "Q"),
            ],
        )
    )
    return style.finish(chart, "Parameters of each trial against the metric", height=300)


def importance_bars(frame: pd.DataFrame, method: str) -> alt.Chart:
    chart = (
        alt.Chart(frame)
        .mark_bar(color=style.PRIMARY)
        .encode(
            x=alt.X("importance:Q", title=f"Importance ({method}, sums to 1)"),
            y=alt.Y("parameter:N", sort="-x", title=None),
            tooltip=[
                style.tooltip("parameter", "Parameter", kind="N"),
                style.tooltip("importance", "Importance", ".3f", "Q"),
                style.tooltip("rank", "Rank", kind="Q"),
            ],
        )
    )
    return style.finish(chart, "Which parameters move the metric", height=style.rows())
