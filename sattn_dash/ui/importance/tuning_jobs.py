"""A LightGBM tuned by Optuna for a run's baselines, in a worker thread.

One job per run and number of trials, kept in ``st.cache_resource``: every session of
the server shares them, so a refresh or a second tab follows the running job instead of
starting another. The worker makes no Streamlit calls; the page polls the job's status.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from sattn_dash.ui.shared.analysis_cache import LoadedRun
from sattn_dash.ui.shared.jobs import Job


@dataclass
class TuningJob(Job):
    """A tuning: the status of ``Job`` and, once done, the tuned model's rows
    (``analysis.tuned_lightgbm``'s table)."""

    result: pd.DataFrame | None = None


@st.cache_resource(show_spinner=False)
def _jobs() -> dict[tuple, TuningJob]:
    return {}


def _key(loaded: LoadedRun, trials: int) -> tuple:
    return (str(loaded.run.path), int(trials))


def job(loaded: LoadedRun, trials: int) -> TuningJob | None:
    return _jobs().get(_key(loaded, trials))


def start(loaded: LoadedRun, trials: int) -> TuningJob:
    """Start (or return the running or finished) tuning of ``trials`` trials."""
    key = _key(loaded, trials)
    jobs = _jobs()
    if key in jobs and (jobs[key].running or jobs[key].error is None):
        return jobs[key]
    task = TuningJob()

    def work() -> None:
        from sattn_dash.analysis import tuned_lightgbm_for_run

        task.result = tuned_lightgbm_for_run(loaded.run, trials, progress=task.report)

    jobs[key] = task
    task.start_thread(work, f"tune-{key[0]}", "Tuning failed")
    return task
