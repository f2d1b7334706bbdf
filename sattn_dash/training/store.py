"""The run store: every run on disk under ``<workspace>/runs/<run_id>/``.

Files of a run (all written atomically, see ``atomic``):
``run.json`` (id, title, targets, created), ``status.json`` (state, progress, owner),
``spec.json``, ``schema.json``, ``config.json``, ``history.csv`` (one row per epoch,
rewritten each epoch), ``snapshots.jsonl`` (one record per epoch), ``metrics.json``
(test split), ``predictions.csv`` (test split), ``model.keras``, ``prepared/`` (the
fitted preprocessing), ``card.json`` (seed, data hash, versions, device, timings) and,
while the run trains, ``checkpoints/`` (see ``checkpoint``; removed when it ends).

Nothing here imports TensorFlow: listing runs stays fast. A run id is the only thing
that becomes a path, and only after it matches ``RUN_ID_PATTERN``; titles are text.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import time
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from sattn_dash import workspace as layout
from sattn_dash.errors import RunError
from sattn_dash.files import (
    dumps,
    read_json,
    remove_dir,
    write_dir,
    write_json,
    write_text,
    write_with,
)
from sattn_dash.training import owner, users
from sattn_dash.training.run import Run, RunInfo

if TYPE_CHECKING:
    from sattn_dash.tabular.prepared import PreparedData

log = logging.getLogger(__name__)

RUN_ID_PATTERN = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{6}$")
ACTIVE_STATES = ("queued", "running", "stopping")
FINAL_STATES = ("finished", "stopped", "failed", "interrupted")
TITLE_MAX = 80
RESERVE, RESERVE_BYTES = ".reserve", 64 * 1024  # see RunWriter.reserve
LEFTOVERS = (".*.tmp-*", "prepared/.*.tmp-*", RESERVE)  # what a kill leaves behind
RESUME_LOCK = ".resume.lock"


def new_run_id() -> str:
    """A time-ordered id safe as a file name on every platform."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{secrets.token_hex(3)}"


def clean_title(title: Any) -> str:
    """A title as plain one-line text: control characters dropped, spaces collapsed."""
    text = "".join(
        " " if unicodedata.category(ch).startswith(("C", "Z")) else ch for ch in str(title or "")
    )
    text = " ".join(text.split())
    return text[:TITLE_MAX].rstrip()


def effective_state(run_id: str, status: dict[str, Any]) -> str:
    """The stored state, except that an active run whose owner is gone is interrupted."""
    state = status.get("state", "interrupted")
    if state in ACTIVE_STATES and not owner.owner_alive(run_id, status):
        return "interrupted"
    return state if state in ACTIVE_STATES + FINAL_STATES else "interrupted"


@dataclass(frozen=True)
class SkippedRun:
    """A folder in the runs directory that could not be read as a run, and why."""

    name: str
    reason: str


class RunWriter:
    """Writes the files of one run; used by the training session that owns the run."""

    def __init__(self, directory: Path):
        self.directory = directory
        self._history: list[dict[str, Any]] = []
        self._snapshots: list[str] = []

    def json(self, name: str, value: Any) -> None:
        write_json(self.directory / name, value)

    def status(self, status: dict[str, Any]) -> None:
        self.json("status.json", status)

    def history_row(self, row: dict[str, Any]) -> None:
        """Add one epoch to ``history.csv`` (the whole small file is replaced)."""
        self._history.append(row)
        write_text(self.directory / "history.csv", pd.DataFrame(self._history).to_csv(index=False))

    def restore(self, history: list[dict[str, Any]], snapshots: list[str]) -> None:
        """Start from the epochs a resumed run already has; the files are made to match
        (an epoch written after the checkpoint is dropped: it will be trained again)."""
        self._history, self._snapshots = list(history), list(snapshots)
        frame = pd.DataFrame(self._history)
        write_text(self.directory / "history.csv", frame.to_csv(index=False) if history else "")
        write_text(self.directory / "snapshots.jsonl", "".join(f"{s}\n" for s in snapshots))

    def progress(self) -> tuple[list[dict[str, Any]], list[str]]:
        """The history rows and snapshot lines written so far (what a checkpoint keeps)."""
        return list(self._history), list(self._snapshots)

    def snapshot(self, record: dict[str, Any]) -> None:
        self._snapshots.append(dumps(record, indent=None))
        write_text(self.directory / "snapshots.jsonl", "\n".join(self._snapshots) + "\n")

    def predictions(self, frame: pd.DataFrame) -> None:
        write_text(self.directory / "predictions.csv", frame.to_csv(index=False))

    def reserve(self) -> None:
        """Set aside a little disk space while the run trains, given back just before
        the final status is written: on a disk that filled up meanwhile, the run can
        still say so (and that it can be resumed)."""
        try:
            (self.directory / RESERVE).write_bytes(b"\0" * RESERVE_BYTES)
        except OSError:
            (self.directory / RESERVE).unlink(missing_ok=True)

    def release_reserve(self) -> None:
        (self.directory / RESERVE).unlink(missing_ok=True)

    def model(self, model: Any) -> None:
        write_with(self.directory / "model.keras", lambda temp: model.save(temp), suffix=".keras")

    def prepared(self, prepared: PreparedData) -> None:
        target = self.directory / "prepared"
        if target.exists():
            shutil.rmtree(target)
        write_dir(target, prepared.save)


class RunStore:
    """Create, list, load, rename and delete runs in one workspace folder.

    Opened for a ``user`` (sign-in on, see ``training.users``) it records that user on
    the runs it creates and sees no one else's; opened without, it sees every run.
    """

    def __init__(self, workspace: str | os.PathLike | None = None, user: str | None = None):
        self.workspace = layout.resolve(workspace)
        self.root = layout.runs_dir(self.workspace)
        self.user = user
        self.skipped: list[SkippedRun] = []

    def for_user(self, user: str | None) -> RunStore:
        """The same workspace as ``user`` sees it."""
        return RunStore(self.workspace, user=user)

    # --- paths -------------------------------------------------------------------
    def path(self, run_id: str) -> Path:
        """The folder of ``run_id``; the id is checked so no other path can be reached."""
        if not isinstance(run_id, str) or not RUN_ID_PATTERN.match(run_id):
            raise RunError(
                f"{run_id!r} is not a run id; run ids look like 20250101-120000-a1b2c3 "
                "(see `python -m sattn_dash runs`)."
            )
        return self.root / run_id

    def _existing(self, run_id: str) -> Path:
        directory = self.path(run_id)
        if not (directory / "run.json").is_file() or not self._visible(directory):
            raise RunError(
                f"No run {run_id} in {self.root}; list the runs with `python -m sattn_dash runs`."
            )
        return directory

    def _visible(self, directory: Path) -> bool:
        if self.user is None:
            return True
        try:
            meta = read_json(directory / "run.json")
        except (OSError, ValueError):
            return False
        return isinstance(meta, dict) and users.can_see(meta.get("user"), self.user)

    # --- create and write ----------------------------------------------------------
    def create(
        self,
        title: str | None = None,
        *,
        targets: dict[str, str] | None = None,
        model: str = "",
        preset: str | None = None,
        source: str | None = None,
        files: dict[str, Any] | None = None,
    ) -> str:
        """Make a new run folder (atomically) in state ``queued`` and return its id.

        This process owns the run until ``owner.release(run_id)`` (a session releases
        it when it ends); an unreleased active run of a dead process reads as interrupted.

        ``targets`` maps target -> task; ``files`` are JSON files to write at once
        (``spec.json``, ``schema.json``, ``config.json``).
        """
        self.root.mkdir(parents=True, exist_ok=True)
        run_id = new_run_id()
        while self.path(run_id).exists():
            run_id = new_run_id()
        targets = dict(targets or {})
        meta = {
            "run_id": run_id,
            "title": clean_title(title)
            or _default_title(
                model, targets, clean_title(source) if source else None, self._titles
            ),
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "targets": list(targets),
            "tasks": targets,
            "model": model,
            "preset": preset,
            "source": clean_title(source) if source else None,
            "user": self.user,
        }

        def fill(temp: Path) -> None:
            write_json(temp / "run.json", meta)
            write_json(temp / "status.json", {"state": "queued", **owner.this_owner()})
            for name, value in (files or {}).items():
                write_json(temp / name, value)

        write_dir(self.path(run_id), fill)
        owner.claim(run_id)
        return run_id

    def writer(self, run_id: str) -> RunWriter:
        return RunWriter(self._existing(run_id))

    # --- read ----------------------------------------------------------------------
    def list(self) -> list[RunInfo]:
        """All readable runs this store may see, newest first; unreadable folders go to
        ``self.skipped`` (other users' readable runs are not listed)."""
        runs, skipped = [], []
        if self.root.is_dir():
            for entry in sorted(self.root.iterdir(), reverse=True):
                if entry.name.startswith("."):
                    continue  # a run being created or deleted
                if not entry.is_dir() or not RUN_ID_PATTERN.match(entry.name):
                    skipped.append(SkippedRun(entry.name, "not a run folder"))
                    continue
                try:
                    info = self._info(entry)
                    if users.can_see(info.user, self.user):
                        runs.append(info)
                except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
                    if not entry.exists():  # deleted (renamed aside) while listing
                        continue
                    reason = (
                        f"{_describe(exc)}. Delete it (`sattn-dash delete {entry.name}`) or "
                        "restore the file from a backup; the other runs are unaffected"
                    )
                    skipped.append(SkippedRun(entry.name, reason))
        for item in skipped:  # the caller shows them (the CLI prints, a page warns)
            log.debug("Skipped %s in %s: %s", item.name, self.root, item.reason)
        self.skipped = skipped
        return runs

    def info(self, run_id: str) -> RunInfo:
        directory = self._existing(run_id)
        try:
            return self._info(directory)
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
            raise RunError(
                f"Run {run_id} cannot be read ({_describe(exc)}). Delete the run "
                f"(`sattn-dash delete {run_id}`), or restore the file from a backup; every "
                "other run is unaffected."
            ) from None

    def _titles(self) -> list[str]:
        """The titles of the runs in this folder (unreadable ones left out, quietly)."""
        titles = []
        for entry in self.root.glob("*/run.json") if self.root.is_dir() else ():
            try:
                titles.append(clean_title(read_json(entry).get("title")))
            except (OSError, ValueError, AttributeError):
                continue
        return titles

    def _info(self, directory: Path) -> RunInfo:
        meta, status = _object(directory, "run.json"), _object(directory, "status.json")
        run_id = directory.name
        return RunInfo(
            run_id=run_id,
            title=clean_title(meta.get("title")) or run_id,
            status=effective_state(run_id, status),
            created_at=str(meta.get("created_at", "")),
            model=str(meta.get("model") or ""),
            preset=meta.get("preset"),
            targets=tuple(str(t) for t in meta.get("targets", [])),
            tasks={str(k): str(v) for k, v in dict(meta.get("tasks", {})).items()},
            epochs_run=int(status.get("epochs_run") or 0),
            duration_s=status.get("duration_s"),
            error=status.get("error"),
            user=meta.get("user"),
        )

    def load(self, run_id: str) -> Run:
        info = self.info(run_id)
        if info.status not in ACTIVE_STATES:  # no process writes it: tidy what one left
            tidy_leftovers(self.path(run_id))
        return Run(info, self.path(run_id))

    def status(self, run_id: str) -> dict[str, Any]:
        """The raw status file of a run, with ``state`` made effective."""
        status = read_json(self._existing(run_id) / "status.json")
        return {**status, "state": effective_state(run_id, status)}

    # --- change --------------------------------------------------------------------
    def rename(self, run_id: str, title: str) -> str:
        """Give a run a new title (plain text); returns the title as stored."""
        directory = self._existing(run_id)
        cleaned = clean_title(title)
        if not cleaned:
            raise RunError("A run title cannot be empty; type a few words that describe it.")
        meta = read_json(directory / "run.json")
        write_json(directory / "run.json", {**meta, "title": cleaned})
        return cleaned

    def delete(self, run_id: str) -> None:
        """Remove a run for good; a run that is still training must be stopped first."""
        directory = self._existing(run_id)
        try:
            state = self.status(run_id)["state"]
        except (OSError, ValueError):
            state = "interrupted"
        if state in ACTIVE_STATES:
            raise RunError(f"Run {run_id} is still {state}; stop it before deleting it.")
        remove_dir(directory)


def _default_title(model: str, targets: dict[str, str], source: str | None, taken) -> str:
    """What tells runs apart first (the table, or the targets, and the time to the
    second), then the model: a title cut short in a list still differs. ``taken`` are
    the titles in use; a clash gets " #2", " #3", ..."""
    when = time.strftime("%m-%d %H:%M:%S")
    what = (source or ", ".join(targets) or "run")[:40]
    aim = f" → {', '.join(targets) or 'run'}"
    room = TITLE_MAX - len(f"{what} · {when} #99 · ") - len(aim)
    name = " ".join(str(model or "model").split())
    if len(name) > room:  # shorten the model's name, not the end: cut, it read "(default"
        name = name[: max(room - 1, 8)].rstrip() + "…"
    rest = f"{name}{aim}"
    titles = set(taken())
    title, n = clean_title(f"{what} · {when} · {rest}"), 2
    while title in titles:
        title, n = clean_title(f"{what} · {when} #{n} · {rest}"), n + 1
    return title


def tidy_leftovers(directory: Path) -> list[str]:
    """Remove what a process killed mid-write left in a run folder that no process
    writes any more (half-written temporary files and folders); returns their names.
    The resume lock goes once the run can no longer be resumed."""
    removed = []
    for pattern in LEFTOVERS:
        for path in directory.glob(pattern):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(str(path.relative_to(directory)))
    lock = directory / RESUME_LOCK
    if lock.exists() and not (directory / "checkpoints").exists():
        lock.unlink(missing_ok=True)  # nothing to resume: no one takes it again
        removed.append(RESUME_LOCK)
    if removed:
        log.info("Tidied %s in %s", ", ".join(removed), directory)
    return removed


def _object(directory: Path, name: str) -> dict[str, Any]:
    """A run's JSON object file; a ValueError naming the file when it is not one."""
    try:
        data = read_json(directory / name)
    except UnicodeDecodeError:
        raise ValueError(f"{name} is not text") from None
    except ValueError as exc:
        raise ValueError(f"{name} is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{name} holds a {type(data).__name__}, not a JSON object")
    return data


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
