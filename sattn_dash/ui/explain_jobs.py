"""Per-row explanations computed in a worker thread, one job per run and settings.

The page starts a job and polls it; the job writes its tables into the run folder
(``analysis.explanations``), so once it is done every tab and every later session reads
them from there. Jobs live in ``st.cache_resource``: all sessions of the server share
them, and a second tab asking for the same explanation follows the running job instead
of starting another.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import streamlit as st

from sattn_dash.errors import UserError
from sattn_dash.ui.analysis_cache import LoadedRun


@dataclass
class Job:
    """One explanation being computed: progress 0..1, a line of text, the outcome."""

    progress: float = 0.0
    message: str = "starting"
    error: str | None = None
    done: bool = False
    thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def running(self) -> bool:
        return not self.done

    def start_thread(self, work: Callable[[], None], name: str, failure: str) -> None:
        """Run ``work`` in a daemon thread; what it raises becomes ``error`` (a user's
        mistake as its message, anything else after ``failure``), then ``done``."""

        def guarded() -> None:
            try:
                work()
            except UserError as error:
                self.error = str(error)
            except Exception as error:  # noqa: BLE001 - shown in the page, not lost in a thread
                self.error = f"{failure}: {type(error).__name__}: {error}"
            finally:
                self.done = True

        self.thread = threading.Thread(target=guarded, name=name, daemon=True)
        self.thread.start()


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

    def progress(share: float, message: str) -> None:
        task.progress, task.message = max(task.progress, min(share, 1.0)), message

    def work() -> None:
        from sattn_dash.analysis.explanations import explanations_for_run

        with loaded.lock:
            explanations_for_run(loaded.run, split, rows, steps, progress=progress)

    jobs[key] = task
    task.start_thread(work, f"explain-{key[0]}", "Explaining failed")
    return task
