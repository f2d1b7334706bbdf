"""Analysis results of a run, computed once and kept (per run and parameters).

A trained model is loaded once per process (``st.cache_resource``) and every analysis
function handed in (one of ``sattn_dash.analysis``'s ``*_for_run``, passed as the
function itself) runs under that run's lock, because a temperature what-if briefly
changes the model's temperature. Results are cached with ``st.cache_data`` keyed by the
function's qualified name, the run folder, the model file's time and the parameters.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from sattn_dash.errors import UserError
from sattn_dash.training.run import Run
from sattn_dash.ui.shared.components import user_error

if TYPE_CHECKING:
    import keras

RunAnalysis = Callable[..., pd.DataFrame]
"""An analysis of a stored run: ``function(run, **params)`` -> a table."""


@dataclass
class LoadedRun:
    run: Run
    lock: threading.Lock


@st.cache_resource(max_entries=4, show_spinner="Loading the trained model…")
def _load(path: str, stamp: float, _run: Run) -> LoadedRun:
    _run.model  # noqa: B018 - load the Keras model now, once, under the spinner
    return LoadedRun(_run, threading.Lock())


def loaded(run: Run) -> LoadedRun:
    return _load(str(run.path), run.model_stamp, run)


@st.cache_data(max_entries=128, show_spinner="Computing…")
def _compute(
    name: str, path: str, stamp: float, params: str, _function: RunAnalysis, _loaded: LoadedRun
) -> pd.DataFrame:
    with _loaded.lock:
        return _function(_loaded.run, **json.loads(params))


def compute(function: RunAnalysis, run: Run, **params) -> pd.DataFrame:
    """``function(run, **params)`` (one of ``sattn_dash.analysis``'s ``*_for_run``),
    cached. The cache key is the function's qualified name, the run and the parameters.
    Raises what it raises (``SpecError`` when the run's model cannot answer that
    question)."""
    return _compute(
        f"{function.__module__}.{function.__qualname__}",
        str(run.path),
        run.model_stamp,
        json.dumps(params, sort_keys=True),
        function,
        loaded(run),
    )


def compute_or_explain(function: RunAnalysis, run: Run, **params) -> pd.DataFrame | None:
    """``compute``, with a user's mistake (a question this run's model cannot answer)
    shown in the page instead of raised; None then."""
    try:
        return compute(function, run, **params)
    except UserError as error:
        user_error(error)
        return None


def model(run: Run) -> tuple[keras.Model, threading.Lock]:
    """The run's Keras model (loaded once per process) and its lock."""
    entry = loaded(run)
    return entry.run.model, entry.lock
