"""The Search page's parts: start a study, follow it live, read what it found.

A study runs as a background ``search`` process (``sattn_dash.search.background``);
this module only starts, polls and stops it. The study name lives in
``st.query_params["study"]`` (and ``state.STUDY``), so a refresh or a second tab
reattaches; the trials come from the study's storage, the runs from the run store.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from sattn_dash.charts import search as search_charts
from sattn_dash.errors import UserError
from sattn_dash.search import background
from sattn_dash.search.processes import available_cores
from sattn_dash.search.space import SETTINGS, default_space, load_space
from sattn_dash.search.study import (
    AUTO_METRIC,
    SearchError,
    best_so_far,
    check_study_user,
    default_study_name,
    importance_caveat,
    load_study,
    metrics_for,
    open_storage,
    parallel_frame,
    param_importance,
    trials_frame,
)
from sattn_dash.ui.shared import auth, data_source, pages, state
from sattn_dash.ui.shared.components import chart, download_csv, empty_state, table, user_error
from sattn_dash.workspace import default_workspace

if TYPE_CHECKING:
    from sattn_dash.tabular.prepared import PreparedData
    from sattn_dash.tabular.schema import Schema

POLL_SECONDS = 2.0
METRIC_WORDS = {
    AUTO_METRIC: "What training judges by (the metric early stopping watches)",
    "val_loss": "val_loss (every head's validation loss, summed)",
}


def _key(name: str) -> str:
    return f"{state.SEARCH_WIDGET.name}.{name}"


def _workspace() -> str:
    return str(default_workspace().resolve())


def followed_study() -> str | None:
    """The study this tab follows: ``?study=`` first, then the session's."""
    known = background.list_studies(_workspace(), auth.user())
    for name in (st.query_params.get("study"), state.STUDY.get()):
        if name and name in known:
            state.STUDY.set(name)
            st.query_params["study"] = name
            return name
    return None


# --- starting -----------------------------------------------------------------------------
def _space_text(prepared: PreparedData) -> str:
    text = st.session_state.get(_key("space"))
    return text if text else json.dumps(default_space(prepared), indent=2)


def _reset_space(prepared: PreparedData) -> None:
    st.session_state[_key("space")] = json.dumps(default_space(prepared), indent=2)


def render_start(prepared: PreparedData) -> None:
    """The form that starts (or resumes) a study on the current table."""
    df, schema = state.TABLE.get(), state.SCHEMA.get()
    loaded = data_source.streamed_table()
    if loaded is not None:
        st.caption(
            f":material/stream: The table streams ({loaded.stream.n_rows:,} rows): trials "
            f"train on the seeded {len(df):,}-row sample the Data page shows, so a search "
            "stays quick. A run started on the Train page reads every row."
        )
    default_name = default_study_name(state.TABLE_NAME.get() or "table", schema.target_names)
    cols = st.columns([2, 1, 1, 1])
    cols[0].text_input(
        "Study name",
        default_name,
        key=_key("name"),
        help="Starting a study whose name exists resumes it (same table and targets).",
    )
    cols[1].number_input("Trials", 1, 10_000, 20, key=_key("trials"), help="Complete or pruned.")
    cores = len(available_cores())
    cols[2].number_input(
        "Worker processes",
        1,
        max(1, cores),
        1,
        key=_key("workers"),
        help=f"Trials run side by side, each on its share of the {cores} core(s).",
    )
    cols[3].number_input("Time limit (min)", 0, 10_000, 0, key=_key("timeout"), help="0: no limit.")
    cols = st.columns([1, 3])
    metrics = metrics_for({t.name: t.task for t in schema.targets})
    if st.session_state.get(_key("metric")) not in metrics:  # another table's choice
        st.session_state.pop(_key("metric"), None)
    cols[0].selectbox(
        "Metric",
        metrics,
        format_func=lambda m: METRIC_WORDS.get(m, m),
        key=_key("metric"),
        help="What each trial is judged by, on the validation rows: by default what "
        "training itself judges a run by (a binary target's own log loss, a multiclass "
        "target's accuracy, a number's RMSE; the summed loss with several targets). "
        "Only the metrics the target's head reports are offered.",
    )
    cols[1].text_input(
        "Storage (optional)",
        key=_key("storage"),
        placeholder="embedded journal in the workspace",
        help="An Optuna RDB URL such as postgresql://user:password@host:5432/db, to run "
        "this study from several machines: on each, `python -m sattn_dash search-worker "
        "--study NAME --storage URL`.",
    )
    with st.expander("Search space (JSON)", expanded=False):
        st.caption(
            'Fix a setting with a plain value, pick among `{"choices": [...]}`, or search a '
            'range `{"low": a, "high": b, "log": true}`. Settings: '
            + "; ".join(f"**{k}**: {v}" for k, v in SETTINGS.items())
        )
        if _key("space") not in st.session_state:
            _reset_space(prepared)
        st.text_area("Space", key=_key("space"), height=320, label_visibility="collapsed")
        st.button("Reset to the default space", on_click=_reset_space, args=(prepared,))
    st.button(
        "Start search",
        type="primary",
        icon=":material/travel_explore:",
        on_click=_start,
        args=(df, schema, prepared),
        key=_key("start"),
    )
    if state.SEARCH_ERROR.get():
        user_error(state.SEARCH_ERROR.get())


def _start(df, schema: Schema, prepared: PreparedData) -> None:
    get = st.session_state.get
    try:
        from sattn_dash.search.study import check_study_name

        name = check_study_name((get(_key("name")) or "").strip())
        space = load_space(_space_text(prepared))
        storage = (get(_key("storage")) or "").strip() or None
        if storage:
            open_storage(name, storage)  # a bad URL is said here, not in a log file
        inputs = background.save_inputs(name, df, schema, space, _workspace())
        minutes = float(get(_key("timeout")) or 0)
        background.launch(
            name,
            inputs,
            list(schema.target_names),
            trials=int(get(_key("trials"), 20)),
            workers=int(get(_key("workers"), 1)),
            timeout=minutes * 60 or None,
            storage=storage,
            metric=get(_key("metric"), AUTO_METRIC),
            workspace=_workspace(),
            user=auth.user(),
        )
    except UserError as error:
        state.SEARCH_ERROR.set(str(error))
        return
    state.SEARCH_ERROR.clear()
    state.STUDY.set(name)
    st.session_state[_key("picker")] = name
    st.query_params["study"] = name


def _stop(name: str) -> None:
    background.stop(name, _workspace(), auth.user())


# --- following ----------------------------------------------------------------------------
def _open(name: str):
    if name not in background.list_studies(_workspace(), auth.user()):
        raise SearchError(f"No study named {name!r} in this workspace.")
    storage = background.storage_of(name, _workspace())
    study, settings = load_study(name, open_storage(name, storage, _workspace()))
    check_study_user(name, settings, auth.user())
    return study, settings


def _trials_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The trials as shown: a link to each trial's Module importance page."""
    shown = frame.drop(columns=["started"], errors="ignore").copy()
    shown.columns = [c.removeprefix("param_") for c in shown.columns]
    has_model = shown["state"].isin(["COMPLETE", "PRUNED"]) & shown["run_id"].notna()
    shown.insert(
        1,
        "open",
        [
            f"importance?run={r}" if ok else None
            for r, ok in zip(shown["run_id"], has_model, strict=True)
        ],
    )
    return shown


def render_status(name: str, launch: dict | None, study, settings) -> bool:
    """The line that says where the study is; True while its process runs."""
    frame = trials_frame(study)
    done = int(frame["state"].isin(["COMPLETE", "PRUNED"]).sum()) if len(frame) else 0
    failed = int((frame["state"] == "FAIL").sum()) if len(frame) else 0
    running = int((frame["state"] == "RUNNING").sum()) if len(frame) else 0
    alive = bool(launch and launch["alive"])
    where = launch["storage_shown"] if launch else "embedded journal"
    st.markdown(
        f"**Study `{name}`** · {settings.metric_words} ({settings.direction}) · {where} · "
        f"**{done} / {settings.trials}** trials done, {running} running, {failed} failed · "
        + ("searching…" if alive else "not running")
    )
    st.progress(min(1.0, done / max(1, settings.trials)))
    if alive:
        st.button(
            "Stop search",
            icon=":material/stop:",
            on_click=_stop,
            args=(name,),
            key=_key("stop"),
            help="The running trials stop after their batch; rerun the study to resume it.",
        )
    elif launch and launch.get("error"):
        user_error(f"The search ended with an error: {launch['error']}")
    return alive


@st.cache_data(show_spinner=False, max_entries=32)
def _importance(name: str, completed: int, method: str, storage: str | None) -> pd.DataFrame:
    del completed  # part of the cache key: recompute when a trial completes
    study, _ = load_study(name, open_storage(name, storage, _workspace()))
    return param_importance(study, method)


def render_results(name: str, study, settings) -> None:
    frame = trials_frame(study)
    if frame.empty:
        empty_state("No trial has started yet; the first appears here within seconds.")
        return
    complete = frame[frame["state"] == "COMPLETE"]
    if len(complete):
        best = complete.loc[
            complete["value"].idxmax()
            if settings.direction == "maximize"
            else complete["value"].idxmin()
        ]
        st.page_link(
            pages.IMPORTANCE,
            label=f"Open the best trial (#{int(best['trial'])}, {settings.metric_words} "
            f"{best['value']:.4g}) in Module importance",
            icon=":material/emoji_events:",
            query_params={"run": best["run_id"]},
        )
    st.subheader("Trials")
    table(
        _trials_table(frame),
        f"trials_{name}",
        caption="Every trial is a run: its link opens Module importance for it (complete "
        "and pruned trials keep their model). Stopped and interrupted trials are failed "
        "and run again when the study resumes.",
        column_config={
            "open": st.column_config.LinkColumn("Open", display_text="Module importance"),
            "value": st.column_config.NumberColumn(settings.metric_words, format="%.5g"),
            "test_score": st.column_config.NumberColumn(
                "Test score", format="%.4f", help="ROC AUC or R² of the first target, test split"
            ),
        },
    )
    curve = best_so_far(frame, settings.direction)
    if len(curve) < 1:
        return
    left, right = st.columns(2)
    with left:
        chart(
            search_charts.best_so_far(curve, settings.metric_words),
            curve,
            f"best_so_far_{name}",
            caption="Grey: each completed trial; blue: the best so far.",
        )
    with right:
        method = st.radio(
            "Importance by",
            ["fanova", "mdi"],
            horizontal=True,
            format_func={"fanova": "fANOVA", "mdi": "Mean decrease in impurity"}.get,
            key=_key("importance_method"),
        )
        storage = background.storage_of(name, _workspace())
        importance = _importance(name, len(complete), method, storage)
        if importance.empty:
            st.info("Parameter importance needs two completed trials whose parameters differ.")
        else:
            chart(
                search_charts.importance_bars(importance, method),
                importance,
                f"param_importance_{name}",
                caption="Share of the metric's variation each parameter explains, over the "
                "parameters every completed trial has.",
            )
            caveat = importance_caveat(len(complete))
            if caveat:
                st.caption(f":material/info: {caveat}")
    coordinates = parallel_frame(frame)
    if not coordinates.empty:
        chart(
            search_charts.parallel_coordinates(
                coordinates, settings.metric_words, settings.direction
            ),
            coordinates,
            f"parallel_coordinates_{name}",
            caption="Each line is a completed trial; each axis spans the values that "
            "parameter took. Hover a point for its value.",
        )
    download_csv(
        pd.DataFrame([settings.space])
        .T.reset_index()
        .set_axis(["setting", "dimension"], axis=1)
        .assign(dimension=lambda d: d["dimension"].map(json.dumps)),
        f"space_{name}",
        label="Search space (CSV)",
        what="the study's search space",
    )


def render_followed(name: str) -> None:
    launch = background.launch_state(name, _workspace())
    active = bool(launch and launch["alive"])

    @st.fragment(run_every=POLL_SECONDS if active else None)
    def live() -> None:
        now = background.launch_state(name, _workspace())
        try:
            study, settings = _open(name)
        except UserError as error:
            if now and now["alive"]:  # the process is still making the study
                st.info("Starting the search (reading the table, loading TensorFlow)…")
            elif now and now.get("error"):
                user_error(f"The search ended with an error: {now['error']}")
            else:
                user_error(error)
            return
        alive = render_status(name, now, study, settings)
        render_results(name, study, settings)
        if active and not alive:
            st.rerun()  # it ended: redraw once, without polling

    live()


def render_picker() -> str | None:
    """A selectbox of this workspace's studies (kept in the URL)."""
    studies = background.list_studies(_workspace(), auth.user())
    if not studies:
        return None
    current = followed_study()
    chosen = st.selectbox(
        "Study",
        studies,
        index=studies.index(current) if current in studies else 0,
        key=_key("picker"),
        help="Studies of this workspace, newest first.",
    )
    state.STUDY.set(chosen)
    st.query_params["study"] = chosen
    return chosen
