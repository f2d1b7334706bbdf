"""The process-wide training queue and run store, shared by every tab.

Held in ``st.cache_resource`` keyed by the workspace folder, so all sessions of the
server see the same running jobs (and a test with its own workspace gets its own).
Both are handed out as the signed-in user sees them (``ui.shared.auth.user()``: every run when
sign-in is off). Nothing here imports TensorFlow: the store lists runs from JSON files.
"""

from __future__ import annotations

import streamlit as st

from sattn_dash.errors import RunError
from sattn_dash.tabular.drafts import DraftStore
from sattn_dash.training.registry import SessionRegistry
from sattn_dash.training.store import RunStore
from sattn_dash.ui.shared import auth
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
