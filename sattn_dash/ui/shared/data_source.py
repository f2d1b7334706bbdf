"""Where the table comes from: an upload, a bundled sample, or a path on the server
(only below the data root whoever runs the server chose).

Owns the data keys in ``state``. A bad file leaves the previous table (if any) in place
and the reason on screen, so the session stays usable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from sattn_dash.errors import UserError
from sattn_dash.tabular import (
    SAMPLES,
    LoadedTable,
    ReadLimits,
    infer_schema,
    load_sample,
    read_info,
    read_table,
)
from sattn_dash.tabular.drafts import TableRef
from sattn_dash.ui.shared import prepared, schema_editor, sessions, spec_editor, state
from sattn_dash.ui.shared.components import about_file, user_error

if TYPE_CHECKING:
    import pandas as pd

    from sattn_dash.tabular.schema import Schema
    from sattn_dash.training.run import Run

FILE_TYPES = ["csv", "tsv", "txt", "parquet", "xlsx", "json", "jsonl", "gz", "bz2", "xz", "zst"]


def upload_limit_bytes() -> int:
    """The upload limit from `.streamlit/config.toml` (server.maxUploadSize, in MB)."""
    return int(st.get_option("server.maxUploadSize")) * 1024 * 1024


def limits_line() -> str:
    """What this server accepts, in one line under the upload box."""
    return (
        f"Limits on this server: {st.get_option('server.maxUploadSize')} MB per file, "
        f"{ReadLimits().describe()}."
    )


def use_table(table, name: str, schema: Schema, ref: TableRef) -> None:
    """Make ``table`` (a frame, or a ``LoadedTable`` of a server path, which may stream)
    the session's table; everything built on the old one is dropped. ``ref`` says where
    it came from, so the saved work can read it again."""
    loaded = table if isinstance(table, LoadedTable) else None
    state.TABLE.set(loaded.df if loaded else table)
    state.STREAM.set(loaded)
    state.TABLE_NAME.set(name)
    state.TABLE_REF.set(ref)
    state.SAMPLE_NAME.set(ref.sample)
    state.TABLE_VERSION.set(state.TABLE_VERSION.get() + 1)
    state.UPLOAD_ERROR.clear()
    schema_editor.use_schema(schema)
    prepared.forget()
    spec_editor.forget()


def run_table(run: Run) -> pd.DataFrame | None:
    """The session's table when it is the one this run was trained on."""
    from sattn_dash.tabular import data_hash

    df = state.TABLE.get()
    if df is None:
        return None
    return df if data_hash(df) == run.prepared.data_hash else None


def report_error(message: str) -> None:
    """Say above the loaders why a table could not be loaded (until the next table)."""
    state.UPLOAD_ERROR.set(message)


def streamed_table() -> LoadedTable | None:
    """The session's table as a `LoadedTable` when it streams (too large to hold), else
    None: then only its seeded sample is in memory."""
    loaded = state.STREAM.get()
    return loaded if loaded is not None and loaded.stream is not None else None


def load_sample_table(name: str) -> None:
    """Load a bundled sample with its targets and groups already chosen."""
    info = SAMPLES[name]
    df = load_sample(name)
    schema = infer_schema(df, targets=list(info.targets), groups=dict(info.groups) or None)
    use_table(df, info.title, schema, TableRef(info.title, sample=name))


def _read_upload(sheet: str | None = None) -> None:
    uploaded = st.session_state.get(state.UPLOADER.name)
    if uploaded is None:
        return  # the user removed the file from the widget; keep the table
    try:
        limits = ReadLimits(max_bytes=upload_limit_bytes())
        df = read_table(uploaded, uploaded.name, sheet=sheet, limits=limits)
        schema = infer_schema(df)
    except UserError as error:
        state.UPLOAD_ERROR.set(about_file(uploaded.name, error))
        return
    info = read_info(df)
    several = info is not None and len(info.sheets) > 1
    shown = uploaded.name + (f" (sheet {info.sheet})" if several else "")
    digest = sessions.drafts().put_table(uploaded.getvalue(), uploaded.name)
    ref = TableRef(shown, digest, uploaded.name, sheet=info.sheet if several else None)
    use_table(df, shown, schema, ref)


def _read_server_path() -> None:
    """Read the path typed in the server-path box (only below the data root)."""
    from sattn_dash.tabular.paths import data_root
    from sattn_dash.tabular.stream import read_path_table

    text = st.session_state.get(state.PATH_INPUT.name) or ""
    try:
        table = read_path_table(text, data_root())
        schema = infer_schema(table.df)
    except UserError as error:
        state.UPLOAD_ERROR.set(about_file(text.strip() or "Server path", error))
        return
    use_table(table, text.strip(), schema, TableRef(text.strip(), path=text.strip()))


def _render_server_path() -> None:
    server_path_box(
        state.PATH_INPUT, _read_server_path, "Read", "…or read a file, folder or glob on the server"
    )


def server_path_box(key: state.Key, on_read, button: str, title: str) -> None:
    """A text box for a Parquet/CSV file, folder or glob below the data root, and a
    button calling `on_read` (the Data page reads its table with it, the Predictions
    page scores one); says why when the server reads no paths."""
    from sattn_dash.tabular.paths import DATA_ROOT_ENV, data_root

    root = data_root()
    typed = bool(st.session_state.get(key.name))
    with st.expander(title, expanded=typed):
        if root is None:
            st.caption(
                "Off on this server: reading server paths needs a data folder chosen by "
                f"whoever runs it (`{DATA_ROOT_ENV}=/path/to/data streamlit run app.py`), "
                "so that a public app cannot be made to read other files."
            )
            return
        st.text_input(
            "Path inside the data folder",
            key=key.name,
            placeholder="sales/2024/ or sales/*.parquet or train.csv.gz",
            help="A Parquet or CSV file (also .gz, .bz2, .xz, .zst), a folder of them, or a "
            "glob (** for subfolders). Several files are read as one table.",
        )
        st.caption(f"Data folder: `{root}`. Only files below it can be read.")
        st.button(button, on_click=on_read, icon=":material/folder_open:")


def _read_sheet() -> None:
    _read_upload(sheet=st.session_state.get(state.SHEET.name))


def _load_picked_sample() -> None:
    load_sample_table(st.session_state[state.SAMPLE_PICKER.name])


def render() -> None:
    """Upload box and sample picker side by side, then the current table's name."""
    left, right = st.columns(2, gap="large")
    with left:
        st.subheader("Upload a table")
        st.file_uploader(
            "CSV, TSV, Parquet, Excel or JSON (CSV may be .gz, .bz2, .xz or .zst)",
            type=FILE_TYPES,
            key=state.UPLOADER.name,
            on_change=_read_upload,
            help="The first row holds the column names.",
        )
        st.caption(limits_line())
        info = read_info(state.TABLE.get()) if state.TABLE.get() is not None else None
        if info is not None and len(info.sheets) > 1 and state.SAMPLE_NAME.get() is None:
            st.selectbox(
                "Sheet",
                info.sheets,
                index=info.sheets.index(info.sheet) if info.sheet in info.sheets else 0,
                key=state.SHEET.name,
                on_change=_read_sheet,
            )
    with right:
        st.subheader("…or start from a sample")
        names = list(SAMPLES)
        st.selectbox(
            "Sample",
            names,
            format_func=lambda n: SAMPLES[n].title,
            key=state.SAMPLE_PICKER.name,
        )
        picked = st.session_state.get(state.SAMPLE_PICKER.name) or names[0]
        st.caption(SAMPLES[picked].description)
        st.button("Load sample", on_click=_load_picked_sample, icon=":material/dataset:")
    _render_server_path()
    if state.UPLOAD_ERROR.get():
        user_error(state.UPLOAD_ERROR.get())
        if state.TABLE.get() is not None:
            st.caption(f"Still using the previous table: {state.TABLE_NAME.get()}.")
