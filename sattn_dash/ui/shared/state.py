"""Every session-state key the app uses, as a named constant with its default.

Pages and components never spell a key as a string: they use these constants, so a
reader can see in one place what the app remembers between reruns. Each key names the
component that owns it (the only one that writes it); others only read.

This module imports Streamlit but never TensorFlow, so every page may use it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import streamlit as st


@dataclass(frozen=True)
class Key:
    """One session-state entry: its name, its default and the component that owns it."""

    name: str
    owner: str
    default: Callable[[], Any] = lambda: None
    doc: str = ""

    def get(self) -> Any:
        if self.name not in st.session_state:
            return self.default()
        return st.session_state[self.name]

    def set(self, value: Any) -> None:
        st.session_state[self.name] = value

    def clear(self) -> None:
        st.session_state.pop(self.name, None)

    def versioned(self) -> str:
        """A widget key that changes when ``bump`` is called, to reset that widget."""
        return f"{self.name}.v{st.session_state.get(self.name + '.version', 0)}"

    def bump(self) -> None:
        st.session_state[self.name + ".version"] = (
            st.session_state.get(self.name + ".version", 0) + 1
        )


# Data (owner: sattn_dash.ui.shared.data_source)
TABLE = Key("data.table", "data_source", doc="the loaded pandas DataFrame, or None")
TABLE_NAME = Key("data.table_name", "data_source", doc="file name or sample title")
TABLE_VERSION = Key("data.table_version", "data_source", lambda: 0, "bumped per new table")
SAMPLE_NAME = Key("data.sample_name", "data_source", doc="sample key when a sample is loaded")
TABLE_REF = Key("data.table_ref", "data_source", doc="drafts.TableRef: where the table came from")
STREAM = Key(
    "data.stream", "data_source", doc="tabular.stream.LoadedTable of a server path, or None"
)
UPLOAD_ERROR = Key("data.upload_error", "data_source", doc="message of the last bad upload")
UPLOADER = Key("data.uploader", "data_source", doc="file_uploader widget")
SHEET = Key("data.sheet", "data_source", doc="Excel sheet selectbox widget")
SAMPLE_PICKER = Key("data.sample_picker", "data_source", doc="sample selectbox widget")
PATH_INPUT = Key("data.path", "data_source", doc="text_input of a server path to read")

# Schema (owner: sattn_dash.ui.shared.schema_editor)
SCHEMA = Key("data.schema", "schema_editor", doc="the Schema the user has confirmed")
SCHEMA_ERROR = Key("data.schema_error", "schema_editor", doc="message of the last bad edit")
ROLE_EDITOR = Key("data.role_editor", "schema_editor", doc="data_editor over the schema")
TARGET_PICKER = Key("data.targets", "schema_editor", doc="multiselect of target columns")
TASK_PICKER = Key("data.task", "schema_editor", doc="prefix of one task selectbox per target")
GROUP_NAME = Key("data.group_name", "schema_editor", doc="text_input for a new group")
GROUP_COLUMNS = Key("data.group_columns", "schema_editor", doc="multiselect for a new group")
PROFILE_COLUMN = Key("data.profile_column", "data_profile", doc="column shown as distribution")
PREVIEW_PAGE = Key("data.preview_page", "data_profile", doc="page of columns in the preview")

# Prepared data (owner: sattn_dash.ui.shared.prepared)
PREPARED = Key("data.prepared", "prepared", doc="(fingerprint, PreparedData) cache")

# Architecture (owner: sattn_dash.ui.shared.spec_editor)
SPEC = Key("arch.spec", "spec_editor", doc="the ModelSpec the user is editing")
PRESET = Key("arch.preset", "spec_editor", doc="preset name the spec started from")
SPEC_ERROR = Key("arch.spec_error", "spec_editor", doc="message of the last bad spec edit")
SPEC_UPLOADER = Key("arch.spec_uploader", "spec_editor", doc="file_uploader for spec JSON")
PRESET_PICKER = Key("arch.preset_picker", "spec_editor", doc="preset radio widget")

# Work kept in the workspace (owner: sattn_dash.ui.shared.work)
WORK_ID = Key("work.id", "work", doc="id of this user's draft in the workspace (also ?work=)")
WORK_SAVED = Key("work.saved", "work", doc="what the draft held when last written")

# The run this tab follows (owner: sattn_dash.ui.shared.sessions)
CURRENT_RUN = Key("train.run", "sessions", doc="run id this tab follows (also ?run=)")

# Training (owner: sattn_dash.ui.train.train_panel)
MY_RUNS = Key("train.my_runs", "train_panel", list, "run ids this tab started")
TRAIN_ERROR = Key("train.error", "train_panel", doc="message of the last refused start")
TRAIN_WIDGET = Key("train.form", "train_panel", doc="prefix of training-setting widgets")
RESUME_ERROR = Key("train.resume_error", "resume_view", doc="(run id, why Resume was refused)")
RESUME_WIDGET = Key("train.resume", "resume_view", doc="prefix of the Resume buttons")

# Analysis pages (owner: sattn_dash.ui.shared.run_picker, importance_view, attention_view)
RUN_PICKER = Key("analysis.run_picker", "run_picker", doc="selectbox of finished runs")
PICKED_RUN = Key("analysis.picked_run", "run_picker", doc="run trained or picked last, on any page")
TEMPERATURE = Key("importance.temperature", "importance_view", doc="what-if slider")
IMPORTANCE_WIDGET = Key("importance.widget", "importance_view", doc="prefix of its widgets")
ROW_MODE = Key("attention.row_mode", "attention_view", doc="how rows are picked")
ROW_WIDGET = Key("attention.rows", "attention_view", doc="prefix of row-picker widgets")
WHAT_IF_EDITOR = Key("attention.what_if", "attention_view", doc="data_editor of one row")

# Predictions page (owner: sattn_dash.ui.predictions.predictions_view)
PREDICTIONS_WIDGET = Key("predictions.widget", "predictions_view", doc="prefix of its widgets")
THRESHOLD = Key("predictions.threshold", "predictions_view", doc="decision threshold slider")
EXPLAIN_EDITOR = Key("predictions.what_if", "predictions_view", doc="data_editor of one row")
SCORE_UPLOADER = Key(
    "predictions.score_upload", "score_view", doc="file_uploader of a table to score"
)
SCORE_PATH = Key("predictions.score_path", "score_view", doc="text_input of a server path to score")
SCORE_KEEP = Key("predictions.score_keep", "score_view", doc="text_input of the id column to keep")
SCORE_RESULT = Key(
    "predictions.scored", "score_view", doc="(run id, name, analysis.new_rows.Scored)"
)
SCORE_ERROR = Key("predictions.score_error", "score_view", doc="message of the last refused file")

# Runs page (owner: sattn_dash.ui.runs.runs_view)
COMPARE = Key("runs.compare", "compare_view", doc="multiselect of runs to compare")
COMPARE_EVERY_FIELD = Key(
    "runs.compare_every_field", "compare_view", doc="show every setting, not only differences"
)
RUNS_WIDGET = Key("runs.widget", "runs_view", doc="prefix of rename/delete widgets")
RUNS_MESSAGE = Key("runs.message", "runs_view", doc="confirmation after rename/delete")

# Sign-in (owner: sattn_dash.ui.shared.auth)
SIGN_IN = Key("auth.sign_in", "auth", doc="prefix of the sign-in buttons, one per provider")
SIGN_OUT = Key("auth.sign_out", "auth", doc="the sign-out button")

# Search page (owner: sattn_dash.ui.search.search_view)
STUDY = Key("search.study", "search_view", doc="study this tab follows (also ?study=)")
SEARCH_ERROR = Key("search.error", "search_view", doc="message of the last refused start")
SEARCH_WIDGET = Key("search.form", "search_view", doc="prefix of search widgets")

ALL_KEYS: tuple[Key, ...] = tuple(v for v in list(globals().values()) if isinstance(v, Key))
