"""Token attention: which features (or branches) each row attends to, and why."""

import streamlit as st

from sattn_dash.ui.attention import attention_view
from sattn_dash.ui.shared.run_picker import pick_run

st.title("Token attention")
attention_view.render(pick_run())
