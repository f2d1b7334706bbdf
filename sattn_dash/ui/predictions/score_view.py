"""Score a new file with the picked run (the Predictions page): upload a table, or name
one below the server's data root, see the first rows with their predictions and
download all of them. The scoring is ``analysis.new_rows.score_table``, the one
``sattn-dash predict`` runs, so the checks and messages are the same. A bad file shows
its reason and keeps the last result.

Owns the ``SCORE_*`` keys in ``state``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from sattn_dash.errors import UserError
from sattn_dash.ui.shared import state
from sattn_dash.ui.shared.components import about_file, download_csv, table, user_error
from sattn_dash.ui.shared.data_source import FILE_TYPES, server_path_box, upload_limit_bytes

if TYPE_CHECKING:
    from sattn_dash.training.run import Run


def _score(run_id: str, source, name: str) -> None:
    """Score `source` (an upload or a path text) with run `run_id`; keep the result, or
    the reason it was refused (the last result stays)."""
    from sattn_dash.analysis.new_rows.predictor import Predictor, score_table
    from sattn_dash.tabular.paths import data_root
    from sattn_dash.ui.shared import sessions

    keep = (st.session_state.get(state.SCORE_KEEP.name) or "").strip() or None
    try:
        if not isinstance(source, str) and source.size > upload_limit_bytes():
            raise UserError(f"{name} is larger than this server's upload limit.")
        predictor = Predictor.from_run(sessions.store().load(run_id))
        scored = score_table(predictor, source, keep=keep, root=data_root(), guarded=True)
    except UserError as error:
        state.SCORE_ERROR.set(about_file(name, error))
        return
    state.SCORE_ERROR.clear()
    state.SCORE_RESULT.set((run_id, name, scored))


def _score_upload(run_id: str) -> None:
    uploaded = st.session_state.get(state.SCORE_UPLOADER.name)
    if uploaded is not None:
        _score(run_id, uploaded, uploaded.name)


def _score_path(run_id: str) -> None:
    text = (st.session_state.get(state.SCORE_PATH.name) or "").strip()
    _score(run_id, text, text or "Server path")


def _rescore(run_id: str) -> None:
    """The id column changed: score the file already given again, so the id heads its
    rows (typed after the upload, it used to change nothing)."""
    result = state.SCORE_RESULT.get()
    if result is None or result[0] != run_id:
        return
    uploaded = st.session_state.get(state.SCORE_UPLOADER.name)
    if uploaded is not None and uploaded.name == result[1]:
        _score_upload(run_id)
    elif (st.session_state.get(state.SCORE_PATH.name) or "").strip() == result[1]:
        _score_path(run_id)


def render(run: Run) -> None:
    st.subheader("Score a new file")
    st.caption(
        "Rows with the columns this run's model reads (other columns are ignored; an id "
        "column can be kept). Unseen categories and empty cells are handled as in "
        "training. When the file has a target column, its metrics are shown too."
    )
    if run.status != "finished":
        st.caption(f"This run is {run.status}: only a finished run can score files.")
        return
    left, right = st.columns([3, 2], gap="large")
    with left:
        st.file_uploader(
            "CSV, TSV, Parquet, Excel or JSON",
            type=FILE_TYPES,
            key=state.SCORE_UPLOADER.name,
            on_change=_score_upload,
            args=(run.run_id,),
        )
        server_path_box(
            state.SCORE_PATH,
            lambda: _score_path(run.run_id),
            "Score",
            "…or score a file, folder or glob on the server",
        )
    with right:
        st.text_input(
            "Id column to keep (optional)",
            key=state.SCORE_KEEP.name,
            on_change=_rescore,
            args=(run.run_id,),
            help="Its values head each row of the predictions; without it, rows are "
            "numbered from 0 in file order.",
        )
    error = state.SCORE_ERROR.get()
    if error:
        user_error(error)
    result = state.SCORE_RESULT.get()
    if result is None or result[0] != run.run_id:
        return
    _, name, scored = result
    st.markdown(f"**{name}**: {scored.rows:,} rows scored.")
    for note in scored.notes:
        st.caption(note)
    if scored.metrics:
        from sattn_dash.analysis.reports.tidy import metrics_long

        metrics = metrics_long(scored.metrics).drop(columns="split")  # the file's rows
        table(metrics, f"scored_metrics_{run.run_id}", caption="Metrics on the file's rows.")
    st.dataframe(scored.head, hide_index=True)
    download_csv(
        scored.predictions,
        f"{run.run_id}-{name}-predictions",
        label="Download every prediction (CSV)",
        what="the predictions of every row",
    )
