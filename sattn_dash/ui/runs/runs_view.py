"""The Runs page: table, one run's details and actions, and comparison of runs.

Reads only the run folders (no TensorFlow). Owns the ``runs.*`` keys.
"""

from __future__ import annotations

import json

import streamlit as st

from sattn_dash.analysis.reports import runs_table, tidy
from sattn_dash.errors import RunError
from sattn_dash.training.run import Run
from sattn_dash.training.store import ACTIVE_STATES
from sattn_dash.ui.runs import compare_view, run_code
from sattn_dash.ui.shared import pages, resume_view, sessions, state
from sattn_dash.ui.shared.components import empty_state, run_links, table, user_error

STATUS_ICON = {
    "finished": ":material/check_circle:",
    "running": ":material/progress_activity:",
    "queued": ":material/schedule:",
    "stopping": ":material/stop_circle:",
    "stopped": ":material/stop_circle:",
    "failed": ":material/error:",
    "interrupted": ":material/warning:",
}


def _key(name: str) -> str:
    return f"{state.RUNS_WIDGET.name}.{name}"


def render_table(frame) -> None:
    metric_columns = [c for c in frame.columns if " · " in c]
    table(
        frame,
        "runs",
        column_config={
            "run_id": st.column_config.TextColumn("Run id"),
            "title": st.column_config.TextColumn("Title", width="medium"),
            "duration_s": st.column_config.NumberColumn("Duration (s)", format="%.1f"),
            "epochs": st.column_config.NumberColumn("Epochs", format="%d"),
            **{c: st.column_config.NumberColumn(c, format="%.4f") for c in metric_columns},
        },
    )


def picked_run(frame) -> str:
    """The run the detail panel shows: ``?run=`` when it names one, else the newest."""
    ids = list(frame["run_id"])
    wanted = st.query_params.get("run")
    titles = dict(zip(frame["run_id"], frame["title"], strict=True))
    return st.selectbox(
        "Run",
        ids,
        index=ids.index(wanted) if wanted in ids else 0,
        format_func=lambda i: f"{titles[i]} · {i}",
        key=_key("picked"),
    )


def _rename(run_id: str) -> None:
    title = st.session_state.get(_key(f"title.{run_id}"), "")
    try:
        stored = sessions.store().rename(run_id, title)
    except RunError as error:
        state.RUNS_MESSAGE.set(("error", str(error)))
        return
    state.RUNS_MESSAGE.set(("success", f"Renamed to “{stored}”."))


def _delete(run_id: str) -> None:
    try:
        sessions.store().delete(run_id)
    except RunError as error:
        state.RUNS_MESSAGE.set(("error", str(error)))
        return
    sessions.unfollow(run_id)
    state.RUNS_MESSAGE.set(("success", f"Deleted run {run_id}."))


def render_message() -> None:
    message = state.RUNS_MESSAGE.get()
    if message:
        kind, text = message
        (st.success if kind == "success" else user_error)(text)
        state.RUNS_MESSAGE.clear()


def _file_download(
    column,
    run: Run,
    label: str,
    name: str,
    file_name: str,
    mime: str,
    key: str,
    help: str | None = None,
) -> None:
    """A download of the run's file ``name``, read only when clicked; greyed out while
    the run has no such file."""
    path = run.path / name
    column.download_button(
        label,
        data=path.read_bytes if path.is_file() else b"",
        file_name=file_name,
        mime=mime,
        disabled=not path.is_file(),
        icon=":material/download:",
        on_click="ignore",
        key=_key(f"{key}.{run.run_id}"),
        help=help,
    )


def render_downloads(run: Run) -> None:
    cols = st.columns(4)
    _file_download(
        cols[0],
        run,
        "Model (.keras)",
        "model.keras",
        f"{run.run_id}.keras",
        "application/octet-stream",
        key="model",
        help="Load it with `keras.saving.load_model(path)` after `import sattn_dash` (below).",
    )
    _file_download(
        cols[1],
        run,
        "Test predictions (CSV)",
        "predictions.csv",
        f"{run.run_id}-predictions.csv",
        "text/csv",
        key="predictions",
    )
    cols[2].download_button(
        "Run card (JSON)",
        data=json.dumps(run.card or {}, indent=2),
        file_name=f"{run.run_id}-card.json",
        mime="application/json",
        disabled=not run.card,
        icon=":material/download:",
        on_click="ignore",
        key=_key(f"card.{run.run_id}"),
        help="Seed, data hash, library versions, device, timings and results.",
    )
    finished = run.status == "finished"
    cols[3].download_button(
        "Run report (HTML)",
        data=(lambda: _report(run)) if finished else b"",
        file_name=f"{run.run_id}-report.html",
        mime="text/html",
        disabled=not finished,
        icon=":material/download:",
        on_click="ignore",
        key=_key(f"report.{run.run_id}"),
        help="One file to share: data, architecture, curves, metrics beside baselines, "
        "importance with its evidence, calibration. Opens offline. Takes a little while "
        "to make (it scores the baselines and the importances).",
    )


def _report(run: Run) -> str:
    from sattn_dash.analysis.reports.share import report_html

    return report_html(run)


def render_detail(run: Run) -> None:
    with st.container(border=True):
        st.markdown(f"### {STATUS_ICON.get(run.status, '')} {run.title}")
        facts = [f"`{run.run_id}`", run.status, f"{run.epochs_run} epochs"]
        if run.duration_s:
            facts.append(f"{run.duration_s:.1f} s")
        st.caption(" · ".join(facts))
        if run.error:
            user_error(run.error)
        if run.status == "interrupted":
            resume_view.render(run.run_id, run.epochs_run, run.config.epochs, "runs")
        metrics = tidy.metrics_long(run.metrics)
        if not metrics.empty:
            table(metrics, f"metrics_{run.run_id}", caption="Metrics on the held-out test rows.")
        links = st.columns(3)
        if run.status in ACTIVE_STATES:
            links[0].page_link(
                pages.TRAIN,
                label="Follow training",
                query_params={"run": run.run_id},
                icon=":material/monitoring:",
            )
        else:
            run_links(links, run.run_id)
        render_downloads(run)
        run_code.render(run, _key(f"script.{run.run_id}"))
        cols = st.columns([4, 1, 1], vertical_alignment="bottom")
        cols[0].text_input("Title", value=run.title, key=_key(f"title.{run.run_id}"))
        cols[1].button(
            "Rename",
            on_click=_rename,
            args=(run.run_id,),
            key=_key(f"rename.{run.run_id}"),
            icon=":material/edit:",
        )
        with cols[2].popover(
            "Delete", icon=":material/delete:", disabled=run.status in ACTIVE_STATES
        ):
            st.write("Delete this run and its model for good?")
            st.button(
                "Yes, delete",
                type="primary",
                on_click=_delete,
                args=(run.run_id,),
                key=_key(f"delete.{run.run_id}"),
            )


def render() -> None:
    store = sessions.store()
    frame = runs_table.runs_frame(store)
    render_message()
    for skipped in store.skipped:
        st.warning(f"Skipped folder {skipped.name}: {skipped.reason}")
    if frame.empty:
        empty_state(
            "No runs yet. Every model you train is saved here with its curves, metrics and "
            "model file, so you can come back to it tomorrow.",
            pages.TRAIN,
            "Train a model",
        )
        return
    render_table(frame)
    st.subheader("One run")
    run_id = picked_run(frame)
    try:
        render_detail(store.load(run_id))
    except RunError as error:
        user_error(error)
    st.subheader("Compare runs")
    compare_view.render(frame)
