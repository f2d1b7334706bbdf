"""Train: settings, Start, and a live view of the run (reattaches with ?run=<id>)."""

import streamlit as st

from sattn_dash.modeling.combiners import combiner
from sattn_dash.ui.shared import pages, spec_editor, state
from sattn_dash.ui.shared.prepared import prepared_or_hint
from sattn_dash.ui.train import train_panel

st.title("Train")
run_id = train_panel.followed_run()
prepared = None
if run_id and state.TABLE.get() is None:
    # A refresh or a shared link: follow the run; a new one needs a table first.
    st.page_link(
        pages.DATA, label="Load a table to start another run", icon=":material/table_chart:"
    )
else:
    prepared = prepared_or_hint()
if prepared is not None:
    spec = spec_editor.ensure_spec(prepared)
    n = len(spec.branches)
    st.markdown(
        f"**Model:** {spec.name} · {n} branch{'es' if n != 1 else ''} · "
        f"combiner: {combiner(spec.combiner.kind).title} · targets: {', '.join(prepared.tasks)}"
    )
    st.page_link(
        pages.ARCHITECTURE, label="Change the architecture", icon=":material/account_tree:"
    )
    train_panel.render_settings(spec)
    train_panel.render_start(spec)
    run_id = train_panel.followed_run()
st.divider()
if run_id:
    train_panel.render_live(run_id)
elif prepared is not None:
    train_panel.render_nothing_followed()
