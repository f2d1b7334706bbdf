"""Search: let Optuna find the ensemble; follow the study live (reattaches with ?study=)."""

import streamlit as st

from sattn_dash.ui.search import search_view
from sattn_dash.ui.shared.prepared import prepared_or_hint

st.title("Search")
st.caption(
    "Tries many architectures and training settings on the current table with Optuna "
    "(TPE sampling, median pruning). Every trial is a run you can open like any other."
)
with st.expander("Start or resume a study", expanded=search_view.followed_study() is None):
    prepared = prepared_or_hint()
    if prepared is not None:
        search_view.render_start(prepared)
st.divider()
study = search_view.render_picker()
if study:
    search_view.render_followed(study)
