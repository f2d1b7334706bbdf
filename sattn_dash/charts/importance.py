"""Charts of module (branch) importance: the combiner's weights, their path over training,
temperature what-ifs, attention vs ablation vs permutation, and the baselines."""

from __future__ import annotations

import altair as alt
import pandas as pd

from sattn_dash.charts.style import MUTED, PRIMARY, finish, rows, tooltip

METHOD_ORDER = ["attention", "ablation", "permutation"]


def probability_bars(
    frame: pd.DataFrame, value: str = "importance", label: str | None = None
) -> alt.Chart:
    """One bar per branch with its exact value printed (``branch, <value>``)."""
    label = label or "Module probability (share of 1)"
    extra = [
        tooltip(c, t, f, k)
        for c, t, f, k in (
            ("raw_weight", "Raw weight (before normalising)", ".4f", "Q"),
            ("temperature", "Temperature", ".3g", "Q"),
            ("selection_frequency", "Share of rows routed here", ".2%", "Q"),
            ("rank", "Rank (1 = highest)", "d", "Q"),
        )
        if c in frame
    ]
    base = alt.Chart(frame).encode(
        y=alt.Y("branch:N", sort="-x", title="Branch"),
        x=alt.X(f"{value}:Q", title=label),
        tooltip=[tooltip("branch", "Branch", kind="N"), tooltip(value, label, ".4f", "Q"), *extra],
    )
    bars = base.mark_bar(color=PRIMARY)
    text = base.mark_text(align="left", dx=4, fontSize=12).encode(
        text=alt.Text(f"{value}:Q", format=".3f")
    )
    return finish(
        bars + text,
        "Module probabilities" if value in ("importance", "probability") else label,
        height=rows(34),
    )


def importance_path(frame: pd.DataFrame) -> alt.Chart:
    """Each branch's weight after every epoch (``epoch, branch, importance``, + entropy)."""
    tips = [
        tooltip("epoch", "Epoch", "d", "Q"),
        tooltip("branch", "Branch", kind="N"),
        tooltip("importance", "Weight (share of 1)", ".4f", "Q"),
    ]
    if "effective_branches" in frame:
        tips.append(tooltip("effective_branches", "Effective branches (exp entropy)", ".2f", "Q"))
    lines = (
        alt.Chart(frame)
        .mark_line(point=alt.OverlayMarkDef(size=30))
        .encode(
            x=alt.X("epoch:Q", title="Epoch", axis=alt.Axis(tickMinStep=1, format="d")),
            y=alt.Y("importance:Q", title="Weight (share of 1)", scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("branch:N", title="Branch"),
            tooltip=tips,
        )
    )
    return finish(lines, "How the weights moved during training")


def temperature_curve(frame: pd.DataFrame, chosen: float, trained: float) -> alt.Chart:
    """Module probabilities against temperature (``temperature, branch, probability``),
    with the trained temperature (grey) and the chosen one (blue) marked."""
    lines = (
        alt.Chart(frame)
        .mark_line()
        .encode(
            x=alt.X("temperature:Q", title="Temperature (log scale)", scale=alt.Scale(type="log")),
            y=alt.Y(
                "probability:Q",
                title="Module probability (share of 1)",
                scale=alt.Scale(domain=[0, 1]),
            ),
            color=alt.Color("branch:N", title="Branch"),
            tooltip=[
                tooltip("temperature", "Temperature", ".3g", "Q"),
                tooltip("branch", "Branch", kind="N"),
                tooltip("probability", "Module probability", ".4f", "Q"),
            ],
        )
    )
    marks = pd.DataFrame({"temperature": [trained, chosen], "which": ["trained", "what-if"]})
    rules = (
        alt.Chart(marks)
        .mark_rule(strokeDash=[4, 3])
        .encode(
            x="temperature:Q",
            color=alt.Color(
                "which:N",
                scale=alt.Scale(domain=["trained", "what-if"], range=[MUTED, PRIMARY]),
                legend=None,
            ),
            tooltip=[
                tooltip("which", "Marker", kind="N"),
                tooltip("temperature", "Temperature", ".3g", "Q"),
            ],
        )
    )
    return finish(
        alt.layer(lines, rules).resolve_scale(color="independent"),
        "Module probabilities at other temperatures",
    )


def methods_side_by_side(frame: pd.DataFrame) -> alt.Chart:
    """Importance per branch by each method, side by side (``branch, method, importance,
    rank``): each method has its own units, so each panel has its own scale."""
    bars = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y("branch:N", title=None),
            x=alt.X("importance:Q", title=None, axis=alt.Axis(tickCount=4, format="~g")),
            color=alt.Color("method:N", title="Method", legend=None),
            column=alt.Column(
                "method:N", title=None, sort=METHOD_ORDER, header=alt.Header(labelFontWeight="bold")
            ),
            tooltip=[
                tooltip("method", "Method", kind="N"),
                tooltip("branch", "Branch", kind="N"),
                tooltip("importance", "Importance (method's units)", ".4f", "Q"),
                tooltip("rank", "Rank (1 = most important)", "d", "Q"),
                *([tooltip("units", "Units", kind="N")] if "units" in frame else []),
            ],
        )
        .resolve_scale(x="independent")
        .properties(width=220, height=rows(28))
    )
    return finish(bars, "Attention vs ablation vs permutation", height=None)


def baselines_leaderboard(frame: pd.DataFrame) -> alt.Chart:
    """Headline test metric per model, this run highlighted (``model, value, metric, who``
    with ``who`` "this run" or "baseline"), in the frame's order (``leaderboard``'s, best
    first). The order is listed: a sort by value is dropped where the bars and their
    labels share the axis, and the bars came out alphabetical."""
    metric = str(frame["metric"].iloc[0]) if len(frame) else "metric"
    base = alt.Chart(frame).encode(
        y=alt.Y("model:N", sort=list(dict.fromkeys(frame["model"])), title=None),
        x=alt.X("value:Q", title=f"{metric} on the test rows"),
        tooltip=[
            tooltip("model", "Model", kind="N"),
            tooltip("metric", "Metric", kind="N"),
            tooltip("value", "Value", ".4f", "Q"),
            *(
                [tooltip("gain_over_dummy", "Gain over the dummy", "+.4f", "Q")]
                if "gain_over_dummy" in frame
                else []
            ),
            *(
                [tooltip("fit_seconds", "Fit time (s)", ".2f", "Q")]
                if "fit_seconds" in frame
                else []
            ),
        ],
    )
    bars = base.mark_bar().encode(
        color=alt.Color(
            "who:N",
            scale=alt.Scale(domain=["this run", "baseline"], range=[PRIMARY, MUTED]),
            title=None,
            legend=alt.Legend(orient="bottom"),  # at the side it covered the top bar's label
        )
    )
    text = base.mark_text(align="left", dx=4, fontSize=12).encode(
        text=alt.Text("value:Q", format=".3f")
    )
    return finish(bars + text, "Leaderboard", height=rows(30))


def column_bars(frame: pd.DataFrame, title: str) -> alt.Chart:
    """Permutation importance per source column, largest first, with one standard
    deviation as a whisker (``column, importance, importance_std, metric``)."""
    data = frame.assign(
        low=frame["importance"] - frame["importance_std"],
        high=frame["importance"] + frame["importance_std"],
    )
    base = alt.Chart(data).encode(
        y=alt.Y("column:N", sort="-x", title=None),
        tooltip=[
            tooltip("column", "Column", kind="N"),
            tooltip("importance", "Importance (loss of skill)", ".4f", "Q"),
            tooltip("importance_std", "Standard deviation", ".4f", "Q"),
            tooltip("metric", "Metric", kind="N"),
        ],
    )
    bars = base.mark_bar(color=PRIMARY).encode(x=alt.X("importance:Q", title="Loss of skill"))
    whiskers = base.mark_rule(color=MUTED).encode(x="low:Q", x2="high:Q")
    return finish(bars + whiskers, title, height=rows())
