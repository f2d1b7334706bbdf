"""One worker of a study: ask Optuna for a trial, train it as a run, tell the result.

Every trial is a ``TrainingSession`` (the one fit path), so it is a run in the run store
like any other, tagged with its study in ``search.json``. The trial records its owner
(host, process, start time) the moment it is asked for, and a heartbeat; a worker that
starts reaps the running trials whose owner is gone (a killed process) as failed, outcome
``interrupted``, so their places are run again at once. A trial whose run had finished
when its worker died is told complete with that run's result instead: it is not trained
again.

Stopping: ``stop`` (a ``threading.Event``) or Ctrl-C asks the current trial to stop after
its batch; that trial is told as failed with outcome ``stopped`` (it is not a fair
sample of its settings) and is run again when the study resumes.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from sattn_dash.errors import DiskFullError, SpecError
from sattn_dash.files import read_json, write_json
from sattn_dash.search.background import LEGACY_TABLE_SUFFIX
from sattn_dash.search.processes import available_cores
from sattn_dash.search.space import sample
from sattn_dash.search.study import (
    AUTO_METRIC,
    SearchError,
    StudySettings,
    counts,
    shown_url,
    trial_log_name,
)
from sattn_dash.training import owner
from sattn_dash.training.config import split_arguments

if TYPE_CHECKING:
    from sattn_dash.tabular.options import PrepareOptions
    from sattn_dash.tabular.prepared import PreparedData
    from sattn_dash.tabular.schema import Schema
    from sattn_dash.training.run import Run
    from sattn_dash.training.store import RunStore

log = logging.getLogger(__name__)

HEARTBEAT_EVERY_S = 30.0
# A worker records its trial's owner right after asking for it; a trial with no owner
# this long after it began was asked for by a process that died in between.
UNCLAIMED_GRACE_S = 5.0
MAX_FAILURES_IN_A_ROW = 3
TAG_FILE = "search.json"


@dataclass(frozen=True)
class SearchData:
    """The table a study searches on, prepared once per worker with the study's seed
    (and once more for each numeric scaling a trial picks: ``prepared_for``)."""

    df: pd.DataFrame
    schema: Schema
    prepared: PreparedData
    name: str
    _by_options: dict = field(default_factory=dict, compare=False, repr=False)

    def prepared_for(self, options: PrepareOptions) -> PreparedData:
        """The table prepared with ``options`` (same seed and splits), kept for reuse."""
        from sattn_dash.tabular import prepare

        if options == self.prepared.options:
            return self.prepared
        if options not in self._by_options:
            self._by_options[options] = prepare(
                self.df, self.schema, **split_arguments(self.prepared), options=options
            )
        return self._by_options[options]


def read_study_table(path: str | Path) -> pd.DataFrame:
    """The study's table: a user's file (any format ``read_table`` reads) or the Parquet
    copy the app saved beside the study. Pickles are never opened."""
    from sattn_dash.tabular import read_table

    path = Path(path)
    refuse_legacy_table(path)
    if not path.is_file():
        raise SearchError(
            f"The study's table {path} is not there; pass --data with the same file (on "
            "another machine, its path there)."
        )
    return read_table(path, name=path.name)


def refuse_legacy_table(path: str | Path) -> None:
    """Refuse, unopened, the pickled copy of a table the app kept before 2026-12-07."""
    if str(path).endswith(LEGACY_TABLE_SUFFIX):
        raise SearchError(
            f"The study's table {Path(path).name} is a pickle an older version saved, and "
            "pickles are never opened; start the study again from its table."
        )


def load_data(settings: StudySettings, data: str | None = None) -> SearchData:
    from sattn_dash.tabular import Schema, prepare

    df = read_study_table(data or settings.data_path)
    missing = [t for t in settings.targets if t not in df.columns]
    if missing:
        raise SearchError(f"The table has no column {missing[0]!r}, the study's target.")
    schema = Schema.from_dict(settings.schema)
    prepared = prepare(df, schema, **split_arguments(settings))
    if settings.data_hash and prepared.data_hash != settings.data_hash:
        raise SearchError(
            "This table differs from the one the study was made on; pass --data with the "
            "study's own file."
        )
    return SearchData(df, schema, prepared, settings.data_name)


@dataclass(frozen=True)
class TrialResult:
    number: int
    outcome: str  # complete | pruned | failed | invalid | stopped
    value: float | None
    run_id: str | None
    error: str | None = None
    error_kind: str | None = None


def _tell_failed(study: Any, trial: Any, outcome: str, error: str | None) -> None:
    import optuna

    try:
        trial.set_user_attr("outcome", outcome)
        if error:
            trial.set_user_attr("error", error[:500])
    except optuna.exceptions.UpdateFinishedTrialError:
        return  # told already (a Ctrl-C just after the result went in)
    study.tell(trial, state=optuna.trial.TrialState.FAIL, skip_if_finished=True)


def _objective_value(run: Run, metric: str, best_epoch: int | None) -> float:
    """The metric at the epoch whose weights were kept (early stopping restores the best
    validation loss), else at the last epoch."""
    history = run.history
    if metric not in history.columns:
        logged = ", ".join(c for c in history.columns if c.startswith("val_")) or "none"
        raise SearchError(
            f"The training history has no {metric!r}; choose the search metric from: {logged}."
        )
    rows = history[history["epoch"] == best_epoch] if best_epoch else history.tail(1)
    return float((rows if len(rows) else history.tail(1))[metric].iloc[-1])


def _test_score(run: Run) -> float | None:
    """The headline test metric of the first target (ROC AUC or R^2), for the table."""
    from sattn_dash.analysis.scoring import HEADLINE_METRIC

    if not run.targets:
        return None
    target = run.targets[0]
    value = (run.metrics.get(target) or {}).get(HEADLINE_METRIC.get(run.tasks.get(target), ""))
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def _wait(session: Any, trial: Any, stop: threading.Event) -> None:
    """Wait for the session, beating the heart; Ctrl-C or ``stop`` ends it cleanly (a
    second Ctrl-C quits at once)."""
    next_beat = time.monotonic() + HEARTBEAT_EVERY_S
    while not session.done:
        try:
            session.wait(0.25)
        except KeyboardInterrupt:
            if stop.is_set():
                raise
            stop.set()
        if stop.is_set() and not session.status().done:
            session.stop()
        if time.monotonic() >= next_beat:
            next_beat = time.monotonic() + HEARTBEAT_EVERY_S
            trial.set_user_attr("heartbeat", time.time())


def run_trial(
    study: Any,
    trial: Any,
    settings: StudySettings,
    data: SearchData,
    store: RunStore,
    stop: threading.Event,
    storage_url: str | None = None,
) -> TrialResult:
    """Train one trial as a run and tell Optuna how it went (see the module docstring)."""
    import keras
    import optuna

    from sattn_dash.search.pruning import PruningCallback
    from sattn_dash.training import TrainingConfig
    from sattn_dash.training.session import TrainingSession

    keras.backend.clear_session()  # one trial at a time here: free the last one's graphs
    try:
        spec, values = sample(settings.space, trial, data.prepared)
        config = TrainingConfig(
            epochs=values["epochs"],
            batch_size=values["batch_size"],
            patience=values["patience"],
            scaling=values["scaling"],
            device=settings.device,
            **split_arguments(settings),
        )
    except SpecError as exc:
        _tell_failed(study, trial, "invalid", str(exc))
        return TrialResult(trial.number, "invalid", None, None, str(exc), "user")
    tag = {
        "study": study.study_name,
        "trial": trial.number,
        "storage": shown_url(storage_url),
        "metric": settings.metric,
        "params": dict(trial.params),
        "outcome": "running",
    }
    prepared = data.prepared_for(config.prepare_options())
    pruning = PruningCallback(
        trial, lambda model: trial_log_name(settings.metric, config, prepared, model)
    )
    store = store.for_user(settings.user)  # the trial's run is the study owner's
    session = TrainingSession(
        data.df,
        data.schema,
        spec,
        config,
        store,
        prepared=prepared,
        title=f"{study.study_name} · trial {trial.number}",
        source=data.name,
        callbacks=[pruning],
        files={TAG_FILE: tag},
    )
    trial.set_user_attr("run_id", session.run_id)
    told = False
    try:
        session.start()
        _wait(session, trial, stop)
        status = session.status()
        trial.set_user_attr("epochs_run", status.epochs_run)
        run = store.load(session.run_id)
        if status.state == "failed":
            outcome, value = "failed", None
        elif status.state == "stopped":
            outcome, value = "stopped", None
        elif status.state == "interrupted":  # a full disk: run again once space is freed
            outcome, value = "interrupted", None
        else:
            value = _objective_value(run, pruning.monitor or settings.metric, status.best_epoch)
            outcome = "pruned" if pruning.pruned else "complete"
            if not math.isfinite(value):
                outcome, value = "failed", None
        score = _test_score(run) if outcome in ("complete", "pruned") else None
        if score is not None:
            trial.set_user_attr("test_score", score)
        if outcome == "complete":
            trial.set_user_attr("outcome", "complete")
            study.tell(trial, value)
        elif outcome == "pruned":
            trial.set_user_attr("outcome", f"pruned at epoch {pruning.pruned_at}")
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            _tell_failed(study, trial, outcome, status.error)
        told = True
        _retag(store, session.run_id, outcome=outcome, value=value, pruned_at=pruning.pruned_at)
        return TrialResult(
            trial.number, outcome, value, session.run_id, status.error, status.error_kind
        )
    finally:
        if not told:  # a Ctrl-C (the parent died) or an error while telling the result
            session.stop()
            session.wait()
            if _complete_from_run(study, trial, store, settings.metric, session.run_id):
                _retag(store, session.run_id, outcome="complete")
            else:
                _tell_failed(study, trial, "stopped", "stopped before it was told")
                _retag(store, session.run_id, outcome="stopped")


def _finished_value(store: Any, run_id: Any, metric: str) -> float | None:
    """The objective of a trial's run when that run finished (else None)."""
    if not isinstance(run_id, str):
        return None
    try:
        if store.info(run_id).status != "finished":
            return None
        run = store.load(run_id)
        value = _objective_value(run, _logged_as(run, metric), run.card.get("best_epoch"))
    except Exception:  # a damaged or vanished run is no result
        log.info("Run %s gives its trial no result", run_id, exc_info=True)
        return None
    return value if math.isfinite(value) else None


def _logged_as(run: Run, metric: str) -> str:
    """The history column a finished trial run is judged by (``trial_log_name`` without
    the model): ``auto`` is what its early stopping watched, a head's metric the one
    validation column that ends with it."""
    if metric == AUTO_METRIC:
        return (run.card.get("monitor") or {}).get("name") or "val_loss"
    if metric in run.history.columns:
        return metric
    short = metric.removeprefix("val_")
    found = [c for c in run.history.columns if c.startswith("val_") and c.endswith(f"_{short}")]
    return found[0] if len(found) == 1 else metric


def _complete_from_run(study: Any, trial: Any, store: Any, metric: str, run_id: str) -> bool:
    """Tell ``trial`` complete from its run when that run finished: True if it was."""
    value = _finished_value(store, run_id, metric)
    if value is None:
        return False
    try:
        trial.set_user_attr("outcome", "complete")
        study.tell(trial, value, skip_if_finished=True)
    except Exception:  # told already
        log.info("Trial %s was told already", trial.number, exc_info=True)
    return True


def _retag(store: RunStore, run_id: str, **changes: Any) -> None:
    file = store.path(run_id) / TAG_FILE
    try:
        write_json(file, {**read_json(file), **changes})
    except (OSError, ValueError):
        log.exception("Could not update the search tag of run %s", run_id)


def fail_stale_trials(study: Any, store: Any = None, metric: str | None = None) -> list[int]:
    """Mark running trials whose worker is gone as failed (outcome ``interrupted``);
    returns their numbers. Their runs already read as interrupted in the run store. With
    ``store`` and ``metric``, a trial whose run had finished is told complete instead."""
    import optuna

    storage = study._storage  # noqa: SLF001 - Optuna's own fail_stale_trials does the same
    reaped = []
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        who = t.user_attrs.get("owner")
        beat = t.user_attrs.get("heartbeat")
        if beat is None and t.datetime_start is not None:
            beat = t.datetime_start.timestamp()
        if isinstance(who, dict) and owner.owner_alive(
            t.user_attrs.get("run_id", ""), {**who, "heartbeat": beat}
        ):
            continue
        if not isinstance(who, dict) and beat and time.time() - beat < UNCLAIMED_GRACE_S:
            continue  # asked a moment ago by a worker that has not said who it is yet
        value = None
        if store is not None and metric is not None:
            value = _finished_value(store, t.user_attrs.get("run_id"), metric)
        try:
            if value is not None:  # its run finished before the worker died
                storage.set_trial_user_attr(t._trial_id, "outcome", "complete")  # noqa: SLF001
                storage.set_trial_state_values(  # noqa: SLF001
                    t._trial_id, optuna.trial.TrialState.COMPLETE, [value]
                )
                continue
            storage.set_trial_user_attr(t._trial_id, "outcome", "interrupted")  # noqa: SLF001
            storage.set_trial_state_values(t._trial_id, optuna.trial.TrialState.FAIL)  # noqa: SLF001
        except Exception:  # another worker reaped it first
            log.info("Trial %s of %s was already reaped", t.number, study.study_name)
            continue
        reaped.append(t.number)
    return reaped


def _unclaimed_for(study: Any) -> float | None:
    """Seconds until the youngest running trial without an owner is reaped (None when
    every running trial has one): such a trial may be a dead process's."""
    import optuna

    waits = [
        UNCLAIMED_GRACE_S - (time.time() - t.datetime_start.timestamp())
        for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
        if "owner" not in t.user_attrs and t.datetime_start is not None
    ]
    return min(max(w, 0.0) for w in waits) + 0.1 if waits else None


def ask_owned(study: Any) -> Any:
    """A new trial with this process recorded as its owner at once, so a kill right
    after (while TensorFlow loads, say) leaves a trial the next worker knows is dead."""
    trial = study.ask()
    trial.set_user_attr("owner", {**owner.this_owner(), "cores": available_cores()})
    trial.set_user_attr("heartbeat", time.time())
    return trial


def run_worker(
    study: Any,
    settings: StudySettings,
    data: SearchData,
    store: RunStore,
    *,
    timeout: float | None = None,
    stop: threading.Event | None = None,
    storage_url: str | None = None,
    on_trial: Any = None,
) -> list[TrialResult]:
    """Run trials until the study has ``settings.trials`` finished (complete or pruned)
    trials, ``timeout`` seconds pass, or ``stop`` is set. Three failures in a row end the
    worker with the last one's reason (a ``SearchError`` when it was the user's)."""
    stop = stop or threading.Event()
    deadline = time.monotonic() + timeout if timeout else None
    results: list[TrialResult] = []
    failures: list[TrialResult] = []
    while not stop.is_set():
        # A worker elsewhere may have died since the last trial.
        fail_stale_trials(study, store, settings.metric)
        c = counts(study)
        if c["COMPLETE"] + c["PRUNED"] + c["RUNNING"] >= settings.trials:
            pending = _unclaimed_for(study)
            if pending is None:
                break
            time.sleep(pending)  # a trial nobody claimed yet: reaped once its grace is up
            continue
        if deadline is not None and time.monotonic() >= deadline:
            break
        trial = ask_owned(study)
        try:
            result = run_trial(study, trial, settings, data, store, stop, storage_url)
        except KeyboardInterrupt:  # before its run existed (loading TensorFlow, say)
            stop.set()
            _tell_failed(study, trial, "stopped", "stopped before training began")
            break
        results.append(result)
        if on_trial is not None:
            on_trial(result)
        if result.error_kind == "disk":  # every next trial would fail the same way
            raise DiskFullError(
                f"{result.error.split(' Free some space')[0]} Free some space there, then "
                f"run the search again: study {study.study_name!r} carries on, and trial "
                f"{result.number} is run again."
            )
        failures = failures + [result] if result.outcome in ("failed", "invalid") else []
        if len(failures) >= MAX_FAILURES_IN_A_ROW:
            last = failures[-1]
            message = (
                f"{MAX_FAILURES_IN_A_ROW} trials in a row failed; the last (trial "
                f"{last.number}): {last.error}"
            )
            if last.error_kind == "user":
                raise SearchError(message + " Narrow the search space or fix the data.")
            raise RuntimeError(message)
    return results
