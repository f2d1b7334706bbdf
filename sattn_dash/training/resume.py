"""Carry on a run whose process died, from its newest whole checkpoint.

A run reads as ``interrupted`` when the process training it is gone (killed, out of
memory, a reboot). If it finished at least one epoch it has a checkpoint (see
``training.checkpoint``), and ``resume_session`` makes a training session that keeps the
run's id, folder, spec, config and stored preprocessing, restores the model, optimizer
and callback state, and trains the remaining epochs on the same batches an
uninterrupted run would have seen; then it evaluates and saves like any run.

The run is resumed on the training rows stored with it. When the file it was trained
from is known (the CLI records it) and still there, it must still hold the same table:
a changed file is refused, because the run would no longer be a run on that file. A
streamed run (a table larger than memory) has no stored rows to fall back on: it reads
its files again, and they must be there, unchanged.

Checking whether a run can be resumed (``why_not_resumable``) reads no model and
imports no TensorFlow, so a page can decide to show its Resume button cheaply.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sattn_dash.errors import DataError, RunError
from sattn_dash.training.checkpoint import Checkpoint, has_checkpoint, latest_checkpoint
from sattn_dash.training.store import ACTIVE_STATES, RESUME_LOCK, RunStore

if TYPE_CHECKING:
    from sattn_dash.tabular.prepared import PreparedData
    from sattn_dash.tabular.stream import StreamedData
    from sattn_dash.training.config import TrainingConfig
    from sattn_dash.training.session import TrainingSession


@dataclass(frozen=True)
class ResumePoint:
    """Where a resumed session starts: the run, its checkpoint, and what was noticed."""

    run_id: str
    checkpoint: Checkpoint
    notes: tuple[str, ...] = ()


def why_not_resumable(store: RunStore, run_id: str) -> str | None:
    """None when ``run_id`` can be resumed, else the reason, in words a user can act on."""
    info = store.info(run_id)
    if info.status in ACTIVE_STATES:
        return f"Run {run_id} is still {info.status}; only an interrupted run can be resumed."
    if info.status != "interrupted":
        return (
            f"Run {run_id} is {info.status}, not interrupted: there is nothing to resume "
            "(train a new run to train longer)."
        )
    if not has_checkpoint(store.path(run_id)):
        return (
            f"Run {run_id} was interrupted before its first epoch ended, so it has no "
            "checkpoint to resume from; train it again."
        )
    return None


def resume_session(
    run_id: str,
    store: RunStore | None = None,
    *,
    data_path: str | None = None,
    device: str | None = None,
    **session_options: Any,
) -> TrainingSession:
    """A ``TrainingSession`` that carries on ``run_id`` (start it with ``.start()`` or
    ``.run()``); ``data_path`` points at the data file when it moved, ``device``
    replaces the run's device. Raises ``RunError`` / ``DataError`` saying why not."""
    from sattn_dash.training.devices import select_device
    from sattn_dash.training.session import TrainingSession

    store = store or RunStore()
    with _claiming(store.path(run_id)):
        reason = why_not_resumable(store, run_id)
        if reason:
            raise RunError(reason)
        run = store.load(run_id)
        checkpoint = latest_checkpoint(run.path)
        if run.spec is None or run.schema is None:
            raise RunError(f"Run {run_id} has no spec or schema stored; train it again.")
        prepared = run.prepared
        notes = [*_skipped_note(checkpoint), *check_data(run_id, checkpoint, prepared, data_path)]
        streamed = _reopened_stream(checkpoint, prepared, data_path)
        config = trained_batch_size(run.config, checkpoint, (streamed or prepared).rows["train"])
        config = config if device is None else dataclasses.replace(config, device=device)
        select_device(config.device)  # a missing GPU is refused here, the run left as it was
        session = TrainingSession(
            None,
            run.schema,
            run.spec,
            config,
            store,
            prepared=prepared,
            streamed=streamed,
            data_path=data_path,
            resume=ResumePoint(run_id, checkpoint, tuple(notes)),
            **session_options,
        )
        session.heartbeat()  # the run is ours now: another resume sees it queued
    return session


def check_data(
    run_id: str, checkpoint: Checkpoint, prepared: PreparedData, data_path: str | None = None
) -> list[str]:
    """Refuse a resume on data other than the run's; returns notes for the user."""
    recorded = checkpoint.state.get("data", {})
    expected = recorded.get("hash")
    if prepared.data_hash != expected:
        raise RunError(
            f"The preprocessed data stored with run {run_id} is not the data its checkpoint "
            "was trained on, so it cannot be resumed; train it again."
        )
    path = data_path or recorded.get("path")
    if path is None or recorded.get("stream"):
        return []  # a stream is checked file by file when it is opened again
    if not Path(path).is_file():
        if data_path is not None:
            raise DataError(f"No data file {data_path}; check the path given to --data.")
        return [f"{path} is gone; the run resumed on the training rows stored with it."]
    from sattn_dash.tabular import data_hash, read_table

    if data_hash(read_table(Path(path), name=Path(path).name)) != expected:
        raise DataError(
            f"The data file {path} has changed since run {run_id} started: it no longer "
            f"holds the table its first {checkpoint.epoch} epoch(s) were trained on, so a "
            "resumed run would not be the same run. Put the original file back (or pass "
            "it with --data), or train a new run on the changed file."
        )
    return []


def trained_batch_size(config: TrainingConfig, checkpoint: Checkpoint, rows: int) -> TrainingConfig:
    """``config`` with the batch size the run trained with, so a resume takes the same
    steps even where the automatic rule changed since: the checkpoint records the size;
    one written before it did ran the rule with its old floor."""
    if config.batch_size is not None:
        return config
    from sattn_dash.training.config import LEGACY_BATCH_FLOOR

    size = checkpoint.state.get("batch_size")
    size = size or config.batch_size_for(rows, smallest=LEGACY_BATCH_FLOOR)
    return dataclasses.replace(config, batch_size=int(size))


def _reopened_stream(
    checkpoint: Checkpoint, prepared: PreparedData, data_path: str | None
) -> StreamedData | None:
    """The stream a streamed run read, opened again (None for a run held in memory);
    ``data_path`` names its files (a folder or glob) where they have moved."""
    record = checkpoint.state.get("data", {}).get("stream")
    if not record:
        return None
    from sattn_dash.tabular.paths import find_table_files
    from sattn_dash.tabular.stream import StreamedData

    files = find_table_files(data_path, None, guarded=False) if data_path else None
    return StreamedData.reopen(record, prepared, files)


def _skipped_note(checkpoint: Checkpoint) -> list[str]:
    if not checkpoint.skipped:
        return []
    return [
        f"Resumed from the checkpoint of epoch {checkpoint.epoch}; newer ones were damaged "
        f"({'; '.join(checkpoint.skipped)})."
    ]


@contextlib.contextmanager
def _claiming(run_dir: Path) -> Iterator[None]:
    """Hold the run's resume lock, so two processes cannot both decide to resume it."""
    if not run_dir.is_dir():
        yield  # store.info names the missing run
        return
    with open(run_dir / RESUME_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
