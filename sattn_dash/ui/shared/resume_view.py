"""The Resume button of an interrupted run (Train and Runs pages).

Deciding whether a run can be resumed reads only its status and checkpoint folder
(``training.resume.why_not_resumable``, no TensorFlow). Pressing Resume queues the run
in the registry, where it carries on from its checkpoint like any training job; this
tab then follows it (``?run=``).
"""

from __future__ import annotations

import streamlit as st

from sattn_dash.errors import UserError
from sattn_dash.training.resume import why_not_resumable
from sattn_dash.ui.shared import sessions, state
from sattn_dash.ui.shared.components import user_error


def _resume(run_id: str) -> None:
    try:
        sessions.registry().resume(run_id)
    except UserError as error:
        state.RESUME_ERROR.set((run_id, str(error)))
        return
    state.RESUME_ERROR.clear()
    sessions.follow(run_id)


def render(run_id: str, epochs_run: int, epochs: int | None, where: str) -> None:
    """For an interrupted run: what happened and a Resume button, or why it cannot."""
    reason = why_not_resumable(sessions.store(), run_id)
    of = f" of {epochs}" if epochs else ""
    if reason is None:
        st.warning(
            f"The process training this run stopped after epoch {epochs_run}{of} (killed, "
            "out of memory or a restart). Resume carries on from its last checkpoint: the "
            "same run, with the weights an uninterrupted run would reach.",
            icon=":material/warning:",
        )
        st.button(
            "Resume",
            type="primary",
            icon=":material/replay:",
            on_click=_resume,
            args=(run_id,),
            key=f"{state.RESUME_WIDGET.name}.{where}.{run_id}",
        )
    else:
        st.caption(reason)
    refused = state.RESUME_ERROR.get()
    if refused and refused[0] == run_id:
        user_error(refused[1])
