"""Architecture: pick a preset, edit branches and the combiner, see the diagram."""

import streamlit as st

from sattn_dash.ui.architecture import architecture_view
from sattn_dash.ui.shared import pages, spec_editor
from sattn_dash.ui.shared.prepared import require_prepared

st.title("Architecture")
prepared = require_prepared()
spec = spec_editor.ensure_spec(prepared)
spec_editor.render_error()

editor, preview = st.columns([3, 2], gap="large")
with editor:
    with st.expander("Start from a preset", expanded=True, icon=":material/auto_awesome:"):
        spec_editor.render_presets(prepared)
    st.subheader("Branches")
    spec_editor.render_branches(prepared, spec)
    st.subheader("Combiner")
    spec_editor.render_combiner(prepared, spec)
    st.subheader("Heads and optimizer")
    spec_editor.render_heads(prepared, spec)
    spec_editor.render_optimizer(prepared, spec)
with preview:
    st.subheader("Diagram")
    architecture_view.render_diagram(spec, prepared)
    st.subheader("Save or share")
    architecture_view.render_downloads(spec, prepared)
    spec_editor.render_spec_upload(prepared)
    st.page_link(pages.TRAIN, label="Train this model", icon=":material/play_arrow:")
    st.subheader("Parameters")
    architecture_view.render_parameters(spec, prepared)
