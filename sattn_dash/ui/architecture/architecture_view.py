"""The read-only side of the Architecture page: diagram, parameter counts, downloads."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from sattn_dash.errors import UserError
from sattn_dash.modeling.diagram import spec_to_dot
from sattn_dash.modeling.spec import ModelSpec
from sattn_dash.tabular import SAMPLES
from sattn_dash.ui.shared import state
from sattn_dash.ui.shared.components import table, user_error

if TYPE_CHECKING:
    from sattn_dash.tabular.prepared import PreparedData


@st.cache_data(show_spinner="Counting parameters (builds the model once)…", max_entries=64)
def _parameter_counts(spec_json: str, fingerprint: str, _prepared) -> pd.DataFrame:
    # Building a Keras model needs TensorFlow: imported here, only when counts are shown.
    from sattn_dash.modeling.params import parameter_counts

    return parameter_counts(ModelSpec.from_json(spec_json), _prepared)


def render_diagram(spec: ModelSpec, prepared: PreparedData) -> None:
    dot = spec_to_dot(spec, prepared)
    st.graphviz_chart(dot, width="stretch")
    st.download_button(
        "Diagram (.dot)",
        dot,
        file_name="architecture.dot",
        mime="text/vnd.graphviz",
        icon=":material/download:",
        on_click="ignore",
        type="tertiary",
        key="arch.download_dot",
        help="The diagram as Graphviz source: `dot -Tsvg architecture.dot > model.svg`.",
    )


def render_parameters(spec: ModelSpec, prepared: PreparedData) -> None:
    fingerprint = str(state.PREPARED.get()[0]) if state.PREPARED.get() else ""
    try:
        counts = _parameter_counts(spec.to_json(), fingerprint, prepared)
    except UserError as error:
        user_error(error)
        return
    table(
        counts,
        "parameter_counts",
        caption="Weights per part of the model, counted on the built Keras model.",
        column_config={
            "parameters": st.column_config.NumberColumn("Parameters", format="%d"),
            "trainable": st.column_config.NumberColumn("Trainable", format="%d"),
        },
    )


def render_downloads(spec: ModelSpec, prepared: PreparedData) -> None:
    from sattn_dash.modeling.export import export_script
    from sattn_dash.training.config import TrainingConfig

    sample = state.SAMPLE_NAME.get()
    # The script reads the file by this path (its --data option overrides it).
    data_file = SAMPLES[sample].path if sample else state.TABLE_NAME.get() or "data.csv"
    left, right = st.columns(2)
    left.download_button(
        "Spec (JSON)",
        spec.to_json(),
        file_name=f"{spec.name.replace(' ', '_')}.json",
        mime="application/json",
        icon=":material/download:",
        on_click="ignore",
        key="arch.download_spec",
    )
    try:
        script = export_script(spec, prepared.schema, TrainingConfig(), data_file=data_file)
    except UserError as error:
        user_error(error)
        return
    right.download_button(
        "Training script (.py)",
        script,
        file_name="train_model.py",
        mime="text/x-python",
        icon=":material/code:",
        on_click="ignore",
        key="arch.download_script",
        help="A Python script that trains this architecture on your file with the "
        "sattn_dash package (pip install sattn-dash).",
    )
