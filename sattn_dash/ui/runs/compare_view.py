"""Compare runs (on the Runs page): pick 2 to 5, then their curves overlaid per metric,
what differs in how they were set up, their metrics at the best and the final epoch, and
their module importances where the branches match; all of it as one CSV.

Reads only the run folders (no TensorFlow). Owns the ``runs.compare*`` keys.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from sattn_dash.analysis.reports import comparison
from sattn_dash.charts import runs as runs_charts
from sattn_dash.errors import RunError
from sattn_dash.ui.shared import sessions, state
from sattn_dash.ui.shared.components import chart, table, user_error


def pick(frame: pd.DataFrame) -> list[str]:
    """The runs to compare (the two newest finished ones to begin with)."""
    ids = list(frame["run_id"])
    titles = dict(zip(frame["run_id"], frame["title"], strict=True))
    finished = [i for i, s in zip(frame["run_id"], frame["status"], strict=True) if s == "finished"]
    return st.multiselect(
        "Runs to compare",
        ids,
        default=finished[: comparison.MIN_RUNS],
        format_func=lambda i: f"{titles[i]} · {i}",
        max_selections=comparison.MAX_RUNS,
        key=state.COMPARE.name,
        placeholder=f"Pick {comparison.MIN_RUNS} to {comparison.MAX_RUNS} runs",
    )


def render_curves(runs) -> None:
    curves = comparison.curves(runs)
    if curves.empty:
        st.caption("None of these runs has finished an epoch yet.")
        return
    columns = st.columns(2)
    for i, metric in enumerate(comparison.curve_metrics(curves)):
        with columns[i % 2]:
            chart(
                runs_charts.overlaid_curves(curves, metric),
                curves[curves["metric"] == metric].drop(columns=["metric"]),
                f"compare_{metric}_curves",
                caption="Solid: training rows; dashed: validation rows.",
            )


def render_settings(runs) -> None:
    every = st.toggle(
        "Show every setting, not only the differences", key=state.COMPARE_EVERY_FIELD.name
    )
    diff = comparison.differences(runs, every_field=every)
    if diff.empty:
        st.info("These runs were set up the same way: same spec, training settings and data.")
        return
    table(
        diff,
        "compare_settings",
        caption="Model spec (spec.*), training settings (config.*) and data (data.*); "
        f"{comparison.MISSING} where a run has no such setting.",
    )


def render_metrics(runs) -> None:
    table(comparison.facts(runs), "compare_runs")
    results = comparison.best_and_final(runs)
    if not results.empty:
        side = results.pivot_table(
            index=["metric", "split", "at"], columns="run", values="value", sort=False
        )
        side = side.reindex(columns=[comparison.label(r) for r in runs]).reset_index()
        table(
            side.rename_axis(columns=None),
            "compare_best_and_final",
            caption="Each curve at the run's best epoch (lowest validation loss, the epoch "
            "whose weights early stopping keeps) and at its final epoch.",
        )
    tests = comparison.test_metrics(runs)
    if not tests.empty:
        chart(
            runs_charts.metrics_side_by_side(tests),
            tests,
            "compare_metrics",
            caption="The saved model of each run on its held-out test rows.",
        )


def render_importances(runs) -> None:
    frame = comparison.importances(runs)
    for run, why in comparison.without_importance(runs).items():
        st.caption(f"{run}: no module importance ({why}).")
    if frame.empty:
        st.info("None of these runs has a module importance to compare.")
        return
    shared = comparison.shared_branches(frame)
    if shared:
        matched = frame[frame["branch"].isin(shared)]
        chart(
            runs_charts.importances_side_by_side(matched),
            matched,
            "compare_module_importance",
            caption="What each run's combiner gives each branch, as the Module importance "
            "page reports it: a module probability (sparse_attention) or the mean routing "
            "weight on the validation rows (sparse_dense); both add up to 1.",
        )
    unmatched = sorted(set(frame["branch"]) - set(shared))
    if unmatched:
        st.caption("Not in every run, so not drawn side by side: " + ", ".join(unmatched) + ".")
    wide = frame.pivot_table(index="branch", columns="run", values="importance", sort=False)
    wide = wide.reindex(columns=[comparison.label(r) for r in runs if comparison.label(r) in wide])
    table(wide.reset_index().rename_axis(columns=None), "compare_importance_table")


def render(frame: pd.DataFrame) -> None:
    chosen = pick(frame)
    if len(chosen) < comparison.MIN_RUNS:
        st.caption(
            f"Pick {comparison.MIN_RUNS} to {comparison.MAX_RUNS} runs to compare their "
            "curves, settings, metrics and module importances."
        )
        return
    store = sessions.store()
    try:
        runs = [store.load(run_id) for run_id in chosen]
    except RunError as error:
        user_error(error)
        return
    runs, damaged = comparison.readable(runs)
    for error in damaged:
        user_error(error)
    if len(runs) < comparison.MIN_RUNS:
        return
    every = bool(state.COMPARE_EVERY_FIELD.get())
    st.download_button(
        "Download the comparison (CSV)",
        data=comparison.comparison_table(runs, every_field=every).to_csv(index=False),
        file_name="run-comparison.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
        key=f"{state.COMPARE.name}.download",
        help="Runs, the settings shown, metrics at the best and final epoch, test metrics "
        "and module importances; one column per run.",
    )
    curves, settings, metrics, importance = st.tabs(
        ["Curves", "Settings", "Metrics", "Module importance"]
    )
    with curves:
        render_curves(runs)
    with settings:
        render_settings(runs)
    with metrics:
        render_metrics(runs)
    with importance:
        render_importances(runs)
