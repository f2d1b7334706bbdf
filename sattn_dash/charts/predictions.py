"""Charts of single predictions and of how far to trust them: attributions beside
attention for one row, the row-by-row agreement over a split, the reliability diagram,
precision/recall against the threshold, the confusion matrix, residuals with intervals."""

from __future__ import annotations

import altair as alt
import pandas as pd

from sattn_dash.charts.style import ALERT, MUTED, PRIMARY, SEQUENTIAL, finish, rows, tooltip

POSITIVE, NEGATIVE = PRIMARY, ALERT


def attribution_bars(frame: pd.DataFrame, unit: str, title: str) -> alt.Chart:
    """Signed bars, largest first (``<unit>, attribution, share, rank``): right pushes
    the explained output up from the baseline's, left pulls it down."""
    order = list(frame.sort_values("rank")[unit])
    base = alt.Chart(frame).encode(
        y=alt.Y(f"{unit}:N", sort=order, title=unit.capitalize()),
        x=alt.X("attribution:Q", title="Attribution (change from the baseline prediction)"),
        tooltip=[
            tooltip(unit, unit.capitalize(), kind="N"),
            tooltip("attribution", "Attribution (output units)", "+.4f", "Q"),
            tooltip("share", "Share of the row's total size", ".1%", "Q"),
            tooltip("rank", "Rank by size (1 = largest)", "d", "Q"),
        ],
    )
    bars = base.mark_bar().encode(
        color=alt.condition("datum.attribution >= 0", alt.value(POSITIVE), alt.value(NEGATIVE))
    )
    zero = alt.Chart(pd.DataFrame({"x": [0]})).mark_rule(color=MUTED).encode(x="x:Q")
    return finish(bars + zero, title, height=rows(26))


def attention_bars(frame: pd.DataFrame, title: str) -> alt.Chart:
    """One row's attention on the same items (``item, attention``), largest first."""
    order = list(frame.sort_values("attention", ascending=False)["item"])
    bars = (
        alt.Chart(frame)
        .mark_bar(color=MUTED)
        .encode(
            y=alt.Y("item:N", sort=order, title="Attended to"),
            x=alt.X("attention:Q", title="Attention weight (share of 1)"),
            tooltip=[
                tooltip("item", "Attended to", kind="N"),
                tooltip("attention", "Attention weight", ".4f", "Q"),
            ],
        )
    )
    return finish(bars, title, height=rows(26))


def agreement_histogram(frame: pd.DataFrame) -> alt.Chart:
    """The distribution of the per-row Spearman rho (``spearman_rho``), -1 to 1."""
    bars = (
        alt.Chart(frame.dropna(subset=["spearman_rho"]))
        .mark_bar(color=PRIMARY)
        .encode(
            x=alt.X(
                "spearman_rho:Q",
                bin=alt.Bin(extent=[-1, 1], step=0.1),
                title="Spearman rho of attention and attribution size, per row",
            ),
            y=alt.Y("count():Q", title="Rows"),
            tooltip=[
                tooltip("spearman_rho", "Spearman rho (bin)", ".1f", "Q"),
                alt.Tooltip("count():Q", title="Rows"),
            ],
        )
    )
    marks = pd.DataFrame({"rho": [0.3, 0.7], "line": ["partial from", "strong from"]})
    rules = (
        alt.Chart(marks)
        .mark_rule(strokeDash=[4, 3], color=MUTED)
        .encode(x="rho:Q", tooltip=[tooltip("line", "Agreement", kind="N")])
    )
    return finish(bars + rules, "Row-by-row agreement over the explained rows")


def reliability_diagram(frame: pd.DataFrame, label: str) -> alt.Chart:
    """Observed frequency against mean predicted probability per bin (``mean_predicted,
    observed, rows, lower, upper``), with the diagonal of perfect calibration."""
    diagonal = (
        alt.Chart(pd.DataFrame({"p": [0.0, 1.0]}))
        .mark_line(color=MUTED, strokeDash=[4, 3])
        .encode(x="p:Q", y="p:Q")
    )
    tips = [
        tooltip("lower", "Bin from", ".1f", "Q"),
        tooltip("upper", "Bin to", ".1f", "Q"),
        tooltip("mean_predicted", "Mean predicted probability", ".3f", "Q"),
        tooltip("observed", "Observed frequency", ".3f", "Q"),
        tooltip("rows", "Rows in the bin", "d", "Q"),
    ]
    scale = alt.Scale(domain=[0, 1])
    points = (
        alt.Chart(frame)
        .mark_line(point=True, color=PRIMARY)
        .encode(
            x=alt.X("mean_predicted:Q", title=f"Predicted {label}", scale=scale),
            y=alt.Y("observed:Q", title="Observed frequency", scale=scale),
            tooltip=tips,
        )
    )
    sized = (
        alt.Chart(frame)
        .mark_circle(color=PRIMARY, opacity=0.35)
        .encode(
            x="mean_predicted:Q",
            y="observed:Q",
            size=alt.Size("rows:Q", title="Rows"),
            tooltip=tips,
        )
    )
    return finish(diagonal + points + sized, "Reliability diagram (test rows)", height=320)


def threshold_curves(frame: pd.DataFrame, chosen: float) -> alt.Chart:
    """Precision, recall and F1 against the threshold, the chosen one marked."""
    long = frame.melt(
        id_vars="threshold", value_vars=["precision", "recall", "f1"], var_name="measure"
    )
    lines = (
        alt.Chart(long)
        .mark_line()
        .encode(
            x=alt.X("threshold:Q", title="Decision threshold (predict positive at or above)"),
            y=alt.Y("value:Q", title="Value", scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("measure:N", title="Measure"),
            tooltip=[
                tooltip("threshold", "Threshold", ".2f", "Q"),
                tooltip("measure", "Measure", kind="N"),
                tooltip("value", "Value", ".3f", "Q"),
            ],
        )
    )
    rule = (
        alt.Chart(pd.DataFrame({"threshold": [chosen]}))
        .mark_rule(color="#1f2430", strokeDash=[4, 3])
        .encode(x="threshold:Q", tooltip=[tooltip("threshold", "Chosen threshold", ".2f", "Q")])
    )
    return finish(lines + rule, "Precision and recall as the threshold moves")


def confusion_matrix(
    frame: pd.DataFrame,
    title: str = "Confusion matrix at this threshold",
    share: str = "Share of test rows",
) -> alt.Chart:
    """``true, predicted, rows, share`` as a heatmap with counts (2x2 at a threshold, or
    every class; ``share`` names what the share is of)."""
    labels = list(dict.fromkeys(frame["true"]))
    base = alt.Chart(frame).encode(
        x=alt.X("predicted:N", title="Predicted", sort=labels),
        y=alt.Y("true:N", title="True", sort=labels),
        tooltip=[
            tooltip("true", "True", kind="N"),
            tooltip("predicted", "Predicted", kind="N"),
            tooltip("rows", "Rows", "d", "Q"),
            tooltip("share", share, ".1%", "Q"),
        ],
    )
    cells = base.mark_rect().encode(
        color=alt.Color("rows:Q", title="Rows", scale=alt.Scale(scheme=SEQUENTIAL))
    )
    text = base.mark_text(fontSize=14, dy=-7).encode(text=alt.Text("rows:Q", format="d"))
    shares = base.mark_text(fontSize=10, dy=9).encode(text=alt.Text("share:Q", format=".0%"))
    return finish(cells + text + shares, title, height=rows(60 if len(labels) <= 2 else 44))


def residual_scatter(frame: pd.DataFrame, target: str, half_width: float | None) -> alt.Chart:
    """Residual (true - predicted) against the prediction, with the conformal band."""
    points = (
        alt.Chart(frame)
        .mark_circle(size=24, opacity=0.6, color=PRIMARY)
        .encode(
            x=alt.X("prediction:Q", title=f"Predicted {target}", scale=alt.Scale(zero=False)),
            y=alt.Y("residual:Q", title="Residual (true - predicted)"),
            tooltip=[
                tooltip("row_index", "Table row", kind="N"),
                tooltip("prediction", "Predicted", ".4g", "Q"),
                tooltip("true", "True", ".4g", "Q"),
                tooltip("residual", "Residual", "+.4g", "Q"),
            ],
        )
    )
    layers = [points]
    if half_width is not None and half_width == half_width and half_width != float("inf"):
        band = pd.DataFrame({"y": [-half_width, half_width], "edge": ["lower", "upper"]})
        layers.append(
            alt.Chart(band)
            .mark_rule(color=ALERT, strokeDash=[4, 3])
            .encode(y="y:Q", tooltip=[tooltip("y", "Interval edge (residual)", "+.4g", "Q")])
        )
    return finish(alt.layer(*layers), "Residuals of the test rows", height=320)
