"""Predictions: why the model said what it said for one row, and how far to trust it."""

import streamlit as st

from sattn_dash.ui.predictions import predictions_view
from sattn_dash.ui.shared.run_picker import pick_run

st.title("Predictions")
predictions_view.render(pick_run())
