"""Predictions: why the model said what it said for one row, how far to trust it, and
scores for a new file."""

import streamlit as st

from sattn_dash.ui.predictions import predictions_view, score_view
from sattn_dash.ui.shared.run_picker import pick_run

st.title("Predictions")
run = pick_run()
predictions_view.render(run)
score_view.render(run)
