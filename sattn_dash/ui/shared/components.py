"""Small Streamlit building blocks every page uses: charts and tables with a download,
empty states that say what to do next, and user errors shown in the page."""

from __future__ import annotations

import re

import altair as alt
import pandas as pd
import streamlit as st

from sattn_dash.errors import UserError
from sattn_dash.ui.shared import pages


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "data"


def download_csv(
    data: pd.DataFrame, name: str, label: str = "CSV", what: str = "this table"
) -> None:
    """A download button for a table, named after what it holds."""
    slug = _slug(name)
    st.download_button(
        label,
        data=data.to_csv(index=False).encode("utf-8"),
        file_name=f"{slug}.csv",
        mime="text/csv",
        key=f"download.{slug}",
        on_click="ignore",
        icon=":material/download:",
        type="tertiary",
        help=f"Download {what} as CSV ({len(data):,} rows)",
    )


def chart(figure: alt.TopLevelMixin, data: pd.DataFrame, name: str, caption: str = "") -> None:
    """An Altair chart (in its own theme) with its data one click away as CSV."""
    st.altair_chart(figure, theme=None, width="stretch")
    _caption_and_download(data, name, caption, "the data behind this chart")


def table(data: pd.DataFrame, name: str, caption: str = "", **dataframe_kw) -> None:
    """A read-only table with its download."""
    st.dataframe(data, hide_index=True, **dataframe_kw)
    _caption_and_download(data, name, caption, "this table")


def _caption_and_download(data: pd.DataFrame, name: str, caption: str, what: str) -> None:
    left, right = st.columns([5, 1], vertical_alignment="center")
    if caption:
        left.caption(caption)
    with right:
        download_csv(data, name, what=what)


def run_links(columns, run_id: str) -> None:
    """Links to the pages that analyse run ``run_id`` (titled and marked as in the
    sidebar), one in each of ``columns``."""
    analysis = (p for p in pages.ALL if p[0] in (pages.IMPORTANCE, pages.ATTENTION))
    for column, (page, title, icon, _) in zip(columns, analysis, strict=False):
        column.page_link(page, label=title, icon=icon, query_params={"run": run_id})


def empty_state(message: str, page: str | None = None, label: str | None = None) -> None:
    """Say why there is nothing to show and link to the page that fixes it."""
    st.info(message, icon=":material/lightbulb:")
    if page:
        st.page_link(page, label=label or "Go there", icon=":material/arrow_forward:")


def about_file(name: str, error: UserError | str) -> str:
    """``error`` as a message about the file ``name``: led by the name, unless the message
    already names it ("ragged.csv: Line 4 of 'ragged.csv'..." read twice)."""
    text = str(error)
    return text if name in text else f"{name}: {text}"


def user_error(error: UserError | str) -> None:
    """Show a user's mistake as a message in the page (never a traceback)."""
    st.error(str(error), icon=":material/error:")
