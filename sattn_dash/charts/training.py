"""Charts of a training run as it goes: loss and metric curves, module probabilities."""

from __future__ import annotations

import altair as alt
import pandas as pd

from sattn_dash.charts.style import finish, split_dash, tooltip

PANEL_WIDTH, PANEL_HEIGHT = 220, 160  # one loss per panel
PANELS_PER_ROW = 3  # three panels fit the page's full width (not half of it)


def loss_panels(history: pd.DataFrame) -> int:
    """How many panels ``curves(history, "loss")`` draws: one per loss when there are
    several, else one chart (a page gives several panels the full width)."""
    data, name = _lines(history, "loss")
    return max(1, int(data[name].nunique()))


def _lines(history: pd.DataFrame, kind: str) -> tuple[pd.DataFrame, str]:
    """The rows of ``kind`` and the column that names each line (``label``, else ``metric``)."""
    data = history[history["kind"] == kind] if "kind" in history else history
    return data, "label" if "label" in data else "metric"


def curves(history: pd.DataFrame, kind: str = "loss", title: str | None = None) -> alt.Chart:
    """Loss (or score) per epoch, dashed for validation, named in the user's words
    (``label``, else the Keras ``metric``). Losses get one panel each, on its own scale:
    a head's loss in the target's units (say 8e6) beside an ensemble's members' loss
    (about 1) on one axis would draw the small one flat.

    Takes ``epoch, metric, split, value, kind[, label]`` (see
    ``analysis.reports.tidy.history_long``).
    """
    data, name = _lines(history, kind)
    heading = title or ("Loss per epoch" if kind == "loss" else "Metrics per epoch")
    lines = (
        alt.Chart(data)
        .mark_line(point=alt.OverlayMarkDef(size=30))
        .encode(
            x=alt.X("epoch:Q", title="Epoch", axis=alt.Axis(tickMinStep=1, format="d")),
            y=alt.Y(
                "value:Q", title="Loss" if kind == "loss" else "Score", scale=alt.Scale(zero=False)
            ),
            color=alt.Color(f"{name}:N", title="Loss" if kind == "loss" else "Metric"),
            strokeDash=split_dash(),
            tooltip=[
                tooltip("epoch", "Epoch", "d", "Q"),
                tooltip(name, "Metric", kind="N"),
                tooltip("split", "Split", kind="N"),
                tooltip(
                    "value",
                    "Value (loss, lower is better)" if kind == "loss" else "Value (score)",
                    ".5f",
                    "Q",
                ),
            ],
        )
    )
    panels_count = loss_panels(history) if kind == "loss" else 1
    if panels_count < 2:
        return finish(lines, heading)
    panels = (
        lines.encode(  # each panel is titled with its loss: a legend only took the width
            color=alt.Color(f"{name}:N", title="Loss", legend=None)
        )
        .properties(width=PANEL_WIDTH, height=PANEL_HEIGHT)
        .facet(facet=alt.Facet(f"{name}:N", title=None), columns=min(panels_count, PANELS_PER_ROW))
        .resolve_scale(y="independent")
    )
    return finish(panels, heading, height=None)


def module_probabilities(snapshots: pd.DataFrame, value: str = "probability") -> alt.Chart:
    """Each branch's weight in the combiner after every epoch (``epoch, branch, <value>``)."""
    label = {
        "probability": "Module probability (share of 1)",
        "routing_weight": "Mean routing weight (share of 1)",
    }.get(value, value)
    lines = (
        alt.Chart(snapshots.dropna(subset=[value]))
        .mark_line(point=alt.OverlayMarkDef(size=30))
        .encode(
            x=alt.X("epoch:Q", title="Epoch", axis=alt.Axis(tickMinStep=1, format="d")),
            y=alt.Y(f"{value}:Q", title=label, scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("branch:N", title="Branch"),
            tooltip=[
                tooltip("epoch", "Epoch", "d", "Q"),
                tooltip("branch", "Branch", kind="N"),
                tooltip(value, label, ".4f", "Q"),
            ],
        )
    )
    return finish(lines, "Branch weights per epoch")
