"""sattn-dash entry point."""

import streamlit as st

st.set_page_config(page_title="sattn-dash", layout="wide")
st.title("sattn-dash")
st.write(
    "Build, train and understand attention-combined ensembles on tabular data: "
    "upload a table, assemble branches, train, and read what the model learned."
)
