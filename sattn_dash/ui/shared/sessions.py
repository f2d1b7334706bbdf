"""The process-wide training queue and run store, shared by every tab.

Held in ``st.cache_resource`` keyed by the workspace folder, so all sessions of the
server see the same running jobs (and a test with its own workspace gets its own).
Both are handed out as the signed-in user sees them (``ui.shared.auth.user()``: every run when
sign-in is off). Nothing here imports TensorFlow: the store lists runs from JSON files.

The run this tab follows (``st.query_params["run"]`` and ``state.CURRENT_RUN``, owned
here) is set by starting or resuming a run and dropped when that run is deleted.
"""

from __future__ import annotations

import streamlit as st

from sattn_dash.errors import RunError
from sattn_dash.tabular.drafts import DraftStore
from sattn_dash.training.registry import SessionRegistry
from sattn_dash.training.store import RunStore
from sattn_dash.ui.shared import auth, state
from sattn_dash.workspace import default_workspace


@st.cache_resource(show_spinner=False)
def _registry(workspace: str) -> SessionRegistry:
    return SessionRegistry(RunStore(workspace))


def registry() -> SessionRegistry:
    """The training queue of this server for the current workspace, as this browser's
    user sees it (their sessions only; new runs recorded as theirs)."""
    return _registry(str(default_workspace().resolve())).for_user(auth.user())


def store() -> RunStore:
    return registry().store


def drafts() -> DraftStore:
    """Users' work in progress and uploaded tables, in the same workspace as the runs."""
    return DraftStore(default_workspace())


def run_exists(run_id: str | None) -> bool:
    if not run_id:
        return False
    try:
        store().info(run_id)
    except RunError:
        return False
    return True


def followed_run() -> str | None:
    """The run this tab follows: ``?run=`` wins (refresh, shared link), then the session."""
    from_url = st.query_params.get("run")
    if from_url and run_exists(from_url):
        state.CURRENT_RUN.set(from_url)
        return from_url
    current = state.CURRENT_RUN.get()
    if current and run_exists(current):
        st.query_params["run"] = current
        return current
    return None


def follow(run_id: str) -> None:
    """Follow ``run_id`` in this tab (and in its address, so a refresh reattaches)."""
    state.CURRENT_RUN.set(run_id)
    st.query_params["run"] = run_id


def unfollow(run_id: str) -> None:
    """Stop following ``run_id`` (it was deleted), if this tab followed it."""
    if st.query_params.get("run") == run_id:
        del st.query_params["run"]
    if state.CURRENT_RUN.get() == run_id:
        state.CURRENT_RUN.clear()
