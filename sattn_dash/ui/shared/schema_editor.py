"""The schema editor: targets and their tasks, column roles with reasons, column groups.

Every edit calls one ``Schema.with_*`` method; a refused edit keeps the old schema and
shows why. Editors are drawn under versioned keys and redrawn after each edit, so what
they show is always the stored schema. Owns the schema keys in ``state``.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from sattn_dash.errors import UserError
from sattn_dash.tabular.schema import TASKS, Role, Schema
from sattn_dash.ui.shared import state
from sattn_dash.ui.shared.components import download_csv, user_error
from sattn_dash.ui.shared.editor_state import role_edits

ROLE_HELP = (
    "numeric, categorical, boolean and datetime columns feed the model; text, identifier, "
    "constant and excluded columns are left out; target marks a column to predict."
)


def _change(change: Callable[[Schema], Schema]) -> None:
    """Apply one edit to the stored schema, or keep it and remember why not."""
    try:
        schema = change(state.SCHEMA.get())
    except UserError as error:
        state.SCHEMA_ERROR.set(str(error))
    else:
        state.SCHEMA.set(schema)
        state.SCHEMA_ERROR.clear()
    _redraw()


def _redraw() -> None:
    """New keys for the editor's widgets, so they show the stored schema."""
    for key in (state.ROLE_EDITOR, state.TARGET_PICKER, state.TASK_PICKER):
        key.bump()


def use_schema(schema: Schema) -> None:
    """Edit ``schema`` from now on (a new table's inferred one), forgetting the last one."""
    state.SCHEMA.set(schema)
    state.SCHEMA_ERROR.clear()
    _redraw()


def _on_targets() -> None:
    names = st.session_state[state.TARGET_PICKER.versioned()]
    _change(lambda s: s.with_targets(names))


def _on_task(target: str) -> None:
    task = st.session_state[f"{state.TASK_PICKER.versioned()}.{target}"]
    _change(lambda s: s.with_task(target, task))


def _on_roles(frame) -> None:
    edits = role_edits(frame, st.session_state[state.ROLE_EDITOR.versioned()])

    def change(schema: Schema) -> Schema:
        for column, role in edits:
            schema = schema.with_role(column, role)
        return schema

    _change(change)


def _on_add_group() -> None:
    name = (st.session_state.get(state.GROUP_NAME.name) or "").strip()
    columns = st.session_state.get(state.GROUP_COLUMNS.name) or []
    _change(lambda s: s.with_group(name, columns))


def _on_remove_group(name: str) -> None:
    _change(lambda s: s.without_group(name))


def render_errors() -> None:
    if state.SCHEMA_ERROR.get():
        user_error(state.SCHEMA_ERROR.get())


def render_targets(schema: Schema) -> None:
    """Which columns to predict (several allowed) and each one's task."""
    st.multiselect(
        "Target column(s) to predict",
        schema.names,
        default=schema.target_names,
        key=state.TARGET_PICKER.versioned(),
        on_change=_on_targets,
        placeholder="Pick the column(s) the model should predict",
        help="Several targets train one model with one head per target.",
    )
    for target in schema.targets:
        cols = st.columns([2, 3], vertical_alignment="center")
        set_by_user = target.name in schema.task_overrides
        cols[0].selectbox(
            f"Task for **{target.name}**",
            TASKS,
            index=TASKS.index(target.task),
            key=f"{state.TASK_PICKER.versioned()}.{target.name}",
            on_change=_on_task,
            args=(target.name,),
            help="Detected from the values; change it if the detection is wrong.",
        )
        if target.classes:
            shown = ", ".join(
                f"{c} ({n:,})"
                for c, n in zip(target.classes[:8], target.class_counts[:8], strict=False)
            )
            more = f" and {len(target.classes) - 8} more" if len(target.classes) > 8 else ""
            detail = f"{len(target.classes)} classes: {shown}{more}"
        else:
            detail = "a number to predict"
        if target.n_missing_dropped:
            detail += f" · {target.n_missing_dropped:,} rows without a value are left out"
        cols[1].caption(("Set by you · " if set_by_user else "Detected · ") + detail)


def render_roles(schema: Schema) -> None:
    """The schema table: each column's role (editable) and the reason for it."""
    frame = schema.to_frame()
    st.data_editor(
        frame,
        key=state.ROLE_EDITOR.versioned(),
        hide_index=True,
        disabled=[c for c in frame.columns if c != "role"],
        on_change=_on_roles,
        args=(frame,),
        column_config={
            "name": st.column_config.TextColumn("Column", pinned=True),
            "role": st.column_config.SelectboxColumn(
                "Role", options=[r.value for r in Role], required=True, help=ROLE_HELP
            ),
            "reason": st.column_config.TextColumn("Why", width="large"),
            "dtype": st.column_config.TextColumn("Type"),
            "missing": st.column_config.NumberColumn("Missing", format="%d"),
            "unique": st.column_config.NumberColumn("Unique", format="%d"),
            "flags": st.column_config.TextColumn("Flags"),
        },
    )
    st.caption(f"Roles: {ROLE_HELP} Click a role to change it.")
    download_csv(frame, "schema", "Schema as CSV", what="the schema")


def render_groups(schema: Schema) -> None:
    """Named column groups: a branch can take a group as its input."""
    if schema.groups:
        for name, columns in schema.groups.items():
            cols = st.columns([6, 1], vertical_alignment="center")
            cols[0].markdown(f"**{name}**: {', '.join(columns)}")
            cols[1].button(
                "",
                icon=":material/delete:",
                key=f"{state.GROUP_NAME.name}.remove.{name}",
                help=f"Remove group {name}",
                on_click=_on_remove_group,
                args=(name,),
            )
    else:
        st.caption(
            "No groups yet. Group related columns (e.g. all lab values) to give each group "
            "its own branch with the *One branch per column group* preset."
        )
    with st.form(state.GROUP_NAME.name + ".form", clear_on_submit=True, border=False):
        # The button's column fits its label ("Add gr..." was cut at 1/8 of the width).
        cols = st.columns([2, 4, 2], vertical_alignment="bottom")
        cols[0].text_input("Group name", key=state.GROUP_NAME.name, placeholder="e.g. labs")
        cols[1].multiselect("Columns", schema.feature_columns, key=state.GROUP_COLUMNS.name)
        cols[2].form_submit_button("Add group", on_click=_on_add_group, icon=":material/add:")


def render_hints(schema: Schema) -> None:
    if not schema.hints:
        return
    warnings = [h for h in schema.hints if h.level == "warning"]
    label = f"{len(schema.hints)} note(s) about this table" + (
        f" · {len(warnings)} worth a look" if warnings else ""
    )
    with st.expander(label, expanded=bool(warnings), icon=":material/tips_and_updates:"):
        for hint in schema.hints:
            where = f"**{hint.column}**: " if hint.column else ""
            (st.warning if hint.level == "warning" else st.info)(where + hint.message)
