"""Home page parts: the quick start and the workspace at a glance."""

from __future__ import annotations

import os
import sys
from collections import Counter

import streamlit as st

from sattn_dash.ui.shared import pages, sessions

QUICK_SAMPLE = "synthetic_groups"
QUICK_PRESET = "per_group"


def quick_start() -> None:
    """Load the sample with known structure and the per-group preset, then go to Train.

    Imported here, on the click: reading tables and model specs is not needed to show Home.
    """
    from sattn_dash.ui.shared import data_source, spec_editor
    from sattn_dash.ui.shared.prepared import current_prepared

    data_source.load_sample_table(QUICK_SAMPLE)

    spec_editor.use_preset(QUICK_PRESET, current_prepared())


def devices_line() -> str:
    """CPU cores, and the GPUs when TensorFlow is already loaded (listing them would load it)."""
    cpu = f"CPU ({os.cpu_count() or 1} cores)"
    if "tensorflow" not in sys.modules:
        return f"{cpu} · GPUs are listed on the Train page"
    from sattn_dash.training.devices import list_devices

    gpus = [d.description for d in list_devices() if d.kind == "gpu"]
    return " · ".join([cpu, *gpus]) if gpus else f"{cpu} · no GPU visible"


def render_workspace() -> None:
    store = sessions.store()
    runs = store.list()
    by_status = Counter(r.status for r in runs)
    active = sessions.registry().active()
    cols = st.columns(3)
    cols[0].metric("Runs in workspace", len(runs), help=f"Stored in {store.root}")
    cols[1].metric("Training now", len(active))
    cols[2].metric("Finished runs", by_status.get("finished", 0))
    st.caption(f"Workspace: `{store.workspace}` · Devices: {devices_line()}")
    if runs:
        st.markdown("**Recent runs**")
        for run in runs[:5]:
            st.page_link(
                pages.RUNS if run.status != "running" else pages.TRAIN,
                label=f"{run.title} · {run.status} · {', '.join(run.targets)}",
                query_params={"run": run.run_id},
                icon=":material/history:",
            )
