"""Where a study lives and what it remembers: storage, settings, and its trials as tables.

The embedded default is Optuna's journal file, one per study in
``<workspace>/studies/<name>.journal``: an append-only log of operations that several
processes share safely through a lock file (taken over after a grace period when its
holder was killed), and a torn last line from a killed writer is skipped on read. SQLite
is the other file storage Optuna offers, but its own documentation advises against it
for parallel trials (writers wait on one database lock and give up with "database is
locked"). ``--storage URL`` takes any Optuna RDB URL (PostgreSQL, MySQL, SQLite) for
workers on several machines, or the path of a ``.journal`` file on a shared disk.

A study made here stores its settings (the data it searches, the space, the metric) in
its user attributes, so a worker on another machine needs only the study name and the
storage URL.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sattn_dash import workspace as layout
from sattn_dash.errors import SpecError, UserError
from sattn_dash.search.space import check_space

log = logging.getLogger(__name__)

STUDY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
SETTINGS_ATTR = "sattn_dash"
JOURNAL_SUFFIX = ".journal"
STORAGE_ENV = "SATTN_DASH_STORAGE"  # the default of --storage (keeps a password out of ps)
# Who starts a study from the dashboard with sign-in on (training.users' key): the page
# passes it to the search process, which records it in the study and on its trial runs.
USER_ENV = "SATTN_DASH_STUDY_USER"
# Metrics a search can maximise; any other metric (losses, errors) is minimised.
HIGHER_IS_BETTER = ("accuracy", "auc", "r2")
# The default: judge each trial as training judged its run (training.pipeline.judged_by,
# the metric early stopping watched: a binary target's own log loss, not the total
# that adds an ensemble's members' loss).
AUTO_METRIC = "auto"
# The validation metrics each head is compiled with (modeling.build.losses_and_metrics),
# by task: what a search of one such target may also be judged by.
TASK_METRICS = {
    "binary": ("val_accuracy", "val_auc"),
    "multiclass": ("val_accuracy",),
    "regression": ("val_rmse", "val_mae"),
}
AUTO_WORDS = {"loss": "log loss", "rmse": "RMSE"}  # the metrics judged_by names
# Below this many completed trials, parameter importance is a hint, not a finding.
FEW_TRIALS = 10


class SearchError(UserError):
    """A study cannot be made, joined or resumed as asked."""


def check_study_name(name: Any) -> str:
    if not isinstance(name, str) or not STUDY_NAME.match(name):
        raise SearchError(
            f"{name!r} is not a usable study name; use letters, digits, '_', '-' or '.', "
            "starting with a letter or digit (at most 64 characters)."
        )
    return name


def default_study_name(data_name: str, targets: list[str]) -> str:
    """``<file stem>-<targets>``: rerunning the same search on the same data resumes it."""
    stem = Path(data_name).name.split(".")[0]
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{stem}-{'-'.join(targets)}").strip("_.-")
    return (name or "study")[:64]


def journal_path(name: str, workspace: str | Path | None = None) -> Path:
    return layout.studies_dir(workspace) / f"{check_study_name(name)}{JOURNAL_SUFFIX}"


def direction_of(metric: str, tasks: dict[str, str] | None = None) -> str:
    """``maximize`` for accuracy, AUC and R^2 (``val_accuracy``, ...), else ``minimize``;
    for ``auto``, the way training judges ``tasks`` (``training.pipeline.judged_by``)."""
    if metric == AUTO_METRIC:
        from sattn_dash.training.pipeline import judged_by

        judged = judged_by(tasks or {})
        return "maximize" if judged and judged[1] == "max" else "minimize"
    return "maximize" if metric.rsplit("_", 1)[-1] in HIGHER_IS_BETTER else "minimize"


def metrics_for(tasks: dict[str, str]) -> tuple[str, ...]:
    """The metrics a search of ``tasks`` (``{target: task}``) can be judged by: ``auto``,
    the summed ``val_loss``, and for one target its head's own validation metrics."""
    own = TASK_METRICS.get(next(iter(tasks.values())), ()) if len(tasks) == 1 else ()
    return (AUTO_METRIC, "val_loss", *own)


def trial_log_name(metric: str, config: Any, prepared: Any, model: Any) -> str:
    """The Keras history name a trial of ``metric`` is judged by, in ``model``: for
    ``auto`` what early stopping watches; a head's own metric with its output prefix."""
    from sattn_dash.training.pipeline import early_stopping_monitor, validation_log_name

    if metric == AUTO_METRIC:
        return early_stopping_monitor(config, prepared, model)[0]
    if metric != "val_loss" and len(prepared.tasks) == 1:
        (target,) = prepared.tasks
        return validation_log_name(metric.removeprefix("val_"), target, model)
    return metric


def importance_caveat(completed: int) -> str | None:
    """What to say beside parameter importance over ``completed`` trials (None: enough)."""
    if completed >= FEW_TRIALS:
        return None
    return (
        f"This rests on {completed} completed trial{'s' if completed != 1 else ''}: read "
        f"it as a hint. About {FEW_TRIALS} or more make it steadier."
    )


def shown_url(url: str | None) -> str:
    """A storage URL fit to show and store: the password hidden."""
    if not url:
        return "embedded journal"
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # a journal path, or not a URL at all
        return url


def open_storage(name: str, url: str | None = None, workspace: str | Path | None = None):
    """The Optuna storage of study ``name``: the workspace journal, a ``.journal`` path,
    or an RDB URL. A URL that cannot be reached is a ``SearchError`` saying so."""
    import optuna
    from optuna.storages.journal import JournalFileBackend

    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    if not url or url.endswith(JOURNAL_SUFFIX):
        path = Path(url) if url else journal_path(name, workspace)
        path.parent.mkdir(parents=True, exist_ok=True)
        backend = JournalFileBackend(str(path))
        _cut_torn_tail(path, backend)
        try:
            return optuna.storages.JournalStorage(backend)
        except (ValueError, UnicodeDecodeError, KeyError, TypeError) as exc:
            raise SearchError(damaged_journal(path, exc)) from None
    try:
        return optuna.storages.RDBStorage(url, engine_kwargs={"pool_pre_ping": True})
    except Exception as exc:  # bad scheme, missing driver, server down, bad password
        reason = " ".join(str(exc).split())[:300]
        raise SearchError(
            f"Cannot open the study storage {shown_url(url)} ({type(exc).__name__}: {reason}); "
            "check the URL (e.g. postgresql://user:password@host:5432/db) and that the "
            "database server is reachable."
        ) from None


def damaged_journal(path: Path, exc: BaseException) -> str:
    """What to say when a study's journal cannot be read."""
    reason = " ".join(str(exc).split())[:200]
    return (
        f"The study journal {path} is damaged ({type(exc).__name__}: {reason}), so its "
        "study cannot be opened. Its trials' runs are still in the run store. Delete the "
        "journal to start the study afresh (or restore it from a backup); every other "
        "study and run is unaffected."
    )


def _cut_torn_tail(path: Path, backend: Any) -> None:
    """Drop a last line cut short (a writer killed, or a full disk, mid-append): left in
    place, the next append would glue onto it and make the journal unreadable. Done
    under the journal's own lock, so no writer is mid-append."""
    from optuna.storages.journal._file import get_lock_file

    if path.stat().st_size == 0:
        return
    with open(path, "rb") as handle:
        handle.seek(-1, 2)
        if handle.read(1) == b"\n":
            return
    with get_lock_file(backend._lock):  # noqa: SLF001 - the backend's own lock
        data = path.read_bytes()
        keep = data.rfind(b"\n") + 1
        if keep == len(data):
            return
        with open(path, "r+b") as handle:
            handle.truncate(keep)
    log.warning("Cut a torn last line (%d bytes) off the study journal %s", len(data) - keep, path)


@dataclass(frozen=True)
class StudySettings:
    """What every worker of a study needs: the data, the space and the goal."""

    data_path: str
    data_name: str
    targets: list[str]
    schema: dict[str, Any]
    space: dict[str, Any]
    metric: str = AUTO_METRIC
    trials: int = 20
    seed: int = 0
    val_size: float = 0.2
    test_size: float = 0.2
    device: str = "auto"
    data_hash: str | None = None
    pruner: dict[str, int] = field(
        default_factory=lambda: {"startup_trials": 5, "warmup_epochs": 2}
    )
    user: str | None = None  # who started it with sign-in on; its trial runs are theirs

    @property
    def tasks(self) -> dict[str, str]:
        """``{target: task}`` of the searched targets."""
        return {t["name"]: t["task"] for t in self.schema.get("targets", [])}

    @property
    def direction(self) -> str:
        return direction_of(self.metric, self.tasks)

    @property
    def metric_words(self) -> str:
        """The metric as the user reads it (``auto`` named by what it is for these
        targets, e.g. "validation log loss")."""
        if self.metric != AUTO_METRIC:
            return self.metric
        from sattn_dash.training.pipeline import judged_by

        judged = judged_by(self.tasks)
        if judged is None:
            return "summed validation loss"
        return "validation " + AUTO_WORDS.get(judged[0], judged[0])

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StudySettings:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def _sampler(settings: StudySettings, worker: int, existing: int):
    import optuna

    # A fresh seed per worker and per resumption: two workers, or a resumed study, must
    # not replay the same random start-up trials. One worker on a new study repeats.
    seed = (settings.seed * 1_000_003 + worker * 7919 + existing) % (2**31)
    return optuna.samplers.TPESampler(
        seed=seed,
        multivariate=True,
        group=True,  # branch settings exist only for the branches a trial has
        n_startup_trials=max(2, min(10, settings.trials // 3)),
    )


def _pruner(settings: StudySettings):
    import optuna

    return optuna.pruners.MedianPruner(
        n_startup_trials=int(settings.pruner.get("startup_trials", 5)),
        n_warmup_steps=int(settings.pruner.get("warmup_epochs", 2)),
    )


def load_study(name: str, storage: Any, worker: int = 0):
    """An existing study with its settings; ``SearchError`` when there is none."""
    import optuna

    try:
        summaries = optuna.study.get_all_study_names(storage)
    except Exception as exc:
        raise SearchError(f"Cannot read the study storage ({type(exc).__name__}: {exc}).") from exc
    if name not in summaries:
        known = ", ".join(summaries[:10]) or "none yet"
        raise SearchError(
            f"No study named {name!r} in this storage (studies: {known}); start it with "
            "`python -m sattn_dash search --data FILE --target COL --study NAME` first."
        )
    plain = optuna.load_study(study_name=name, storage=storage)
    settings = study_settings(plain)
    return optuna.load_study(
        study_name=name,
        storage=storage,
        sampler=_sampler(settings, worker, len(plain.trials)),
        pruner=_pruner(settings),
    ), settings


def check_study_user(name: str, settings: StudySettings, user: str | None) -> None:
    """A study is seen only by the user who started it, as runs are (``training.users``);
    anyone else is told there is no such study."""
    from sattn_dash.training.users import can_see

    if not can_see(settings.user, user):
        raise SearchError(f"No study named {name!r} in this workspace.")


def study_settings(study: Any) -> StudySettings:
    data = study.user_attrs.get(SETTINGS_ATTR)
    if not isinstance(data, dict):
        raise SearchError(
            f"Study {study.study_name!r} was not made by sattn-dash (it has no settings); "
            "pick another study name."
        )
    return StudySettings.from_dict(data)


def create_or_resume(name: str, storage: Any, settings: StudySettings, *, space_given: bool):
    """Open study ``name``: make it with ``settings``, or resume it when it exists (its
    data and targets must match; a space passed again must be the stored one)."""
    import optuna

    check_study_name(name)
    check_space(settings.space)
    check_metric(settings.metric, settings.tasks)
    if name in optuna.study.get_all_study_names(storage):
        study, stored = load_study(name, storage)
        _check_resumable(name, stored, settings, space_given)
        if settings.trials != stored.trials:
            stored = dataclasses.replace(stored, trials=settings.trials)
            study.set_user_attr(SETTINGS_ATTR, stored.to_dict())
        return study, stored
    study = optuna.create_study(
        study_name=name,
        storage=storage,
        direction=settings.direction,
        sampler=_sampler(settings, 0, 0),
        pruner=_pruner(settings),
    )
    study.set_user_attr(SETTINGS_ATTR, settings.to_dict())
    return study, settings


def _check_resumable(
    name: str, stored: StudySettings, new: StudySettings, space_given: bool
) -> None:
    hint = "; give this search another --study name to start a new study"
    if new.user is not None and stored.user != new.user:  # the CLI (no user) may go on
        raise SearchError(f"Study {name!r} was started by someone else{hint}.")
    if list(stored.targets) != list(new.targets):
        raise SearchError(
            f"Study {name!r} searches target(s) {', '.join(stored.targets)}, not "
            f"{', '.join(new.targets)}{hint}."
        )
    if stored.data_hash and new.data_hash and stored.data_hash != new.data_hash:
        raise SearchError(f"Study {name!r} was made on another table than {new.data_name}{hint}.")
    if stored.metric != new.metric and new.metric != AUTO_METRIC:  # the default: keep it
        raise SearchError(f"Study {name!r} optimises {stored.metric}, not {new.metric}{hint}.")
    if space_given and check_space(stored.space) != check_space(new.space):
        raise SearchError(
            f"Study {name!r} has another search space; leave --space out to resume it with "
            f"its own{hint}."
        )


# --- a study as tables -----------------------------------------------------------------


def trials_frame(study: Any) -> pd.DataFrame:
    """One row per trial: ``trial, state, value, outcome, run_id, epochs, test_score,
    duration_s, started`` and one column per parameter (``param_<name>``)."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        attrs = t.user_attrs
        duration = (
            (t.datetime_complete - t.datetime_start).total_seconds()
            if t.datetime_complete and t.datetime_start
            else None
        )
        row = {
            "trial": t.number,
            "state": t.state.name,
            "value": t.value if t.values else None,
            "outcome": attrs.get("outcome", t.state.name.lower()),
            "run_id": attrs.get("run_id"),
            "epochs": attrs.get("epochs_run"),
            "test_score": attrs.get("test_score"),
            "duration_s": duration,
            "started": t.datetime_start,
            "completed": t.datetime_complete,
        }
        row.update({f"param_{k}": v for k, v in t.params.items()})
        rows.append(row)
    columns = [
        "trial",
        "state",
        "value",
        "outcome",
        "run_id",
        "epochs",
        "test_score",
        "duration_s",
        "started",
        "completed",
    ]
    return pd.DataFrame(rows, columns=None if rows else columns)


def best_so_far(frame: pd.DataFrame, direction: str) -> pd.DataFrame:
    """``trial, completed, value, best``: completed trials in the order they ended."""
    done = frame[frame["state"] == "COMPLETE"].dropna(subset=["value"])
    done = done.sort_values(["completed", "trial"])[["trial", "completed", "value"]].copy()
    best = done["value"].cummax() if direction == "maximize" else done["value"].cummin()
    done["best"] = best
    done["order"] = range(1, len(done) + 1)
    return done.reset_index(drop=True)


def _positions(values: pd.Series) -> pd.Series:
    """Where each value sits on its parameter's axis, 0..1: numbers by their range,
    choices evenly spaced in first-seen order (a single value in the middle)."""
    numeric = pd.to_numeric(values, errors="coerce")
    present = values.notna()
    is_number = (
        numeric[present].notna().all()
        and not values[present].map(lambda v: isinstance(v, bool)).any()
    )
    if is_number:
        low, high = numeric.min(), numeric.max()
        return (numeric - low) / (high - low) if high > low else numeric * 0 + 0.5
    levels = list(dict.fromkeys(values[present].map(str)))
    spots = {
        level: (i / (len(levels) - 1) if len(levels) > 1 else 0.5) for i, level in enumerate(levels)
    }
    return values.map(lambda v: spots[str(v)] if pd.notna(v) else None)


def parallel_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Completed trials in long form for parallel coordinates: ``trial, parameter, shown
    (the value as text), position (0..1 on the parameter's axis), value``. Parameters
    every such trial has come first."""
    done = frame[frame["state"] == "COMPLETE"].dropna(subset=["value"])
    params = [c for c in done.columns if c.startswith("param_")]
    params.sort(key=lambda c: (done[c].isna().any(), c))
    rows = []
    for column in params:
        values = done[column]
        cells = zip(done["trial"], values, _positions(values), done["value"], strict=True)
        for trial, shown, position, value in cells:
            if pd.notna(shown):
                rows.append(
                    {
                        "trial": int(trial),
                        "parameter": column.removeprefix("param_"),
                        "shown": f"{shown:.4g}" if isinstance(shown, float) else str(shown),
                        "position": float(position),
                        "value": float(value),
                    }
                )
    return pd.DataFrame(rows, columns=["trial", "parameter", "shown", "position", "value"])


def best_trial(study: Any) -> Any | None:
    """The best completed trial, or None while there is none."""
    try:
        return study.best_trial
    except ValueError:
        return None


def counts(study: Any) -> dict[str, int]:
    out = {"COMPLETE": 0, "PRUNED": 0, "FAIL": 0, "RUNNING": 0, "WAITING": 0}
    for t in study.get_trials(deepcopy=False):
        out[t.state.name] = out.get(t.state.name, 0) + 1
    return out


def param_importance(study: Any, method: str = "fanova") -> pd.DataFrame:
    """``parameter, importance, rank`` by fANOVA (or ``mdi``: mean decrease in impurity)
    over the parameters every completed trial has. Empty below two completed trials."""
    import optuna

    complete = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    empty = pd.DataFrame({"parameter": [], "importance": [], "rank": []})
    if len(complete) < 2:
        return empty
    evaluator = (
        optuna.importance.MeanDecreaseImpurityImportanceEvaluator(seed=0)
        if method == "mdi"
        else optuna.importance.FanovaImportanceEvaluator(seed=0)
    )
    try:
        values = optuna.importance.get_param_importances(study, evaluator=evaluator)
    except (RuntimeError, ValueError) as exc:  # e.g. no parameter varies across trials
        log.info("No parameter importance for %s: %s", study.study_name, exc)
        return empty
    frame = pd.DataFrame(
        {"parameter": list(values), "importance": [float(v) for v in values.values()]}
    )
    frame = frame[frame["importance"].map(math.isfinite)]
    frame["rank"] = frame["importance"].rank(ascending=False, method="min").astype(int)
    return frame.sort_values("rank").reset_index(drop=True)


def summary(study: Any, settings: StudySettings) -> dict[str, Any]:
    """The JSON of a study: counts, the best trial and its run, the trials."""
    best = best_trial(study)
    frame = trials_frame(study)
    return {
        "study": study.study_name,
        "metric": settings.metric,
        "direction": settings.direction,
        "trials_wanted": settings.trials,
        "counts": counts(study),
        "best": None
        if best is None
        else {
            "trial": best.number,
            "value": best.value,
            "params": best.params,
            "run_id": best.user_attrs.get("run_id"),
            "test_score": best.user_attrs.get("test_score"),
        },
        "trials": frame.drop(columns=["started", "completed"], errors="ignore").to_dict(
            orient="records"
        ),
    }


def check_metric(metric: Any, tasks: dict[str, str] | None = None) -> str:
    """``metric`` when a search can be judged by it (for ``tasks``, when given)."""
    if metric != AUTO_METRIC and (not isinstance(metric, str) or not metric.startswith("val_")):
        raise SpecError(
            f"metric must be auto (what training judges by) or a validation metric of the "
            f"training history such as val_loss, val_accuracy or val_rmse, got {metric!r}."
        )
    if tasks and metric not in metrics_for(tasks):
        kinds = " and ".join(sorted(set(tasks.values())))
        raise SpecError(
            f"{metric} does not fit a {kinds} target; choose one of "
            f"{', '.join(metrics_for(tasks))}."
        )
    return metric
