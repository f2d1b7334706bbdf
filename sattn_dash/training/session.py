"""A training session: ``model.fit`` in a worker thread that a page can watch and stop.

The worker never touches Streamlit. It reports through a lock-guarded status (read with
``status()``), and everything it learns goes to the run folder as it goes: a refresh,
a second tab or a crashed process loses nothing already written.

Life of a session: ``queued`` -> ``running`` (phases: preparing data, building model,
training, evaluating, saving) -> ``finished`` | ``stopped`` (``stop()`` was asked; what
was learned is kept and evaluated) | ``failed`` (a NaN loss or an exception, with its
reason). ``stopping`` is shown between ``stop()`` and the end of the current batch.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import platform
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from sattn_dash.errors import UserError, disk_full, where_full
from sattn_dash.training import owner
from sattn_dash.training.config import TrainingConfig
from sattn_dash.training.pipeline import resolve_spec
from sattn_dash.training.store import FINAL_STATES, RunStore

if TYPE_CHECKING:
    import pandas as pd

    from sattn_dash.modeling.spec import ModelSpec
    from sattn_dash.tabular.prepared import PreparedData
    from sattn_dash.tabular.schema import Schema
    from sattn_dash.tabular.stream import StreamedData
    from sattn_dash.training.devices import DevicePlan

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SessionStatus:
    """A consistent copy of a session's progress, safe to read from any thread."""

    run_id: str
    state: str
    phase: str = ""
    epoch: int = 0
    epochs: int = 0
    batch: int = 0
    batches: int = 0
    logs: dict[str, float] = field(default_factory=dict)
    elapsed_s: float = 0.0
    eta_s: float | None = None
    error: str | None = None
    error_kind: str | None = None  # "user" (the message says what to change) or "internal"
    epochs_run: int = 0
    best_epoch: int | None = None

    @property
    def done(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def progress(self) -> float:
        """Fraction of the planned batches done (early stopping may end sooner)."""
        if self.state == "finished":
            return 1.0
        if not self.epochs or not self.batches:
            return 0.0
        done = (max(self.epoch, 1) - 1) * self.batches + self.batch
        return min(1.0, done / (self.epochs * self.batches))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class NanLossError(UserError):
    """The loss became NaN or infinite, so the weights are no longer numbers."""


class TrainingSession:
    """Train one spec on one table in the background; see the module docstring.

    ``spec`` is a ``ModelSpec`` or a preset name. ``prepared`` skips preparing the table
    again when the caller already did it with the same seed and split sizes.
    ``data_path`` is the file the table came from (kept so a resume can check it);
    ``resume`` is a ``training.resume.ResumePoint``: the session carries on that run
    from its checkpoint instead of creating a new one (see ``training.resume``).
    ``callbacks`` are more Keras callbacks for ``fit`` (a search's pruning, for one: to
    end a run early it sets ``model.stop_training``, as early stopping does); ``files``
    are more JSON files for the run folder, written with it (a search's trial tag).
    ``streamed`` is a ``tabular.stream.StreamedData`` (a table larger than memory), or a
    function that makes one, called in the worker (its exact statistics take a pass over
    the table): the session trains and evaluates on its record batches
    (``training.streaming``), and ``prepared`` becomes the stream's sample (what the
    analysis pages read).
    """

    def __init__(
        self,
        df: pd.DataFrame | None,
        schema: Schema,
        spec: ModelSpec | str,
        config: TrainingConfig | None = None,
        store: RunStore | None = None,
        *,
        prepared: PreparedData | None = None,
        title: str | None = None,
        source: str | None = None,
        on_done: Callable[[TrainingSession], None] | None = None,
        data_path: str | None = None,
        resume: Any = None,
        callbacks: Sequence[Any] = (),
        files: dict[str, Any] | None = None,
        streamed: StreamedData | None = None,
    ):
        self.config = config or TrainingConfig()
        self.store = store or RunStore()
        self._df = df
        self._schema = schema
        self._spec = spec
        self.streamed = streamed
        self.prepared = prepared
        self.model = None
        self._on_done = on_done
        self._callbacks = list(callbacks)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._finished = threading.Event()
        self._thread: threading.Thread | None = None
        self._started_at: float | None = None
        self._fit_started_at: float | None = None
        self._timings: dict[str, float] = {}
        self._started_wall = datetime.now(UTC)
        self._nan: NanLossError | None = None
        self._best_val = math.inf
        self._best_loss = math.inf  # breaks ties of _best_val, as early stopping does
        self._monitor = ("val_loss", "min")  # what early stopping watches (set in _build)
        self._stopped_early = False
        self.data_path = data_path
        self.resumed_from = resume
        self._before: dict[str, Any] = {}  # what earlier processes of a resumed run did
        if resume is not None:
            self.run_id = resume.run_id
            self._writer = self.store.writer(self.run_id)
            self._status = SessionStatus(
                self.run_id, "queued", "waiting", epochs=self.config.epochs
            )
            self._restore_progress(resume.checkpoint)
            owner.claim(self.run_id)
            return

        preset = spec if isinstance(spec, str) else getattr(spec, "preset", None)
        files = {
            **(files or {}),
            "schema.json": schema.to_dict(),
            "config.json": self.config.to_dict(),
        }
        if not isinstance(spec, str):
            files["spec.json"] = spec.to_dict()
        self.run_id = self.store.create(
            title,
            targets={t.name: t.task for t in schema.targets},
            model=spec if isinstance(spec, str) else spec.name,
            preset=preset,
            source=source,
            files=files,
        )
        self._writer = self.store.writer(self.run_id)
        self._status = SessionStatus(self.run_id, "queued", "waiting", epochs=self.config.epochs)

    # --- the public face ---------------------------------------------------------------
    def start(self) -> TrainingSession:
        """Start training in a worker thread (returns at once)."""
        with self._lock:
            if self._thread is not None or self._status.state != "queued":
                return self
            self._thread = threading.Thread(
                target=self.run, name=f"training-{self.run_id}", daemon=True
            )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask training to stop after the current batch; what was learned is kept."""
        self._stop.set()
        if self.model is not None:
            # Keras checks this after every batch; the callback re-asserts it at each
            # batch start in case fit() had not yet begun (fit resets it).
            self.model.stop_training = True
        with self._lock:
            state = self._status.state
            if state == "running":
                self._status = dataclasses.replace(self._status, state="stopping")
            started = self._thread is not None
        if state == "queued" and not started:
            self._end("stopped", phase="stopped before it started")

    def status(self) -> SessionStatus:
        with self._lock:
            status = self._status
        if self._started_at is not None and not status.done:
            status = dataclasses.replace(status, elapsed_s=time.monotonic() - self._started_at)
        return status

    def wait(self, timeout: float | None = None) -> SessionStatus:
        """Block until the session ends (or ``timeout`` seconds pass); returns the status."""
        self._finished.wait(timeout)
        return self.status()

    @property
    def done(self) -> bool:
        return self._finished.is_set()

    @property
    def started(self) -> bool:
        return self._thread is not None

    # --- the hooks the Keras callback calls ----------------------------------------------
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def on_progress(self, epoch: int, batch: int, logs: dict[str, float] | None) -> None:
        with self._lock:
            current = self._status
            if (epoch, batch) < (current.epoch, current.batch):
                return  # a late report from Keras' callback thread
            changes: dict[str, Any] = {"epoch": epoch, "batch": batch}
            if logs:
                changes["logs"] = {**current.logs, **_floats(logs)}
            changes["eta_s"] = self._eta(epoch, batch, current.batches)
            self._status = dataclasses.replace(current, **changes)

    def on_nan(self, epoch: int, batch: int, logs: dict[str, float]) -> None:
        lr = self._spec.learning_rate if not isinstance(self._spec, str) else None
        self._nan = NanLossError(
            f"Training diverged: the loss became {logs.get('loss')} at epoch {epoch}, batch "
            f"{batch}, so the weights are no longer numbers. Lower the learning rate"
            + (f" (it was {lr:g})" if lr else "")
            + ", or check the data for extreme values, then train again."
        )

    def on_epoch(self, epoch: int, batches: int, logs: dict[str, float], snapshot: dict) -> None:
        elapsed = time.monotonic() - (self._fit_started_at or time.monotonic())
        row = {"epoch": epoch, **_floats(logs), "batches": batches, "time_s": round(elapsed, 4)}
        self._writer.history_row(row)
        if snapshot:
            self._writer.snapshot({"epoch": epoch, **snapshot})
        with self._lock:
            best = self._status.best_epoch
            name, mode = self._monitor
            val = logs.get(name)
            if val is not None and math.isfinite(val):
                val = -val if mode == "max" else val  # smaller is better from here on
                loss = logs.get("val_loss", math.inf)
                loss = loss if math.isfinite(loss) else math.inf
                # The epoch early stopping keeps: a better metric, or as good a metric
                # with a lower validation loss (training.early_stopping).
                if best is None or (val, loss) < (self._best_val, self._best_loss):
                    self._best_val, self._best_loss, best = val, loss, epoch
            self._status = dataclasses.replace(
                self._status,
                epoch=epoch,
                epochs_run=epoch,
                best_epoch=best,
                logs={**self._status.logs, **_floats(logs)},
            )
        self.heartbeat()

    def heartbeat(self) -> None:
        """Write the status file, which also proves this process is still alive."""
        status = self.status()
        self._writer.status(
            {
                **status.to_dict(),
                **owner.this_owner(),
                "heartbeat": time.time(),
                "duration_s": round(status.elapsed_s, 3),
            }
        )

    # --- the work ------------------------------------------------------------------------
    def run(self) -> SessionStatus:
        """Train in the calling thread (``start`` calls this in a worker thread)."""
        with self._lock:
            if self._status.state != "queued":
                return self._status
            self._started_at = time.monotonic() - self._before.get("elapsed_s", 0.0)
            self._status = dataclasses.replace(self._status, state="running", phase="starting")
        if self.resumed_from is None:
            self._started_wall = datetime.now(UTC)
        try:
            self.heartbeat()
            self._writer.reserve()  # room for the last word should the disk fill up
            self._train()
        except UserError as exc:
            self._end("failed", error=str(exc), error_kind="user")
        except Exception as exc:  # captured: a session never loses its reason
            if disk_full(exc):  # the machine's, not a bug: kept to resume once freed
                self._end("interrupted", error=self._disk_full(exc), error_kind="disk")
                return self.status()
            log.exception("Run %s failed", self.run_id)
            self._end(
                "failed",
                error=f"Internal error ({type(exc).__name__}: {exc}); this is a bug in sattn-dash.",
                error_kind="internal",
                detail=traceback.format_exc(),
            )
        return self.status()

    def _disk_full(self, exc: OSError) -> str:
        from sattn_dash.training.checkpoint import latest_checkpoint

        try:
            checkpoint = latest_checkpoint(self._writer.directory)
        except UserError:
            checkpoint = None
        if checkpoint is None:
            then = "train it again"
            kept = "it has no checkpoint yet (it stopped before its first epoch ended)"
        else:
            then = f"`sattn-dash resume {self.run_id}` to carry on"
            kept = f"its checkpoint of epoch {checkpoint.epoch} is kept"
        return (
            f"The disk is full: {where_full(exc, str(self._writer.directory))} could not be "
            f"written. Run {self.run_id} is interrupted, not failed, and {kept}. Free some "
            f"space there, then {then}."
        )

    def _phase(self, phase: str) -> bool:
        """Enter a phase; False when a stop was asked before it (the run ends there)."""
        with self._lock:
            self._status = dataclasses.replace(self._status, phase=phase)
        self.heartbeat()
        return not self._stop.is_set()

    def _timed(self, name: str, start: float) -> None:
        self._timings[name] = round(time.perf_counter() - start, 4)

    def _train(self) -> None:
        from sattn_dash.tabular import prepare

        config = self.config
        t = time.perf_counter()
        if not self._phase("preparing data"):
            return self._end("stopped")
        if callable(self.streamed):
            self.streamed = self.streamed()
        if self.streamed is not None:
            self.prepared = self.streamed.prepared
        elif self.prepared is None:
            self.prepared = prepare(self._df, self._schema, **config.prepare_arguments())
        prepared = self.prepared
        self._df = None  # the prepared splits are all that is needed from here on
        spec = resolve_spec(self._spec, prepared, learning_rate=config.learning_rate)
        self._spec = spec
        if self.resumed_from is None:  # a resumed run keeps the files it started with
            self._writer.json("spec.json", spec.to_dict())
            self._writer.prepared(prepared)
            if self.streamed is not None:
                self._writer.json("stream.json", self.streamed.record())
        self._timed("prepare_s", t)

        if not self._phase("building model"):
            return self._end("stopped")
        t = time.perf_counter()
        model, dataset, plan, fit_kwargs = self._build(spec, prepared)
        self.model = model
        self._timed("build_s", t)

        if not self._phase("training"):
            return self._end("stopped")
        t = time.perf_counter()
        self._fit(model, dataset, fit_kwargs)
        self._timed("train_s", t)
        if self._nan is not None:
            raise self._nan
        self._stopped_early = self._stop.is_set()  # a later stop() changes nothing

        self._phase("evaluating")
        t = time.perf_counter()
        metrics, predictions = self._evaluate(model, prepared)
        self._timed("evaluate_s", t)

        self._phase("saving")
        t = time.perf_counter()
        self._writer.model(model)
        self._writer.json("metrics.json", metrics)
        self._writer.predictions(predictions)
        self._timed("save_s", t)
        self._writer.json("card.json", self._card(spec, prepared, plan, model))
        self._end("stopped" if self._stopped_early else "finished")

    def _build(
        self, spec: ModelSpec, prepared: PreparedData
    ) -> tuple[Any, Any, Any, dict[str, Any]]:
        from sattn_dash.training.callbacks import SessionCallback, Snapshotter
        from sattn_dash.training.checkpoint import Checkpointer, trained_monitor
        from sattn_dash.training.devices import select_device
        from sattn_dash.training.pipeline import early_stopping_monitor, prepare_fit
        from sattn_dash.training.streaming import prepare_streamed_fit

        config = self.config
        plan = select_device(config.device)
        checkpoint = self.resumed_from.checkpoint if self.resumed_from is not None else None
        first_epoch = checkpoint.epoch if checkpoint else 0
        monitor = trained_monitor(checkpoint) if checkpoint else None
        prepare = prepare_fit if self.streamed is None else prepare_streamed_fit
        data = self.streamed or prepared
        model, dataset, fit_kwargs = prepare(
            spec, data, config, plan.strategy, first_epoch, monitor
        )
        self._monitor = monitor or early_stopping_monitor(config, prepared, model)
        # kept: a resume trains with it
        self._batch_size = config.batch_size_for(data.rows["train"])
        batches = fit_kwargs["steps_per_epoch"]
        with self._lock:
            self._status = dataclasses.replace(self._status, batches=batches)
        X_val = np.asarray(prepared.split("val")[0], dtype=np.float32)
        callbacks = fit_kwargs["callbacks"]
        callbacks.insert(0, SessionCallback(self, Snapshotter(model, X_val)))
        callbacks.extend(self._callbacks)
        self._checkpointer = Checkpointer(
            self._writer.directory, callbacks, self._checkpoint_state, checkpoint
        )
        callbacks.append(self._checkpointer.callback())  # last: it sees every other's state
        return model, dataset, plan, fit_kwargs

    def _fit(self, model: Any, dataset: Any, fit_kwargs: dict[str, Any]) -> None:
        self._fit_started_at = time.monotonic() - self._before.get("fit_elapsed_s", 0.0)
        if self.resumed_from is not None and self.resumed_from.checkpoint.training_over:
            self._checkpointer.finish(model)  # killed after its last epoch: nothing to fit
            if self._before.get("stopped_by_user"):
                self._stop.set()
            return
        model.fit(dataset, **fit_kwargs)

    def _checkpoint_state(self) -> dict[str, Any]:
        """What a resume needs besides the model: the history so far, timings, data."""
        history, snapshots = self._writer.progress()
        status = self.status()
        return {
            "history": history,
            "snapshots": snapshots,
            "best_epoch": status.best_epoch,
            "best_val": self._best_val if math.isfinite(self._best_val) else None,
            "best_loss": self._best_loss if math.isfinite(self._best_loss) else None,
            "elapsed_s": status.elapsed_s,
            "fit_elapsed_s": time.monotonic() - (self._fit_started_at or time.monotonic()),
            "started_at": self._started_wall.isoformat(),
            "stopped_by_user": self._stop.is_set(),
            "batch_size": self._batch_size,
            "monitor": list(self._monitor),
            "resumed": self._before.get("resumed", []),
            "data": {
                "hash": self.prepared.data_hash,
                "path": self.data_path,
                "stream": self.streamed.record() if self.streamed is not None else None,
            },
        }

    def _restore_progress(self, checkpoint: Any) -> None:
        """Pick up a resumed run's history, timings and best epoch from its checkpoint."""
        state = checkpoint.state
        self._writer.restore(state["history"], state["snapshots"])
        best_val, best_loss = state.get("best_val"), state.get("best_loss")
        self._best_val = math.inf if best_val is None else float(best_val)
        self._best_loss = math.inf if best_loss is None else float(best_loss)
        self._started_wall = datetime.fromisoformat(state["started_at"])
        resumed = {
            "from_epoch": checkpoint.epoch,
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "notes": list(self.resumed_from.notes),
        }
        self._before = {**state, "resumed": [*state.get("resumed", []), resumed]}
        self.data_path = self.data_path or state.get("data", {}).get("path")
        self._status = dataclasses.replace(
            self._status,
            epoch=checkpoint.epoch,
            epochs_run=checkpoint.epoch,
            best_epoch=state.get("best_epoch"),
        )

    def _eta(self, epoch: int, batch: int, batches: int) -> float | None:
        if self._fit_started_at is None or not batches:
            return None
        done = (epoch - 1) * batches + batch
        if done <= 0:
            return None
        per_batch = (time.monotonic() - self._fit_started_at) / done
        return round(per_batch * (self.config.epochs * batches - done), 1)

    def _evaluate(self, model: Any, prepared: PreparedData) -> tuple[dict, Any]:
        from sattn_dash.training.evaluation import (
            evaluate_outputs,
            predict_outputs,
            predictions_frame,
        )

        X_test, y_test = prepared.split("test")
        outputs = predict_outputs(model, X_test, list(prepared.tasks), once=True)
        if self.streamed is not None:  # metrics on every test row, the frame on the sample's
            from sattn_dash.training.streaming import evaluate_streamed

            metrics = evaluate_streamed(model, self.streamed)
        else:
            metrics = evaluate_outputs(outputs, y_test, prepared.tasks)
        frame = predictions_frame(outputs, prepared, y_test, prepared.row_index.get("test"))
        return metrics, frame

    def _card(
        self, spec: ModelSpec, prepared: PreparedData, plan: DevicePlan, model: Any
    ) -> dict[str, Any]:
        from sattn_dash.training.importance import branch_importance

        status = self.status()
        return {
            "run_id": self.run_id,
            "spec": spec.to_dict(),
            "config": self.config.to_dict(),
            "seed": self.config.seed,
            "data_hash": prepared.data_hash,
            "rows": dict((self.streamed or prepared).rows),
            "streamed": self._stream_card(),
            "features": len(prepared.feature_names),
            "parameters": int(model.count_params()),
            "device": {
                "name": plan.name,
                "description": plan.description,
                "replicas": plan.replicas,
            },
            "versions": library_versions(),
            "started_at": self._started_wall.isoformat(timespec="seconds"),
            "timings": dict(self._timings),
            "epochs_run": status.epochs_run,
            "best_epoch": status.best_epoch,
            "monitor": dict(zip(("name", "mode"), self._monitor, strict=True)),
            "stopped_by_user": self._stopped_early,
            "module_importance": branch_importance(model, prepared, seed=self.config.seed),
            "data_path": self.data_path,
            "resumed": self._before.get("resumed", []),
        }

    def _stream_card(self) -> dict[str, Any] | None:
        """How a streamed run read its table (None for a table held in memory)."""
        if self.streamed is None:
            return None
        return {
            "table_rows": self.streamed.stream.n_rows,
            "files": len(self.streamed.stream.files),
            "sample_rows": sum(self.prepared.rows.values()),
        }

    def _end(
        self,
        state: str,
        *,
        phase: str | None = None,
        error: str | None = None,
        error_kind: str | None = None,
        detail: str | None = None,
    ) -> None:
        with self._lock:
            if self._status.done:
                return
            self._status = dataclasses.replace(
                self._status,
                state=state,
                phase=phase or state,
                error=error,
                error_kind=error_kind,
                eta_s=None,
                elapsed_s=(time.monotonic() - self._started_at) if self._started_at else 0.0,
            )
        status = self._status
        record = {
            **status.to_dict(),
            **owner.this_owner(),
            "heartbeat": time.time(),
            "duration_s": round(status.elapsed_s, 3),
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        if detail:
            record["traceback"] = detail
        try:
            self._writer.release_reserve()
            self._writer.status(record)
        except OSError as exc:  # the run reads as interrupted once this process is gone
            log.warning("Could not write the final status of run %s: %s", self.run_id, exc)
        from sattn_dash.training.checkpoint import remove_checkpoints

        if state != "interrupted":
            remove_checkpoints(self._writer.directory)  # they only serve to resume a run
        owner.release(self.run_id)
        self._finished.set()
        if self._on_done is not None:
            self._on_done(self)


def _floats(logs: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in logs.items() if isinstance(v, int | float | np.number)}


def library_versions() -> dict[str, str]:
    import keras
    import pandas
    import sklearn
    import tensorflow

    import sattn_dash

    return {
        "python": platform.python_version(),
        "sattn_dash": sattn_dash.__version__,
        "tensorflow": tensorflow.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "pandas": pandas.__version__,
        "scikit-learn": sklearn.__version__,
        "platform": platform.platform(),
    }
