"""The one look shared by every chart: palette, fonts, tooltips and sizes.

Chart functions build their marks with ``tooltip`` and finish with ``finish``, so every
chart has the same fonts, grid and colours and shows exact numbers with units on hover.
"""

from __future__ import annotations

import altair as alt

PRIMARY = "#3b5bdb"
MUTED = "#adb5bd"
ALERT = "#e8590c"
# Categorical palette: the theme's primary first, then colour-blind friendly companions.
PALETTE = [
    PRIMARY,
    "#f08c00",
    "#2b8a3e",
    "#c2255c",
    "#1098ad",
    "#7048e8",
    "#5c940d",
    "#862e9c",
    "#495057",
    "#d9480f",
]
SEQUENTIAL = "blues"
FONT = "Source Sans Pro, Helvetica, Arial, sans-serif"
WIDTH = "container"
HEIGHT = 260


def tooltip(field: str, title: str, fmt: str | None = None, kind: str | None = None) -> alt.Tooltip:
    """A tooltip entry with a readable title (units in the title) and an exact format."""
    kw = {"title": title}
    if fmt:
        kw["format"] = fmt
    shorthand = f"{field}:{kind}" if kind else field
    return alt.Tooltip(shorthand, **kw)


def split_dash() -> alt.StrokeDash:
    """Solid lines for training rows, dashed for validation (captions say so: no legend)."""
    return alt.StrokeDash(
        "split:N",
        title="Split",
        scale=alt.Scale(domain=["training", "validation"], range=[[1, 0], [5, 3]]),
        legend=None,
    )


def rows(px: int = 22) -> alt.Step:
    """Height per category for a chart with a discrete y axis. A fixed pixel height would
    include the x-axis labels when Streamlit fits the chart to its container, and long
    rotated labels can leave no room at all for the marks."""
    return alt.Step(px)


def finish(
    chart: alt.TopLevelMixin, title: str | None = None, height: int | alt.Step | None = HEIGHT
):
    """Apply the shared size and configuration; call once, on the outermost chart.

    ``height``: pixels for a continuous y axis, ``rows(px)`` for a discrete one, None to
    keep the sizes a faceted chart set on its panels."""
    props = {}
    if title:
        props["title"] = alt.Title(title, anchor="start")
    if height is not None and not isinstance(
        chart, alt.FacetChart | alt.ConcatChart | alt.HConcatChart | alt.VConcatChart
    ):
        props["height"] = height
        props["width"] = WIDTH
    if props:
        chart = chart.properties(**props)
    return (
        chart.configure(font=FONT)
        .configure_axis(
            labelFontSize=12,
            titleFontSize=12,
            titleFontWeight="normal",
            gridColor="#e9ecef",
            domainColor="#ced4da",
            tickColor="#ced4da",
        )
        .configure_legend(labelFontSize=12, titleFontSize=12, titleFontWeight="normal")
        .configure_title(fontSize=14, fontWeight="bold", color="#1f2430")
        .configure_view(stroke=None)
        .configure_range(category=PALETTE)
    )
