"""The sidebar on every page: runs training right now, with a link back to them."""

from __future__ import annotations

import streamlit as st

from sattn_dash.ui.shared import pages, sessions

POLL_SECONDS = 2.0


def render_active_runs() -> None:
    """A small live list of queued and running sessions (polls only while there are any)."""
    busy = bool(sessions.registry().active())

    @st.fragment(run_every=POLL_SECONDS if busy else None)
    def active_runs() -> None:
        # One container always drawn first, so a finished job's stale rows vanish at once.
        box = st.container()
        active = sessions.registry().active()
        if not active:
            if busy:
                st.rerun()  # the last one ended: stop polling
            return
        box.caption("Training now")
        for session in active:
            status = session.status()
            label = f"{session.run_id[-6:]} · {status.state}"
            if status.epochs:
                label += f" · epoch {status.epoch}/{status.epochs}"
            box.progress(status.progress, text=label)
            box.page_link(
                pages.TRAIN,
                label="Follow",
                query_params={"run": session.run_id},
                icon=":material/monitoring:",
            )

    with st.sidebar:
        active_runs()
