"""The session's table and schema, prepared for a model (fitted preprocessing).

Architecture needs the prepared feature columns to fit presets and count parameters;
preparing is cheap but not free, so the result is kept until the table or schema change.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import streamlit as st

from sattn_dash.errors import UserError
from sattn_dash.tabular import prepare
from sattn_dash.ui.shared import pages, state
from sattn_dash.ui.shared.components import empty_state, user_error

if TYPE_CHECKING:
    from sattn_dash.tabular.prepared import PreparedData


def current_prepared() -> PreparedData | None:
    """PreparedData for the current table and schema, or None before a target is chosen.

    Raises ``DataError`` when the table cannot be prepared as the schema says.
    """
    df, schema = state.TABLE.get(), state.SCHEMA.get()
    if df is None or schema is None or not schema.targets:
        return None
    fingerprint = (
        state.TABLE_VERSION.get(),
        json.dumps(schema.to_dict(), sort_keys=True, default=str),
    )
    cached = state.PREPARED.get()
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    prepared = prepare(df, schema, seed=0)
    state.PREPARED.set((fingerprint, prepared))
    return prepared


def forget() -> None:
    """Drop the kept preparation (the table changed)."""
    state.PREPARED.clear()


def prepared_or_hint() -> PreparedData | None:
    """The prepared data, or None after showing what to do first (no table, no target,
    or a table that cannot be prepared as the schema says)."""
    if state.TABLE.get() is None:
        empty_state(
            "There is no table yet. Upload a CSV (or pick a sample) on the Data page.",
            pages.DATA,
            "Go to Data",
        )
        return None
    schema = state.SCHEMA.get()
    if schema is None or not schema.targets:
        empty_state(
            "Choose the column to predict (the target) on the Data page first.",
            pages.DATA,
            "Choose a target",
        )
        return None
    try:
        return current_prepared()
    except UserError as error:
        user_error(error)
        st.page_link(pages.DATA, label="Fix it on the Data page", icon=":material/arrow_forward:")
        return None


def require_prepared() -> PreparedData:
    """The prepared data; otherwise say what to do first and end the page there."""
    prepared = prepared_or_hint()
    if prepared is None:
        st.stop()
    return prepared
