"""Reading what an AppTest run drew: charts' data, messages, widgets found by label."""

from __future__ import annotations

import json

import pandas as pd
from streamlit import dataframe_util


def charts(at) -> list[dict]:
    """Every Altair chart of the page as ``{"spec": dict, "data": [DataFrame, ...]}``."""
    found = []
    for element in at.get("vega_lite_chart"):
        proto = element.proto
        frames = [
            dataframe_util.convert_arrow_bytes_to_pandas_df(ds.data.data) for ds in proto.datasets
        ]
        if proto.data.data:
            frames.append(dataframe_util.convert_arrow_bytes_to_pandas_df(proto.data.data))
        found.append({"spec": json.loads(proto.spec), "data": frames})
    return found


def chart_titled(at, title: str) -> dict:
    for chart in charts(at):
        spec_title = chart["spec"].get("title")
        text = spec_title.get("text") if isinstance(spec_title, dict) else spec_title
        if text == title:
            return chart
    titles = [c["spec"].get("title") for c in charts(at)]
    raise AssertionError(f"no chart titled {title!r}; charts: {titles}")


def chart_data(chart: dict) -> pd.DataFrame:
    """The largest table a chart carries (layered charts repeat or add small ones)."""
    return max(chart["data"], key=len)


def texts(elements) -> list[str]:
    return [str(e.value) for e in elements]


def no_exception(at) -> None:
    assert not at.exception, [(e.message, e.stack_trace) for e in at.exception]


def by_label(widgets, label: str):
    for widget in widgets:
        if widget.label == label:
            return widget
    raise AssertionError(f"no widget labelled {label!r}; labels: {[w.label for w in widgets]}")


def open_page(at, page: str, run_id: str | None = None):
    """Run the app, switch to ``page`` (following ``run_id`` when given) and run it."""
    at.run()
    at.switch_page(page)
    if run_id:
        at.query_params["run"] = run_id
    return at.run()
