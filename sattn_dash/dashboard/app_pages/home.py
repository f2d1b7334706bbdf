"""Home: what the tool does, a three-step start and the workspace at a glance."""

import streamlit as st

from sattn_dash.ui.home import home
from sattn_dash.ui.shared import pages

st.title("sattn-dash")
st.markdown(
    "Train an **ensemble of small neural networks** on your table and see **what it relies "
    "on**. The default model gives each **group of columns** (yours, or found from how "
    "columns go together) its own branch beside one over every column: its weights say "
    "which group it needs and how much it leans on columns of different groups together, "
    "and two independent measures say which **columns** matter. "
    "Build your own from "
    "*branches*, each looking at the data its own way or at its own group of columns: a "
    "learned attention layer weighs them, and the weights tell you which branch the model "
    "relies on, overall and for each row."
)

st.subheader("Start in three steps")
steps = st.columns(3)
with steps[0].container(border=True):
    st.markdown(
        "**1 · Data**  \nUpload a CSV (or Excel, Parquet, JSON) and pick the column to predict."
    )
    st.page_link(pages.DATA, label="Load data", icon=":material/table_chart:")
with steps[1].container(border=True):
    st.markdown(
        "**2 · Architecture**  \nPick a preset; change branches and the combiner if you like."
    )
    st.page_link(pages.ARCHITECTURE, label="Choose a model", icon=":material/account_tree:")
with steps[2].container(border=True):
    st.markdown(
        "**3 · Train and read**  \nTrain in the browser, then read which columns and branches "
        "matter."
    )
    st.page_link(pages.TRAIN, label="Train", icon=":material/model_training:")

if st.button(
    "Try it now: sample data + one branch per column group",
    type="primary",
    icon=":material/rocket_launch:",
    help="Loads a synthetic table where one group of columns carries the signal, and a "
    "preset with one branch per group. The trained weights should single that group out.",
):
    home.quick_start()
    st.switch_page(pages.TRAIN)

st.subheader("Your workspace")
home.render_workspace()
