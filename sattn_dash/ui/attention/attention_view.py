"""The Token attention page: pick rows, read each head's attention, see attention over
the whole test split, explore the router's choices, and edit a row to see what moves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from sattn_dash.analysis.attributions import what_if
from sattn_dash.analysis.reports.runs import (
    dataset_attention_for_run,
    module_importance_for_run,
    routing_by_class_for_run,
    routing_co_selection_for_run,
    token_attention_for_run,
)
from sattn_dash.analysis.tokens.token_columns import CLS, TOP_COLUMNS, attention_by_column
from sattn_dash.charts import attention as charts
from sattn_dash.errors import UserError
from sattn_dash.modeling.combiners import kinds_with
from sattn_dash.training.run import Run
from sattn_dash.ui.shared import data_source, pages, state
from sattn_dash.ui.shared.analysis_cache import compute, compute_or_explain, model
from sattn_dash.ui.shared.components import chart, empty_state, table, user_error

MAX_ROWS = 4
MODES = ("By index", "By class", "Misclassified")


def _key(name: str) -> str:
    return f"{state.ROW_WIDGET.name}.{name}"


def test_rows(run: Run) -> pd.DataFrame:
    """The test rows with their table index, truth and prediction (position = order)."""
    frame = run.predictions.copy()
    frame.insert(0, "position", np.arange(len(frame)))
    return frame


def _describe(rows: pd.DataFrame, targets: list[str]):
    def label(position: int) -> str:
        row = rows.iloc[position]
        parts = [f"test row {position}", f"table row {row['row']}"]
        for t in targets:
            if f"{t}_true" in row and f"{t}_pred" in row:
                pred = row[f"{t}_pred"]
                pred = f"{pred:.3g}" if isinstance(pred, float) else pred
                parts.append(f"{t}: {row[f'{t}_true']} → {pred}")
        return " · ".join(parts)

    return label


def pick_rows(run: Run) -> list[int]:
    rows = test_rows(run)
    if rows.empty:
        st.warning("This run has no stored test predictions to pick rows from.")
        return []
    targets = list(run.targets)
    label = _describe(rows, targets)
    classified = [t for t in targets if run.tasks.get(t) in ("binary", "multiclass")]
    mode = (
        st.segmented_control(
            "Pick rows",
            MODES,
            default=MODES[0],
            key=state.ROW_MODE.name,
            help="Rows of the held-out test split.",
        )
        or MODES[0]
    )
    candidates = list(rows["position"])
    default = candidates[:1]
    if mode == "By class":
        if not classified:
            st.caption("No classification target: pick rows by index.")
        else:
            target = st.selectbox("Target", classified, key=_key("class_target"))
            classes = list(dict.fromkeys(rows[f"{target}_true"]))
            chosen = st.selectbox("True class", classes, key=_key(f"class.{target}"))
            candidates = list(rows.loc[rows[f"{target}_true"] == chosen, "position"])
            default = candidates[:2]
    elif mode == "Misclassified":
        wrong = pd.Series(False, index=rows.index)
        for t in targets:
            if run.tasks.get(t) == "regression":
                error = (rows[f"{t}_true"] - rows[f"{t}_pred"]).abs()
                wrong |= error >= error.quantile(0.9)
            else:
                wrong |= rows[f"{t}_true"].astype(str) != rows[f"{t}_pred"].astype(str)
        candidates = list(rows.loc[wrong, "position"])
        st.caption(
            f"{len(candidates):,} of {len(rows):,} test rows are misclassified "
            "(for numbers: the 10% largest errors)."
        )
        default = candidates[:2]
    if not candidates:
        st.info("No test row matches; try another way of picking.")
        return []
    return st.multiselect(
        f"Rows (up to {MAX_ROWS})",
        candidates,
        default=default,
        format_func=label,
        max_selections=MAX_ROWS,
        key=_key(f"rows.{mode}"),
    )


def _pick_layer(owners: dict[str, str], label: str, key: str, combiner: str) -> str:
    """A selectbox of attention layers (``owners``: layer -> its branch, or itself for
    the combiner's)."""
    return st.selectbox(
        label,
        list(owners),
        key=_key(key),
        format_func=lambda name: (
            combiner if owners[name] == name else f"branch {owners[name]} · {name}"
        ),
    )


def render_heads(run: Run, positions: list[int]) -> None:
    st.subheader("Each head's attention, row by row")
    if not positions:
        st.caption("Pick at least one row above.")
        return
    frame = compute_or_explain(
        token_attention_for_run, run, rows=[int(p) for p in positions], split="test"
    )
    if frame is None:
        return
    owners = dict(zip(frame["layer"], frame["branch"], strict=False))
    layer = _pick_layer(owners, "Attention layer", "layer", "combiner (routing over branches)")
    in_layer = frame[frame["layer"] == layer]
    sources = run.prepared.feature_sources
    named = set(in_layer["key_token"].map(lambda t: sources.get(t, t))) - {CLS}
    top = st.number_input(
        "Branches shown" if owners[layer] == layer else "Columns shown",
        min_value=1,
        max_value=max(len(named), 1),
        value=min(TOP_COLUMNS, max(len(named), 1)),
        key=_key(f"top_columns.{layer}"),
        help="The ones that get the most attention in the row; the rest are folded into "
        "one 'other' entry.",
    )
    tabs = st.tabs([f"test row {p}" for p in positions])
    for tab, position in zip(tabs, positions, strict=True):
        with tab:
            part = attention_by_column(in_layer[in_layer["row"] == position], sources, int(top))
            chart(
                charts.head_heatmaps(part),
                part,
                f"attention_heads_{run.run_id}_{layer}_{position}",
                caption="One-hot codes are summed into their source column, so each query "
                "still sums to 1 over its selected keys (numbers); every other key gets "
                "exactly 0. [CLS] summarises the row for the prediction.",
            )


def render_dataset(run: Run) -> None:
    st.subheader("Attention over all test rows")
    frame = compute_or_explain(dataset_attention_for_run, run, split="test")
    if frame is None:
        return
    owners = dict(zip(frame["layer"], frame["branch"], strict=False))
    layer = _pick_layer(owners, "Layer", "dataset_layer", "combiner")
    part = frame[frame["layer"] == layer]
    overall = part[part["grouping"] == "overall"]
    chart(charts.key_attention(overall), overall, f"dataset_attention_{run.run_id}_{layer}")
    per_class = part[part["grouping"] != "overall"]
    if per_class.empty:
        return
    grouping = (
        st.segmented_control(
            "Per class by",
            ["true class", "predicted class"],
            default="true class",
            key=_key("grouping"),
        )
        or "true class"
    )
    for target, block in per_class[per_class["grouping"] == grouping].groupby("target", sort=False):
        chart(
            charts.class_heatmap(
                block,
                "key_token",
                "mean_attention",
                f"{target}: attention per {grouping}",
                "Mean attention weight",
            ),
            block,
            f"class_attention_{run.run_id}_{layer}_{target}_{grouping}",
        )


def render_routing(run: Run) -> None:
    if run.combiner not in kinds_with("has_routing"):
        return
    st.subheader("Routing explorer")
    st.caption(
        "The sparse-dense combiner sends each row to its top-k branches. How often is "
        "each branch picked, which branches go together, and does it depend on the class?"
    )
    importance = compute_or_explain(module_importance_for_run, run, split="test")
    if importance is not None:
        table(
            importance,
            f"routing_summary_{run.run_id}",
            column_config={
                "selection_frequency": st.column_config.ProgressColumn(
                    "Selection frequency", format="percent", min_value=0.0, max_value=1.0
                )
            },
        )
    co = compute_or_explain(routing_co_selection_for_run, run, split="test")
    if co is not None:
        chart(charts.co_selection(co), co, f"co_selection_{run.run_id}")
    by_class = compute_or_explain(routing_by_class_for_run, run, split="test")
    if by_class is not None:
        for (grouping, target), block in by_class[by_class["grouping"] != "overall"].groupby(
            ["grouping", "target"], sort=False
        ):
            chart(
                charts.class_heatmap(
                    block,
                    "branch",
                    "mean_routing_weight",
                    f"{target}: routing per {grouping}",
                    "Mean routing weight",
                ),
                block,
                f"routing_by_class_{run.run_id}_{target}_{grouping}",
            )


def render_what_if(run: Run, positions: list[int]) -> None:
    st.subheader("What if this row were different?")
    df = data_source.run_table(run)
    if df is None:
        empty_state(
            "Load the table this run was trained on (Data page) to edit one of its rows and "
            "watch the prediction, routing and attention change.",
            pages.DATA,
            "Load the table",
        )
        return
    if not positions:
        st.caption("Pick a row above first.")
        return
    position = positions[0]
    index = test_rows(run).iloc[position]["row"]
    features = run.prepared.schema.feature_columns
    original = df.loc[[index], features].copy()
    original.attrs = {}  # read_table's notes: not for the editor
    st.caption(f"Editing test row {position} (table row {index}). Change any cell.")
    edited = st.data_editor(
        original, key=f"{state.WHAT_IF_EDITOR.name}.{run.run_id}.{position}", hide_index=True
    )
    keras_model, lock = model(run)
    try:
        with lock:
            result = what_if.explain_rows(keras_model, run.prepared, pd.concat([original, edited]))
    except UserError as error:
        user_error(error)
        return
    version = {0: "original", 1: "edited"}
    predictions = what_if.compare_predictions(result["predictions"])
    table(predictions, f"what_if_predictions_{run.run_id}_{position}")
    routing = result["routing"]
    if not routing.empty:
        routing = routing.assign(version=routing["row"].map(version))
        chart(
            charts.before_after(
                routing,
                "branch",
                "weight",
                "Routing weight (share of 1)",
                "Routing before and after the edit",
            ),
            routing,
            f"what_if_routing_{run.run_id}_{position}",
        )
    attention = result["attention"]
    if attention.empty:
        return
    first_query = attention.groupby(["row", "layer"])["query_token"].transform("first")
    summary = (
        attention[attention["query_token"] == first_query]
        .groupby(["row", "layer", "key_token"], sort=False)["weight"]
        .mean()
        .reset_index()
    )
    summary["version"] = summary["row"].map(version)
    for layer, block in summary.groupby("layer", sort=False):
        query = attention.loc[attention["layer"] == layer, "query_token"].iloc[0]
        chart(
            charts.before_after(
                block,
                "key_token",
                "weight",
                f"Weight of {query} (mean over heads)",
                f"{layer}: attention before and after the edit",
            ),
            block,
            f"what_if_attention_{run.run_id}_{position}_{layer}",
        )


def render(run: Run) -> None:
    st.caption(
        "Tokens are the things a query attends to: one per feature (plus [CLS]) inside a "
        "feature-attention branch, or one per branch in a sparse-dense combiner. Only the "
        "top-k keys of each query get weight."
    )
    try:
        compute(dataset_attention_for_run, run, split="test")
    except UserError as error:
        empty_state(
            f"{error} The *Feature attention (FT-Transformer)* and *Routed experts* presets "
            "have it.",
            pages.ARCHITECTURE,
            "Choose an architecture",
        )
        return
    positions = pick_rows(run)
    render_heads(run, positions)
    render_dataset(run)
    render_routing(run)
    render_what_if(run, positions)
