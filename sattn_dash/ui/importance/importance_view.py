"""The Module importance page: what the combiner gives each branch, how that came about,
what a different temperature would do, whether attention agrees with ablation and
permutation, and how the model compares with simpler baselines."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from sattn_dash import analysis
from sattn_dash.analysis.baselines.baselines import leaderboard
from sattn_dash.analysis.modules import members
from sattn_dash.analysis.modules.agreement import methods_long
from sattn_dash.analysis.reports.runs import (
    ablation_importance_for_run,
    baselines_for_run,
    column_importance_for_run,
    member_scores_for_run,
    module_importance_for_run,
    permutation_importance_by_for_run,
    temperature_distribution_for_run,
    temperature_what_if_for_run,
)
from sattn_dash.charts import columns as column_charts
from sattn_dash.charts import importance as charts
from sattn_dash.errors import UserError
from sattn_dash.modeling.combiners import combiner
from sattn_dash.training.run import Run
from sattn_dash.ui.importance import tuning_jobs
from sattn_dash.ui.shared import state
from sattn_dash.ui.shared.analysis_cache import compute, compute_or_explain, loaded
from sattn_dash.ui.shared.components import chart, table, user_error

CURVE_TEMPERATURES = [float(t) for t in np.round(np.geomspace(0.05, 10, 41), 4)]
POLL_SECONDS = 1.0
SLIDER_TEMPERATURES = [0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0]
METHOD_TITLES = {"attention": "Attention", "ablation": "Ablation", "permutation": "Permutation"}
AGREEMENT_TITLES = {
    "strong": "Attention agrees with ablation",
    "partial": "Attention partly agrees with ablation",
    "none": "Attention does not track what the model needs",
    "undetermined": "No branch stands out",
}


def learns_branch_weights(run: Run) -> bool:
    """Whether the run's combiner has a weight per branch to read (a run without a spec,
    from before specs were stored, is asked anyway)."""
    if run.spec is None:
        return True
    kind = combiner(run.spec.combiner.kind)
    return kind.has_module_weights or kind.has_routing


def render_probabilities(run: Run) -> pd.DataFrame | None:
    st.subheader("What the combiner gives each branch")
    if not learns_branch_weights(run):
        st.info(
            f"This run's combiner ({combiner(run.spec.combiner.kind).title}) "
            "learns no weight per "
            "branch, so there is no attention to read. What each branch is worth is "
            "measured below, by ablation and permutation.",
            icon=":material/info:",
        )
        return None
    frame = compute_or_explain(module_importance_for_run, run)
    if frame is None:
        return None
    if analysis.no_branch_preferred(frame["importance"]):
        low, high = frame["importance"].min(), frame["importance"].max()
        st.info(
            f"**No branch preferred**: the weights run only from {low:.2f} to {high:.2f}, "
            "too even to name a top branch. Train longer, lower the temperature or use a "
            "sparsemax normalizer for a clearer choice.",
            icon=":material/balance:",
        )
    render_dense_routing(run)
    if "probability" in frame:
        trained_t = float(frame["temperature"].iloc[0])
        chart(
            charts.probability_bars(frame),
            frame,
            f"module_probabilities_{run.run_id}",
            caption=f"SparseAttentionWeighting at temperature {trained_t:g}: one weight per "
            "branch for every row; the bars sum to 1.",
        )
        render_branch_columns(run)
    else:
        chart(
            charts.probability_bars(frame, "importance", "Mean routing weight (share of 1)"),
            frame,
            f"module_routing_{run.run_id}",
            caption="Sparse-dense routing: each row goes to its top-k branches; bars are the "
            "mean routing weight over the validation rows (hover for how often each branch "
            "is picked).",
        )
    return frame


def render_branch_columns(run: Run) -> None:
    """Which columns each branch reads, where some branch reads a group of them: a
    group's weight means nothing until the user sees what is in it."""
    spec = run.spec
    if spec is None or all(b.inputs == "all" for b in spec.branches):
        return
    lines = [
        f"**{b.name}** reads "
        + ("every column" if b.inputs == "all" else ", ".join(map(str, b.inputs)))
        for b in spec.branches
    ]
    lines.extend(whole_table_lines(run))
    st.caption("  \n".join(lines))


def whole_table_lines(run: Run) -> list[str]:
    """What the weight of a branch over every column means beside the groups: with a
    price on it (the default), how much the model leans on columns of different groups
    together."""
    spec = run.spec
    wide = [b.name for b in spec.branches if b.inputs == "all"]
    if not wide:
        return []
    if not (spec.combiner.all_columns_price and run.module_importance):
        return [
            "A branch over every column carries what no single group holds; the "
            "groups' weights say which of them the model needs."
        ]
    share = sum(run.module_importance.get(name, 0.0) for name in wide)
    return [
        f"The branch over every column pays for its weight, so it keeps weight only "
        f"where the model needs columns of different groups together: here it has "
        f"{share:.0%} of it, the groups {1 - share:.0%}."
    ]


def render_dense_routing(run: Run) -> None:
    """Flag a sparse-dense combiner whose top-k covers every branch: it routes densely."""
    spec = run.spec
    if spec is None or not combiner(spec.combiner.kind).has_routing:
        return
    if spec.combiner.top_k >= len(spec.branches):
        st.info(
            f"**Not sparse**: this router picks the top {spec.combiner.top_k} of "
            f"{len(spec.branches)} branches, so every row uses every branch. Lower top-k "
            "on the Architecture page for a real choice per row.",
            icon=":material/call_split:",
        )


def render_path(run: Run) -> None:
    st.subheader("How the weights moved during training")
    path = analysis.importance_over_training(run.snapshots)
    if path.empty:
        st.caption("This run stored no per-epoch branch weights (concat or mean combiner).")
        return
    chart(
        charts.importance_path(path),
        path,
        f"importance_over_training_{run.run_id}",
        caption="Read it like a vote count: lines that split early and stay apart mean a "
        "clear preference; lines that cross late mean the choice was close.",
    )


def render_temperature(run: Run, importance: pd.DataFrame) -> None:
    if importance is None or "temperature" not in importance:
        return
    st.subheader("What if the temperature were different?")
    trained = float(importance["temperature"].iloc[0])
    choices = sorted({*SLIDER_TEMPERATURES, trained})
    chosen = st.select_slider(
        "Temperature",
        choices,
        value=trained,
        key=state.TEMPERATURE.name,
        format_func=lambda t: f"{t:g}" + (" (trained)" if t == trained else ""),
        help="Lower: the combiner commits to its favourite branch. Higher: weights even out. "
        "The model is re-scored at this temperature without retraining.",
    )
    curve = compute_or_explain(
        temperature_distribution_for_run, run, temperatures=CURVE_TEMPERATURES
    )
    scored = compute_or_explain(temperature_what_if_for_run, run, temperatures=[chosen])
    if curve is None or scored is None:
        return
    chart(
        charts.temperature_curve(curve, chosen, trained),
        curve,
        f"temperature_distribution_{run.run_id}",
    )
    at_chosen = scored[np.isclose(scored["temperature"], chosen)]
    cols = st.columns(max(1, len(at_chosen)) + 1)
    top = at_chosen.iloc[0] if len(at_chosen) else None
    at_t = curve[np.isclose(curve["temperature"], chosen)]["probability"]
    if top is not None and analysis.no_branch_preferred(at_t):
        cols[0].metric(
            "Top branch",
            "none preferred",
            f"largest weight {top['top_probability']:.1%}",
            delta_color="off",
            delta_arrow="off",
            help="The weights at this temperature are too even to name a top branch.",
        )
    elif top is not None:
        cols[0].metric(
            "Top branch",
            str(top["top_branch"]),
            f"{top['top_probability']:.1%} of the weight",
            delta_color="off",
            delta_arrow="off",
        )
    for col, (_, row) in zip(cols[1:], at_chosen.iterrows(), strict=False):
        change = None if row["trained"] else f"{-row['worsening']:+.4f} vs trained"
        col.metric(
            f"{row['target']} · validation {row['metric']} at T={chosen:g}",
            f"{row['value']:.4f}",
            change,
            help="On the validation rows (the test metric of this run is on the Train and "
            "Runs pages). A positive change means better than at the trained temperature.",
        )
    table(
        scored,
        f"temperature_what_if_{run.run_id}_{chosen:g}",
        caption="Scores on the validation rows.",
    )


def _for_picked_target(function, run: Run, key: str) -> tuple[str, pd.DataFrame] | None:
    """``function``'s table for the run (cached), then the target picked under ``key``
    and that target's rows; None where there is nothing to show (said on the page)."""
    frame = compute_or_explain(function, run)
    if frame is None or frame.empty:
        return None
    target = _target_picker(run, key)
    return target, frame[frame["target"] == target]


def _target_picker(run: Run, key: str) -> str:
    targets = list(run.targets)
    if len(targets) == 1:
        return targets[0]
    return st.selectbox("Target", targets, key=f"{state.IMPORTANCE_WIDGET.name}.{key}")


def render_faithfulness(run: Run, importance: pd.DataFrame | None) -> None:
    st.subheader("Can the attention be read as importance?")
    st.caption(
        "Attention weights are not automatically importance. Here they are set beside what "
        "the model actually needs: ablation (replace one branch's output by its mean) and "
        "permutation (shuffle one branch's output across rows), both on the validation rows."
    )
    weighted = learns_branch_weights(run)
    if importance is None and weighted:
        return  # the attention could not be read: said above
    target = _target_picker(run, "faithfulness")
    ablation = compute_or_explain(ablation_importance_for_run, run)
    permutation = compute_or_explain(permutation_importance_by_for_run, run, level="branch")
    if ablation is None or permutation is None:
        return
    ablation = ablation[ablation["target"] == target]
    permutation = permutation[permutation["target"] == target]
    measures = {"ablation": ablation, "permutation": permutation}
    if importance is not None:
        measures = {"attention": importance, **measures}
    compared = analysis.compare_importances(**measures)
    ranking = [m for m, frame in measures.items() if analysis.tells_branches_apart(frame)]
    for method in measures.keys() - set(ranking):
        st.caption(
            f"**{METHOD_TITLES[method]} cannot tell these branches apart**: every branch "
            "gets about the same value, so it is left out of the chart rather than shown "
            "as a tie that ranks nothing."
        )
    if ranking:
        long = methods_long(compared, ranking)
        chart(charts.methods_side_by_side(long), long, f"importance_methods_{run.run_id}_{target}")
    if importance is not None:
        render_verdict(analysis.faithfulness(importance, ablation).iloc[0])
    table(
        compared,
        f"importance_comparison_{run.run_id}_{target}",
        caption="Ablation and permutation drops are measured on the validation rows.",
    )


def render_verdict(verdict) -> None:
    """The faithfulness verdict as information: a finding about the model, not an error."""
    rho = verdict["spearman_rho"]
    detail = (
        f" (Spearman ρ = {rho:.2f} over {verdict['n_branches']} branches.)" if pd.notna(rho) else ""
    )
    with st.container(border=True):
        st.markdown(f"**Verdict: {AGREEMENT_TITLES.get(verdict['agreement'], '')}**")
        st.markdown(verdict["verdict"] + detail)


def render_baselines(run: Run) -> None:
    st.subheader("Baselines leaderboard")
    st.caption(
        "The same test rows scored by simpler models fitted on the same training rows: "
        "gradient boosting (scikit-learn's HistGradientBoosting), LightGBM and CatBoost at "
        "their library defaults, categorical columns passed as categorical, each fitted on "
        f"{analysis.BASELINE_THREADS} thread (so a busy machine does not slow them to a "
        "crawl); hover a bar for its fit time. If a tree wins, the ensemble is not yet "
        "worth its complexity."
    )
    streamed = (run.card or {}).get("streamed")
    if streamed:
        st.caption(
            f":material/stream: This run streamed a table of {streamed['table_rows']:,} rows. "
            f"The baselines are fitted on the training rows of its {streamed['sample_rows']:,}"
            "-row sample and scored on every test row of the table, as this run was (on the "
            "sample's test rows when the table's files are no longer there). Retrained "
            "versions of this model learn from the sample."
        )
    retrain = st.toggle(
        "Also retrain simpler versions of this model (best branch alone, mean combiner)",
        key=f"{state.IMPORTANCE_WIDGET.name}.retrain",
        help="Trains two more models with this run's settings: slower, but it shows what the "
        "attention combiner itself adds.",
    )
    frame = compute_or_explain(baselines_for_run, run, retrain=retrain)
    if frame is None or frame.empty:
        return
    tuned = render_tuning(run, frame)
    if tuned is not None:
        kept = frame[~frame["model"].isin(tuned["model"])]  # the same tuning, stored
        frame = pd.concat([kept, tuned], ignore_index=True)
    target = _target_picker(run, "baselines")
    board = leaderboard(frame, run, target)
    chart(charts.baselines_leaderboard(board), board, f"leaderboard_{run.run_id}_{target}")
    table(frame, f"baselines_all_metrics_{run.run_id}", caption="Every metric of every model.")


# -- which columns matter (every model) -------------------------------------------------
def render_columns(run: Run) -> None:
    """Permutation importance per source column (with its spread) beside the mean size of
    its attributions, and one sentence on how far the two rankings agree."""
    st.subheader("Which columns matter?")
    st.caption(
        "Two independent measures per column of your table (a one-hot or embedded column "
        "counts as one): how much the validation score drops when the column is shuffled "
        "across rows (5 shuffles; the line is their spread), and how far the column moved "
        "the predictions of 100 validation rows away from a typical row's (integrated "
        "gradients, stored with the run). When both rank the columns alike, the ranking "
        "is evidence, not one method's artefact."
    )
    picked = _for_picked_target(column_importance_for_run, run, "columns")
    if picked is None:
        return
    target, part = picked
    verdict = analysis.column_agreement(part)
    if len(verdict):
        st.markdown(verdict["verdict"].iloc[0])
    chart(
        column_charts.column_importance_bars(part),
        part,
        f"column_importance_{run.run_id}_{target}",
        caption="Permutation is in the headline metric's units on the validation rows; "
        "attribution in the output's units (a probability, or the target's units).",
    )


# -- members of one ensemble -------------------------------------------------------------
def render_members(run: Run) -> None:
    """The members of one BatchEnsemble, as what they are: how much they agree, and each
    alone against all of them together; never a ranking of identical names."""
    st.subheader("The ensemble's members")
    picked = _for_picked_target(member_scores_for_run, run, "members")
    if picked is None:
        return
    target, scores = picked
    summary = members.members_summary(scores)
    for _, row in summary.iterrows():
        st.markdown(row["verdict"])
        part = scores[scores["branch"] == row["branch"]]
        chart(
            column_charts.member_scores(part),
            part,
            f"member_scores_{run.run_id}_{row['branch']}_{target}",
            caption="Each member's own prediction scored on the validation rows, and the "
            "ensemble's. Members that agree closely and score alike are doing one job "
            "together; read the columns above for what the model uses.",
        )


def _weights(run: Run):
    """The combiner's weight per branch, or None where it learns none."""
    try:
        return compute(module_importance_for_run, run)["importance"]
    except UserError:
        return None


def render_tuning(run: Run, frame: pd.DataFrame) -> pd.DataFrame | None:
    """The switch that adds a LightGBM tuned by Optuna: its estimate, then a worker
    thread followed by a progress bar; the tuned model's rows once it is done."""
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    tune = left.toggle(
        "Also tune LightGBM with Optuna on the validation rows",
        key=f"{state.IMPORTANCE_WIDGET.name}.tune",
        help="Each trial fits LightGBM on the training rows and judges it on the validation "
        "rows alone; the best settings are refitted and scored on the test rows.",
    )
    if not tune:
        return None
    trials = int(
        right.number_input(
            "Trials", 1, 500, 30, step=10, key=f"{state.IMPORTANCE_WIDGET.name}.tune_trials"
        )
    )
    entry = loaded(run)
    task = tuning_jobs.job(entry, trials)
    if task is not None and task.running:
        _follow_tuning(entry, trials)
        return None
    if task is not None and task.done and task.error is None:
        return task.result
    if task is not None and task.error:
        user_error(task.error)
    estimate = analysis.tuning_estimate(frame, trials)
    st.button(
        f"Tune LightGBM: {trials} trials (about {max(estimate, 1):.0f} s)",
        icon=":material/tune:",
        key=f"{state.IMPORTANCE_WIDGET.name}.tune_start",
        on_click=tuning_jobs.start,
        args=(entry, trials),
        help="Estimated from the default LightGBM's fit time. It runs in the background; "
        "you can keep reading.",
    )
    return None


def _follow_tuning(entry, trials: int) -> None:
    """A progress bar refreshed every second; the whole page reruns once it is done."""

    @st.fragment(run_every=POLL_SECONDS)
    def progress() -> None:
        task = tuning_jobs.job(entry, trials)
        if task is None or task.done:
            st.rerun()
        st.progress(task.progress, text=f"Tuning LightGBM: {task.message}")

    progress()


def render(run: Run) -> None:
    st.caption(
        "A *branch* is a sub-network you built; the combiner layer calls it a *module*. "
        "These charts read what the trained combiner learned about them, and which "
        "columns of your table the model uses."
    )
    if members.one_ensemble(run.spec) is not None:
        # Interchangeable by construction: the columns lead, the members are described.
        render_columns(run)
        render_members(run)
        render_baselines(run)
        return
    even = members.interchangeable(run.spec, _weights(run))
    if even:  # weights too even to rank the branches: the columns lead
        render_columns(run)
    importance = render_probabilities(run)
    if not even:
        render_columns(run)
    render_path(run)
    render_temperature(run, importance)
    render_faithfulness(run, importance)
    render_baselines(run)
