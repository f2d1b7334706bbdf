"""Per-row explanations computed in a worker thread, one job per run and settings.

The page starts a job and polls it; the job writes its tables into the run folder
(``analysis.attributions.explanations``), so once it is done every tab and every later session reads
them from there. Jobs live in ``st.cache_resource``: all sessions of the server share
them, and a second tab asking for the same explanation follows the running job instead
of starting another.
"""

from __future__ import annotations

import streamlit as st

from sattn_dash.ui.shared.analysis_cache import LoadedRun
from sattn_dash.ui.shared.jobs import Job


@st.cache_resource(show_spinner=False)
def _jobs() -> dict[tuple, Job]:
    return {}


def _key(loaded: LoadedRun, split: str, rows: int, steps: int) -> tuple:
    return (str(loaded.run.path), split, int(rows), int(steps))


def job(loaded: LoadedRun, split: str, rows: int, steps: int) -> Job | None:
    return _jobs().get(_key(loaded, split, rows, steps))


def start(loaded: LoadedRun, split: str, rows: int, steps: int) -> Job:
    """Start (or return the running) job explaining ``rows`` rows of ``split``."""
    key = _key(loaded, split, rows, steps)
    jobs = _jobs()
    if key in jobs and jobs[key].running:
        return jobs[key]
    task = Job()

    def work() -> None:
        from sattn_dash.analysis.attributions.explanations import explanations_for_run

        with loaded.lock:
            explanations_for_run(loaded.run, split, rows, steps, progress=task.report)

    jobs[key] = task
    task.start_thread(work, f"explain-{key[0]}", "Explaining failed")
    return task
