"""Charts of which columns matter (permutation with its spread beside mean |attribution|)
and of ensemble members alone against together."""

from __future__ import annotations

import altair as alt
import pandas as pd

from sattn_dash.charts.style import ALERT, MUTED, PRIMARY, finish, rows, tooltip


def column_importance_bars(frame: pd.DataFrame) -> alt.Chart:
    """Per source column of one target (``column_importance_table`` rows): the mean loss
    of skill when shuffled with a bar of ± one standard deviation over the shuffles,
    beside the mean |attribution|; both in the order of permutation, each on its own
    scale (they are in different units)."""
    metric = str(frame["metric"].iloc[0]) if len(frame) else "metric"
    order = list(frame.sort_values("permutation", ascending=False)["column"])
    data = frame.assign(
        low=frame["permutation"] - frame["permutation_std"],
        high=frame["permutation"] + frame["permutation_std"],
    )
    tips = [
        tooltip("column", "Column", kind="N"),
        tooltip("permutation", f"Loss of {metric} when shuffled (mean)", ".4f", "Q"),
        tooltip("permutation_std", "Spread over the shuffles (std)", ".4f", "Q"),
        tooltip("attribution", "Mean |attribution|", ".4f", "Q"),
        tooltip("permutation_rank", "Rank by permutation", "d", "Q"),
        tooltip("attribution_rank", "Rank by attribution", "d", "Q"),
    ]
    y = alt.Y("column:N", sort=order, title=None)
    base = alt.Chart(data).encode(y=y, tooltip=tips)
    shuffled = base.mark_bar(color=PRIMARY).encode(
        x=alt.X("permutation:Q", title=f"Loss of {metric} when shuffled (± std)")
    ) + base.mark_rule(color="#1f2430").encode(x="low:Q", x2="high:Q")
    attributed = base.mark_bar(color=MUTED).encode(
        x=alt.X("attribution:Q", title="Mean |attribution| (output units)")
    )
    panels = alt.hconcat(
        shuffled.properties(width=260, height=rows(24), title="Permutation"),
        attributed.properties(width=260, height=rows(24), title="Integrated gradients"),
    )
    return finish(panels, "Which columns matter", height=None)


def member_scores(frame: pd.DataFrame) -> alt.Chart:
    """Each ensemble member's validation score alone (``member_scores`` rows of one
    branch and target), with the ensemble's as a line."""
    metric = str(frame["metric"].iloc[0]) if len(frame) else "metric"
    low = float(min(frame["score"].min(), frame["ensemble_score"].min()))
    high = float(max(frame["score"].max(), frame["ensemble_score"].max()))
    pad = max((high - low) * 0.5, 1e-3)
    scale = alt.Scale(domain=[low - pad, high + pad], zero=False)
    tips = [
        tooltip("member", "Member", kind="N"),
        tooltip("score", f"{metric} alone", ".4f", "Q"),
        tooltip("ensemble_score", f"{metric} of the ensemble", ".4f", "Q"),
        tooltip("correlation", "Mean correlation with the other members", ".3f", "Q"),
        *([tooltip("weight", "Combiner weight", ".3f", "Q")] if "weight" in frame else []),
    ]
    points = (
        alt.Chart(frame)
        .mark_point(filled=True, size=90, color=PRIMARY)
        .encode(
            y=alt.Y("member:N", title=None, sort=None),
            x=alt.X("score:Q", title=f"Validation {metric}", scale=scale),
            tooltip=tips,
        )
    )
    together = (
        alt.Chart(frame.head(1))
        .mark_rule(color=ALERT, strokeDash=[4, 3], size=2)
        .encode(x="ensemble_score:Q", tooltip=[tooltip("ensemble_score", "Ensemble", ".4f", "Q")])
    )
    return finish(points + together, "Each member alone, and the ensemble (dashed)", rows(24))
