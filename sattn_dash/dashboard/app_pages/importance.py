"""Module importance: which branch the trained model relies on, and can we trust that."""

import streamlit as st

from sattn_dash.ui.importance import importance_view
from sattn_dash.ui.shared.run_picker import pick_run

st.title("Module importance")
importance_view.render(pick_run())
