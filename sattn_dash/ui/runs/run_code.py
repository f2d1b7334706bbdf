"""A run in code, on the Runs page: the two lines that load its model and predict with its
preprocessing, and a runnable training script for it (``modeling.export``)."""

from __future__ import annotations

import streamlit as st

from sattn_dash._keras_registration import load_model_code
from sattn_dash.errors import UserError
from sattn_dash.modeling.export import export_script
from sattn_dash.modeling.spec import head_name, output_targets
from sattn_dash.training.run import Run
from sattn_dash.ui.shared.components import user_error


def load_lines(run: Run) -> str:
    folder = run.path.resolve()
    return (
        load_model_code(folder / "model.keras")
        + (
            "from sattn_dash.tabular import PreparedData\n"
            "predictions = model.predict(PreparedData.load(\n"
            f'    "{folder / "prepared"}").transform(new_rows))  # new_rows: a DataFrame'
        )
        + _outputs_comment(run)
    )


def _outputs_comment(run: Run) -> str:
    """Which key of the dict ``predict`` returns holds what, when there are several (the
    default model adds its members' own): the dict alone did not say."""
    spec = run.spec
    if spec is None:
        return ""
    what = {
        "binary": "the second class's probability",
        "multiclass": "each class's probability",
        "regression": "the number",
    }
    outputs = output_targets(spec)
    if len(outputs) < 2:
        return ""
    heads = [
        f"{head_name(t)!r}: {what.get(run.tasks.get(t), 'the prediction')}" for t in run.targets
    ]
    own = [name for name in outputs if name not in {head_name(t) for t in run.targets}]
    lines = "\n# predictions is a dict by output, per row: " + "; ".join(heads)
    if own:
        lines += "\n# and " + ", ".join(f"{o!r}" for o in own) + " (each member's own; not needed)"
    return lines


def render(run: Run, key: str) -> None:
    """The load-and-predict lines and the training-script download of a trained run."""
    if not (run.path / "model.keras").is_file():
        return
    st.markdown("**Use this model in Python**")
    st.code(load_lines(run), language="python")
    try:
        script = export_script(
            run.spec,
            run.schema,
            run.config,
            title=run.title,
            script_name=f"train_{run.run_id}.py",
        )
    except UserError as error:
        user_error(f"No training script for this run: {error}")
        return
    st.download_button(
        "Training script (.py)",
        script,
        file_name=f"train_{run.run_id}.py",
        mime="text/x-python",
        icon=":material/code:",
        on_click="ignore",
        key=key,
        help="Trains this run's architecture, column roles and settings again with the "
        "sattn_dash package (pip install sattn-dash): python train_….py YOUR_TABLE.csv",
    )
