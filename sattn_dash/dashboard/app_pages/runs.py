"""Runs: every run in the workspace; details, downloads, rename, delete, compare."""

import streamlit as st

from sattn_dash.ui.runs import runs_view

st.title("Runs")
runs_view.render()
