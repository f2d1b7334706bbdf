"""The user's work in progress, kept in the workspace and named in the address.

Streamlit forgets ``st.session_state`` on a refresh, in a second tab and behind a link,
so the table reference, the schema edits and the architecture are written to a draft in
the workspace (``sattn_dash.tabular.drafts``) whenever they change, and the draft's id rides in
``?work=``. A new session that finds ``?work=`` in its address restores the draft before
any page runs. Owns ``state.WORK_ID`` and ``state.WORK_SAVED``.
"""

from __future__ import annotations

import streamlit as st

from sattn_dash.errors import UserError
from sattn_dash.modeling.spec import ModelSpec
from sattn_dash.tabular import Schema, infer_schema
from sattn_dash.tabular.drafts import Draft, new_draft_id, valid_draft_id
from sattn_dash.ui.shared import data_source, spec_editor, state
from sattn_dash.ui.shared.sessions import drafts

PARAM = "work"


def _snapshot() -> dict | None:
    """What would be saved now (None before any table is loaded)."""
    ref, schema, spec = state.TABLE_REF.get(), state.SCHEMA.get(), state.SPEC.get()
    if ref is None:
        return None
    return {
        "table": ref,
        "schema": schema.to_dict() if schema is not None else None,
        "spec": spec.to_dict() if spec is not None else None,
        "preset": state.PRESET.get(),
    }


def restore() -> None:
    """Once per session: load the draft the address names, then keep the address on it."""
    if state.WORK_ID.get() is None:
        wanted = st.query_params.get(PARAM)
        draft = drafts().load(wanted) if valid_draft_id(wanted) else None
        if wanted and draft is None:
            data_source.report_error(
                "The saved work this link names is not in this workspace (it may have been "
                "made on another server). Load a table to start again."
            )
        if draft is not None:
            _apply(draft)
    if state.WORK_ID.get():
        st.query_params[PARAM] = state.WORK_ID.get()


def _apply(draft: Draft) -> None:
    state.WORK_ID.set(draft.draft_id)
    if draft.table is None:
        return
    try:
        table = drafts().read(draft.table)
        schema = Schema.from_dict(draft.schema) if draft.schema else infer_schema(table.df)
        spec = ModelSpec.from_dict(draft.spec) if draft.spec else None
    except (UserError, KeyError, TypeError, ValueError) as error:
        data_source.report_error(f"The saved work could not be restored: {error}")
        return
    data_source.use_table(table, draft.table.name, schema, draft.table)
    if spec is not None:
        spec_editor.use_spec(spec, draft.preset)
    state.WORK_SAVED.set(_snapshot())


def save() -> None:
    """Write the draft if the table, schema or architecture changed since the last save."""
    snapshot = _snapshot()
    if snapshot is None or snapshot == state.WORK_SAVED.get():
        return
    work_id = state.WORK_ID.get() or new_draft_id()
    drafts().save(
        Draft(
            work_id,
            snapshot["table"],
            snapshot["schema"],
            snapshot["spec"],
            snapshot["preset"],
        )
    )
    state.WORK_SAVED.set(snapshot)
    if state.WORK_ID.get() != work_id:
        state.WORK_ID.set(work_id)
        st.query_params[PARAM] = work_id
