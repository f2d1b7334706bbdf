"""Data: load a table, check the schema the app inferred, pick targets, see a profile."""

import streamlit as st

from sattn_dash.ui.data import data_profile
from sattn_dash.ui.shared import data_source, pages, schema_editor, state
from sattn_dash.ui.shared.components import empty_state

st.title("Data")
data_source.render()

df, schema = state.TABLE.get(), state.SCHEMA.get()
if df is None:
    empty_state(
        "Upload a table above, or load a sample to look around. Each row is one example; "
        "one column holds what you want to predict."
    )
    st.stop()

st.divider()
data_profile.render_summary(df, state.TABLE_NAME.get(), state.STREAM.get())
schema_editor.render_errors()

st.subheader("1 · What to predict")
schema_editor.render_targets(schema)
if schema.targets:
    st.page_link(
        pages.ARCHITECTURE, label="Next: choose an architecture", icon=":material/arrow_forward:"
    )

st.subheader("2 · Columns and their roles")
schema_editor.render_hints(schema)
schema_editor.render_roles(schema)

st.subheader("3 · Column groups (optional)")
schema_editor.render_groups(schema)

st.subheader("Profile")
preview, missing, distribution, balance = st.tabs(
    ["Preview", "Missing values", "Distributions", "Target balance"]
)
with preview:
    data_profile.render_preview(df)
with missing:
    data_profile.render_missing(df)
with distribution:
    data_profile.render_distribution(df, schema)
with balance:
    data_profile.render_balance(df, schema)
