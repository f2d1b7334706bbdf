"""Pick the trained run an analysis page reads: ``?run=`` first (a link, a refresh), then
the run picked last on any page of this tab, then the run this tab trained last, then
the newest. Only runs with a saved model are offered. Owns ``state.PICKED_RUN``.

The pick is kept outside the selectbox's own state: Streamlit drops a widget's state
when the page that drew it is left, so the next page would start from the newest run.
"""

from __future__ import annotations

import streamlit as st

from sattn_dash.training.run import Run
from sattn_dash.ui.shared import pages, sessions, state
from sattn_dash.ui.shared.components import empty_state


def trained_runs() -> list:
    store = sessions.store()
    return [
        info
        for info in store.list()
        if info.status in ("finished", "stopped")
        and (store.path(info.run_id) / "model.keras").is_file()
    ]


def pick_run() -> Run:
    """A selectbox of trained runs (kept in the URL); stops the page when there is none."""
    runs = trained_runs()
    if not runs:
        empty_state(
            "No trained model yet. Train one on the Train page (two epochs are enough to "
            "look around); its charts appear here when it finishes.",
            pages.TRAIN,
            "Train a model",
        )
        st.stop()
    ids = [r.run_id for r in runs]
    titles = {r.run_id: r.title for r in runs}
    wanted = next(
        (
            i
            for i in (
                st.query_params.get("run"),
                state.PICKED_RUN.get(),
                state.CURRENT_RUN.get(),
            )
            if i in ids
        ),
        ids[0],
    )
    st.session_state[state.RUN_PICKER.name] = wanted
    run_id = st.selectbox(
        "Run",
        ids,
        format_func=lambda i: f"{titles[i]} · {i}",
        key=state.RUN_PICKER.name,
        on_change=_on_pick,
        help="Trained runs of this workspace, newest first.",
    )
    state.PICKED_RUN.set(run_id)
    st.query_params["run"] = run_id
    return sessions.store().load(run_id)


def _on_pick() -> None:
    picked = st.session_state[state.RUN_PICKER.name]
    state.PICKED_RUN.set(picked)
    st.query_params["run"] = picked
