"""The Predictions page: how far to trust the model's outputs (calibration, thresholds,
intervals), why it predicted what it did for one row (attributions beside attention),
and whether its attention ranks like its attributions over many rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from sattn_dash.analysis.attributions import explanations
from sattn_dash.analysis.attributions.per_row import agreement_summary, incompleteness_cause
from sattn_dash.analysis.calibration import calibration
from sattn_dash.analysis.modules import members
from sattn_dash.analysis.reports.runs import faithfulness_for_run
from sattn_dash.charts import predictions as charts
from sattn_dash.errors import UserError
from sattn_dash.modeling.combiners import kinds_with
from sattn_dash.training.run import Run
from sattn_dash.ui.predictions.explain_jobs import job, start
from sattn_dash.ui.shared import data_source, pages, state
from sattn_dash.ui.shared.analysis_cache import compute_or_explain, loaded, model
from sattn_dash.ui.shared.components import chart, empty_state, table, user_error

ROW_CHOICES = (50, 100, 200, 500, 1000, 2000)
STEP_CHOICES = (16, 32, 64, 128)
SPLITS = {"val": "validation", "test": "test"}
POLL_SECONDS = 1.0


def _key(name: str) -> str:
    return f"{state.PREDICTIONS_WIDGET.name}.{name}"


def _target(run: Run, key: str) -> str:
    targets = list(run.targets)
    if len(targets) == 1:
        return targets[0]
    return st.selectbox("Target", targets, key=_key(f"target.{key}"))


# -- how far to trust the outputs -------------------------------------------------------
def render_calibration(run: Run) -> None:
    st.subheader("How far to trust the predictions")
    target = _target(run, "calibration")
    if run.tasks.get(target) == "regression":
        render_intervals(run, target)
    else:
        render_reliability(run, target)


def render_reliability(run: Run, target: str) -> None:
    try:
        bins = calibration.reliability_for_run(run, target)
        labels = _class_labels(run, target)
    except UserError as error:
        user_error(error)
        return
    binary = len(labels) == 2
    label = f"P({target} = {labels[1]})" if binary else "probability of the top class"
    left, right = st.columns([3, 2])
    with left:
        chart(
            charts.reliability_diagram(bins, label),
            bins,
            f"reliability_{run.run_id}_{target}",
            caption="Points on the dashed diagonal are calibrated: of the rows given 0.7, "
            "70% are positive. Below it the model is over-confident, above it under-confident.",
        )
    with right:
        ece = float(bins["ece"].iloc[0])
        st.metric(
            "Expected calibration error",
            f"{ece:.3f}",
            help="The gap between predicted probability and observed frequency, averaged "
            "over 10 equal-width bins weighted by their rows (test split). 0 is perfect.",
        )
        st.caption(f"{int(bins['rows'].sum()):,} test rows. " + _ece_words(ece))
    if not binary:
        render_class_confusion(run, target)
    render_threshold(run, target, labels)


def render_class_confusion(run: Run, target: str) -> None:
    """Several classes: which class is taken for which, every pair (counts and the share
    of each true class's rows)."""
    cells = calibration.class_confusion_for_run(run, target)
    chart(
        charts.confusion_matrix(cells, "Confusion matrix, every class", "Share of this true class"),
        cells,
        f"class_confusion_{run.run_id}_{target}",
        caption="Each row is a true class: the count of its test rows given each predicted "
        "class (the most probable one), and below it that count's share of the row.",
    )


def _ece_words(ece: float) -> str:
    if ece < 0.02:
        return "The probabilities can be read as they are."
    if ece < 0.06:
        return "The probabilities are roughly right; read them to a decimal place."
    return "The probabilities are off: rank rows by them, but do not read them as chances."


def _class_labels(run: Run, target: str) -> list[str]:
    prefix = f"{target}_proba_"
    return [c[len(prefix) :] for c in run.predictions.columns if c.startswith(prefix)]


def render_threshold(run: Run, target: str, labels: list[str]) -> None:
    st.markdown("**Decision threshold**")
    positive = labels[1] if len(labels) == 2 else None
    if positive is None:
        positive = st.selectbox(
            "Class of interest (against all others)", labels, key=_key(f"positive.{target}")
        )
    threshold = st.slider(
        f"Predict '{positive}' when its probability is at least",
        0.0,
        1.0,
        0.5,
        0.01,
        key=f"{state.THRESHOLD.name}.{run.run_id}.{target}.{positive}",
    )
    frame = calibration.threshold_table_for_run(run, target, positive)
    row = frame.iloc[int(np.argmin(np.abs(frame["threshold"] - threshold)))]
    cols = st.columns(4)
    for col, (name, value) in zip(
        cols,
        [(m.capitalize(), row[m]) for m in ("precision", "recall", "f1", "accuracy")],
        strict=True,
    ):
        col.metric(name, "–" if pd.isna(value) else f"{value:.3f}")
    left, right = st.columns(2)
    negative = "not " + positive if len(labels) > 2 else labels[0]
    cells = calibration.confusion_at(row, positive, negative)
    with left:
        chart(charts.confusion_matrix(cells), cells, f"confusion_{run.run_id}_{target}")
    with right:
        chart(
            charts.threshold_curves(frame, threshold),
            frame,
            f"thresholds_{run.run_id}_{target}",
            caption="Raise the threshold to be surer of each positive call (precision) at the "
            "cost of finding fewer of them (recall).",
        )


def render_intervals(run: Run, target: str) -> None:
    coverage = st.select_slider(
        "Prediction intervals that should contain the true value for",
        [0.5, 0.8, 0.9, 0.95, 0.99],
        value=0.9,
        format_func=lambda c: f"{c:.0%} of rows",
        key=_key(f"coverage.{target}"),
    )
    frame = compute_or_explain(calibration.conformal_for_run, run, target=target, coverage=coverage)
    residual = calibration.residuals_for_run(run, target)
    if frame is None:
        return
    width = float(frame["half_width"].iloc[0])
    n_cal = int(frame["calibration_rows"].iloc[0])
    cols = st.columns(3)
    cols[0].metric("Interval", f"± {width:.4g}", help="Added either side of each prediction.")
    cols[1].metric(
        "Covered on the test rows",
        f"{frame['covered'].mean():.1%}",
        help="The share of test rows whose true value falls inside its interval.",
    )
    cols[2].metric("Calibration rows", f"{n_cal:,}")
    early = " and early stopping used them to pick the epoch," if run.config.early_stopping else ""
    st.caption(
        f"Split-conformal intervals. They are calibrated on the {n_cal:,} validation rows: "
        "the model's weights were never fitted on them (training steps use only the "
        f"training rows){early} so their errors are honest samples of the errors on new "
        "rows. The coverage above is measured on the test rows, which nothing has used."
    )
    chart(
        charts.residual_scatter(residual, target, width),
        residual,
        f"residuals_{run.run_id}_{target}",
        caption="Dashed lines: the interval, as a residual. A funnel shape means the errors "
        "grow with the prediction, and one width fits the small ones loosely.",
    )


# -- explain rows -------------------------------------------------------------------
def render_explain(run: Run) -> dict[str, pd.DataFrame] | None:
    """Settings, the cost before it is paid, the background job; the stored tables."""
    st.subheader("Explain rows")
    st.caption(
        "Integrated gradients: how much each column (and each branch) moved a row's "
        "prediction away from the prediction for a typical training row (the baseline: "
        "medians of numbers, most frequent categories). Stored with the run."
    )
    cols = st.columns(3)
    split = cols[0].selectbox("Rows of", list(SPLITS), format_func=SPLITS.get, key=_key("split"))
    available = len(run.prepared.row_index[split])
    choices = [n for n in ROW_CHOICES if n < available] + [available]
    rows = cols[1].selectbox(
        "How many rows",
        choices,
        index=min(2, len(choices) - 1),
        format_func=lambda n: f"all {n:,}" if n == available else f"{n:,}",
        key=_key("rows"),
    )
    steps = cols[2].selectbox(
        "Steps along the path",
        STEP_CHOICES,
        index=1,
        key=_key("steps"),
        help="More steps: attributions add up more exactly, at proportionally more time. "
        "Rows that do not add up are redone with more steps on their own.",
    )
    found = explanations.cached_explanations(run, split, rows, steps)
    if found is not None:
        return found
    entry = loaded(run)
    running = job(entry, split, rows, steps)
    if running is not None and running.running:
        _follow(entry, split, rows, steps)
        return None
    if running is not None and running.error:
        user_error(running.error)
    with st.spinner("Timing a few rows…"), entry.lock:
        cost = explanations.explain_cost_for_run(run, split, rows, steps).iloc[0]
    st.button(
        f"Explain {int(cost['rows']):,} rows (about {_duration(cost['estimate_s'])})",
        icon=":material/play_arrow:",
        type="primary",
        key=_key("start"),
        on_click=start,
        args=(entry, split, rows, steps),
        help=f"Estimate {cost['basis']}. It runs in the background; you can keep reading.",
    )
    return None


def _duration(seconds: float) -> str:
    if seconds < 1:
        return "1 s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min"


def _follow(entry, split: str, rows: int, steps: int) -> None:
    """A progress bar refreshed every second; the whole page reruns once it is done."""

    @st.fragment(run_every=POLL_SECONDS)
    def progress() -> None:
        task = job(entry, split, rows, steps)
        if task is None or task.done:
            st.rerun()
        st.progress(task.progress, text=f"Explaining: {task.message}")

    progress()


# -- the dataset view -------------------------------------------------------------------
def render_agreement(run: Run, frames: dict[str, pd.DataFrame]) -> None:
    st.subheader("Does the attention rank like the attributions, row by row?")
    done = frames["completeness"]
    complete = int(done["complete"].sum())
    message = (
        f"Completeness: {complete:,} of {len(done):,} explained rows add up to their "
        "prediction minus the baseline prediction within the tolerance (1% of the "
        "difference, at least 0.001 of the output's scale)."
    )
    if complete == len(done):
        st.success(message, icon=":material/check:")
    else:
        st.warning(
            f"{message} {incompleteness_cause(run.combiner)} Their gap is shown with each "
            "row below.",
            icon=":material/warning:",
        )
    ensemble = _members_note(run)
    if ensemble:
        st.info(ensemble, icon=":material/info:")
        return
    rows = frames["agreement"]
    if rows.empty:
        st.info("This model has no attention or combiner weights to compare with.")
        return
    summary = agreement_summary(rows)
    target = _target(run, "agreement")
    summary = summary[summary["target"] == target]
    comparison = st.selectbox(
        "Attention of",
        list(summary["comparison"]),
        key=_key("comparison"),
        format_func=lambda c: c if c != "combiner weights" else "combiner weights (per branch)",
    )
    verdict = summary[summary["comparison"] == comparison].iloc[0]
    part = rows[(rows["target"] == target) & (rows["comparison"] == comparison)]
    left, right = st.columns([3, 2])
    with left:
        chart(charts.agreement_histogram(part), part, f"row_agreement_{run.run_id}_{comparison}")
    with right:
        {"strong": st.success, "partial": st.warning, "none": st.error}.get(
            verdict["agreement"], st.info
        )(verdict["verdict"])
        render_faithfulness(run)
    table(summary, f"agreement_summary_{run.run_id}_{target}")


def _members_note(run: Run) -> str | None:
    """For a model whose modules are the members of one ensemble (the TabM preset):
    why its rows are explained by column only. Ranking near-identical members row by
    row (their weights all about 1/k) reads noise as a finding."""
    branch = members.one_ensemble(run.spec)
    if branch is None:
        return None
    k = run.spec.branches[0].members
    return (
        f"This model's {k} modules are the members of one BatchEnsemble branch "
        f"('{branch}'): copies of one network that share the vote, so ranking them row "
        "by row, by attention or by attribution, says little. Read each row's attribution per "
        "column below; Module importance shows how far the members agree."
    )


def render_faithfulness(run: Run) -> None:
    """The global verdict (combiner attention against ablation) beside the per-row one."""
    if run.combiner not in kinds_with("importance"):
        return
    verdict = compute_or_explain(faithfulness_for_run, run)
    if verdict is not None:
        st.caption(f"Over the whole validation split (ablation): {verdict['verdict'].iloc[0]}")


# -- one row --------------------------------------------------------------------------
def render_row(run: Run, frames: dict[str, pd.DataFrame]) -> None:
    st.subheader(
        "One row: what moved its prediction"
        if members.one_ensemble(run.spec) is not None  # no attention worth showing
        else "One row: attention beside attribution"
    )
    done = frames["completeness"]
    target = _target(run, "row")
    done = done[done["target"] == target].reset_index(drop=True)

    def label(i: int) -> str:
        r = done.iloc[i]
        return (
            f"row {r['row']} (table row {r['row_index']}) · {r['output']} = {r['prediction']:.3g}"
        )

    chosen = st.selectbox("Row", range(len(done)), format_func=label, key=_key("row"))
    record = done.iloc[chosen]
    edit = st.toggle("Edit this row (what-if)", key=_key("edit"))
    if edit:
        edited = _edited(run, record["row_index"])
        if edited is None:
            return
        frames, position = edited, 1
    else:
        position = record["row"]
    _row_panels(run, frames, target, position)


def _edited(run: Run, index) -> dict[str, pd.DataFrame] | None:
    df = data_source.run_table(run)
    if df is None:
        empty_state(
            "Load the table this run was trained on (Data page) to edit one of its rows.",
            pages.DATA,
            "Load the table",
        )
        return None
    from sattn_dash.analysis.attributions import what_if

    original = df.loc[[index], run.prepared.schema.feature_columns].copy()
    original.attrs = {}
    st.caption("Change any cell: the attributions and attention follow.")
    edited = st.data_editor(
        original, key=f"{state.EXPLAIN_EDITOR.name}.{run.run_id}.{index}", hide_index=True
    )
    keras_model, lock = model(run)
    try:
        with lock:
            return what_if.attribute_rows(keras_model, run.prepared, pd.concat([original, edited]))
    except UserError as error:
        user_error(error)
        return None


def _row_panels(run: Run, frames: dict[str, pd.DataFrame], target: str, position) -> None:
    done = frames["completeness"]
    record = done[(done["row"] == position) & (done["target"] == target)].iloc[0]
    cols = st.columns(4)
    cols[0].metric(record["output"], f"{record['prediction']:.4g}")
    cols[1].metric("Baseline prediction", f"{record['baseline_prediction']:.4g}")
    cols[2].metric("Sum of attributions", f"{record['column_sum']:+.4g}")
    gap = record["column_gap"]
    cols[3].metric(
        "Completeness gap",
        f"{gap:.2g}",
        "within tolerance" if record["complete"] else "over tolerance",
        delta_color="normal" if record["complete"] else "inverse",
        delta_arrow="off",
        help=f"|sum - (prediction - baseline)|; tolerance {record['tolerance']:.2g}, "
        f"{int(record['steps'])} steps.",
    )
    columns = frames["columns"]
    columns = columns[(columns["row"] == position) & (columns["target"] == target)]
    branches = frames["branches"]
    branches = branches[(branches["row"] == position) & (branches["target"] == target)]
    attention = frames["attention"]
    attention = attention[attention["row"] == position]
    agreement = frames["agreement"]
    agreement = agreement[(agreement["row"] == position) & (agreement["target"] == target)]
    _attribution_pair(run, columns, branches, position)
    if members.one_ensemble(run.spec) is not None:
        # Attention over near-identical members, beside the same per-branch chart again,
        # would rank noise (see _members_note).
        return
    for comparison, block in attention.groupby("comparison", sort=False):
        over_branches = comparison in ("routing", "combiner weights")
        rho = agreement.loc[agreement["comparison"] == comparison, "spearman_rho"]
        rho_text = f" · Spearman {rho.iloc[0]:.2f}" if len(rho) and pd.notna(rho.iloc[0]) else ""
        st.markdown(f"**{comparison}**{rho_text}")
        left, right = st.columns(2)
        with left:
            chart(
                charts.attention_bars(block, f"Attention: {comparison}"),
                block,
                f"row_attention_{run.run_id}_{position}_{comparison}",
            )
        shown = branches if over_branches else columns[columns["column"].isin(block["item"])]
        unit = "branch" if over_branches else "column"
        with right:
            chart(
                charts.attribution_bars(shown, unit, f"Attribution per {unit}"),
                shown,
                f"row_attribution_{run.run_id}_{position}_{comparison}",
            )


def _attribution_pair(run: Run, columns: pd.DataFrame, branches: pd.DataFrame, position) -> None:
    """The row's attribution per column beside its attribution per branch, for every
    model: which of the user's columns moved this prediction, and through which branch."""
    left, right = st.columns(2)
    with left:
        chart(
            charts.attribution_bars(columns, "column", "Attribution per column"),
            columns,
            f"row_attribution_columns_{run.run_id}_{position}",
        )
    with right:
        chart(
            charts.attribution_bars(branches, "branch", "Attribution per branch"),
            branches,
            f"row_attribution_branches_{run.run_id}_{position}",
        )


def render(run: Run) -> None:
    render_calibration(run)
    frames = render_explain(run)
    if frames is None:
        return
    render_agreement(run, frames)
    render_row(run, frames)
