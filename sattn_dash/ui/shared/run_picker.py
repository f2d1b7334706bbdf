"""Pick the trained run an analysis page reads: ``?run=`` first (a link, a refresh), then
the run this tab last trained or picked (on any page), then the newest. Only runs with a
saved model are offered. Owns ``state.PICKED_RUN``; the Train page tells it about a run
it starts or is sent to with :func:`follow`, so the sidebar's links (which drop
``?run=``) open that run, not one picked before it.

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
    if st.query_params.get("run") in ids:
        follow(st.query_params["run"])
    picked = state.PICKED_RUN.get()
    # A run this tab trains is not offered until it ends: the newest until then, kept
    # out of the URL so that the trained run still wins when it is done.
    training = picked not in ids and sessions.run_exists(picked)
    wanted = picked if picked in ids else ids[0]
    st.session_state[state.RUN_PICKER.name] = wanted
    run_id = st.selectbox(
        "Run",
        ids,
        format_func=lambda i: f"{titles[i]} · {i}",
        key=state.RUN_PICKER.name,
        on_change=_on_pick,
        help="Trained runs of this workspace, newest first.",
    )
    if not training:
        st.query_params["run"] = run_id
    return sessions.store().load(run_id)


def follow(run_id: str) -> None:
    """Make ``run_id`` the run every analysis page opens (a run just trained, picked or
    linked to), until another one is."""
    state.PICKED_RUN.set(run_id)


def _on_pick() -> None:
    picked = st.session_state[state.RUN_PICKER.name]
    follow(picked)
    st.query_params["run"] = picked
