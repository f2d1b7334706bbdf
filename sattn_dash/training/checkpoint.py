"""Per-epoch checkpoints that let a killed run carry on where it stopped.

After every epoch the ``Checkpointer`` callback writes ``checkpoints/epoch-NNNNNN/`` in the
run folder: ``state.npz`` (every model variable, dropout seed states included, and every
optimizer variable, so the step of a learning-rate schedule too, plus the numbers and
arrays of each other callback: early stopping's best value, wait count and best
weights) and ``checkpoint.json`` (the epoch, what each array is, the callbacks' other
state, the session's state such as the history so far, and the sha256 of ``state.npz``).

Each checkpoint folder is built beside the others and moved into place in one step, then
all but the newest ``KEEP`` are removed: the previous checkpoint survives until the next
one is whole (Keras' ``BackupAndRestore(double_checkpoint=True)`` keeps two the same way;
it is not used because it saves neither the seed states nor any callback's state, and
writes its weights and its epoch in two separate, non-atomic steps). Reading takes the
newest checkpoint that is whole and matches its checksum, and says what it skipped.
"""

from __future__ import annotations

import hashlib
import io
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sattn_dash.errors import RunError
from sattn_dash.files import read_json, write_dir, write_json

log = logging.getLogger(__name__)

CHECKPOINTS = "checkpoints"
KEEP = 2
FORMAT = 1
_SCALARS = (bool, int, float, str, type(None), np.number, np.bool_)


@dataclass(frozen=True)
class Checkpoint:
    """One readable checkpoint: the epochs done, its manifest and its arrays."""

    epoch: int
    path: Path
    manifest: dict[str, Any]
    arrays: dict[str, np.ndarray]
    skipped: tuple[str, ...] = field(default=())  # newer checkpoints that were damaged

    @property
    def state(self) -> dict[str, Any]:
        """What the training session stored beside the model (history, timings...)."""
        return self.manifest.get("session", {})

    @property
    def training_over(self) -> bool:
        """True when fit had already ended (early stopping) at this checkpoint."""
        return bool(self.manifest.get("stop_training"))

    def restore(self, model: Any, callbacks: list[Any]) -> None:
        """Put the model's, the optimizer's and the callbacks' state back."""
        optimizer = getattr(model, "optimizer", None)
        if optimizer is not None and not optimizer.built:
            optimizer.build(model.trainable_variables)
        _assign(model.variables, self.manifest["model"], self.arrays, "model", model)
        if optimizer is not None:
            _assign(
                optimizer.variables, self.manifest["optimizer"], self.arrays, "optimizer", model
            )
        saved = self.manifest["callbacks"]
        names = [type(c).__name__ for c in callbacks]
        if names != [c["class"] for c in saved]:
            raise RunError(
                f"The checkpoint in {self.path} was written with the callbacks "
                f"{[c['class'] for c in saved]}, but this training uses {names}; the run "
                "cannot be resumed with another training recipe. Train it again."
            )
        for callback, record in zip(callbacks, saved, strict=True):
            for name, value in _decode(record["state"], self.arrays).items():
                setattr(callback, name, value)


class Checkpointer:
    """Builds the Keras callback (``callback()``) that checkpoints a fit every epoch.

    ``callbacks`` are the other callbacks of the same fit (their state is saved and put
    back); ``session_state()`` returns what the session wants back on resume (JSON);
    ``resume_from`` is restored when fit begins, after the callbacks reset themselves.
    """

    def __init__(
        self,
        run_dir: Path,
        callbacks: list[Any],
        session_state: Callable[[], dict[str, Any]],
        resume_from: Checkpoint | None = None,
    ):
        self.directory = Path(run_dir) / CHECKPOINTS
        # A callback that holds nothing of the run (``checkpointed = False``) is left
        # out, so adding one does not make older checkpoints unresumable.
        self.callbacks = [c for c in callbacks if getattr(c, "checkpointed", True)]
        self.session_state = session_state
        self.resume_from = resume_from

    def callback(self) -> Any:
        import keras

        checkpointer = self

        class _Callback(keras.callbacks.Callback):
            # Not async_safe: it must see the epoch's end after every other callback.
            def on_train_begin(self, logs=None):
                if checkpointer.resume_from is not None:
                    checkpointer.resume_from.restore(self.model, checkpointer.callbacks)

            def on_epoch_end(self, epoch, logs=None):
                checkpointer.save(self.model, epoch + 1)

        return _Callback()

    def finish(self, model: Any) -> None:
        """Resume a run whose fit had already ended: restore, then end the callbacks the
        way ``fit`` would have (early stopping puts its best weights back)."""
        self.resume_from.restore(model, self.callbacks)
        for callback in self.callbacks:
            callback.set_model(model)
            callback.on_train_end()

    def save(self, model: Any, epoch: int) -> Path:
        """Write the checkpoint of ``epoch`` (epochs done) and drop the older ones."""
        arrays: dict[str, np.ndarray] = {}
        optimizer = getattr(model, "optimizer", None)
        manifest = {
            "format": FORMAT,
            "epoch": epoch,
            "stop_training": bool(model.stop_training),
            "model": _encode_variables(model.variables, "model", arrays),
            "optimizer": _encode_variables(
                optimizer.variables if optimizer is not None else [], "optimizer", arrays
            ),
            "callbacks": [
                {"class": type(c).__name__, "state": _encode_state(c, f"callback{i}", arrays)}
                for i, c in enumerate(self.callbacks)
            ],
            "session": self.session_state(),
        }
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        payload = buffer.getvalue()
        manifest["sha256"] = hashlib.sha256(payload).hexdigest()

        def write(folder: Path) -> None:
            (folder / "state.npz").write_bytes(payload)
            write_json(folder / "checkpoint.json", manifest)

        self.directory.mkdir(exist_ok=True)
        target = self.directory / f"epoch-{epoch:06d}"
        if target.exists():  # the same epoch again (a resumed run redoing it)
            shutil.rmtree(target)
        write_dir(target, write)
        _prune(self.directory)
        return target


def latest_checkpoint(run_dir: Path) -> Checkpoint | None:
    """The newest whole checkpoint of a run (None if it has none); damaged newer ones
    are named in ``Checkpoint.skipped``."""
    skipped: list[str] = []
    for folder in _folders(Path(run_dir) / CHECKPOINTS):
        try:
            return _read(folder, tuple(skipped))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            reason = f"{folder.name}: {type(exc).__name__}: {exc}".splitlines()[0][:200]
            log.warning("Skipping checkpoint %s", reason)
            skipped.append(reason)
    if skipped:
        raise RunError(
            f"Every checkpoint in {Path(run_dir) / CHECKPOINTS} is damaged "
            f"({'; '.join(skipped)}); the run cannot be resumed. Train it again."
        )
    return None


def remove_checkpoints(run_dir: Path) -> None:
    """Drop a run's checkpoints once it has ended for good (they only serve a resume)."""
    shutil.rmtree(Path(run_dir) / CHECKPOINTS, ignore_errors=True)


def has_checkpoint(run_dir: Path) -> bool:
    """Whether a run folder holds a checkpoint to resume from (no file is read)."""
    return bool(_folders(Path(run_dir) / CHECKPOINTS))


def checkpoint_bytes(run_dir: Path) -> int:
    folder = Path(run_dir) / CHECKPOINTS
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) if folder.is_dir() else 0


# --- reading and writing -------------------------------------------------------------------
def _folders(directory: Path) -> list[Path]:
    """Checkpoint folders, newest first (temporary folders of a cut-off write are not)."""
    if not directory.is_dir():
        return []
    return sorted((p for p in directory.glob("epoch-*") if p.is_dir()), reverse=True)


def _prune(directory: Path) -> None:
    for old in _folders(directory)[KEEP:]:
        shutil.rmtree(old, ignore_errors=True)
    for temp in directory.glob(".epoch-*"):  # left behind by a process killed mid-write
        shutil.rmtree(temp, ignore_errors=True)


def _read(folder: Path, skipped: tuple[str, ...]) -> Checkpoint:
    manifest = read_json(folder / "checkpoint.json")
    if manifest.get("format") != FORMAT:
        raise ValueError(f"unknown checkpoint format {manifest.get('format')!r}")
    payload = (folder / "state.npz").read_bytes()
    if hashlib.sha256(payload).hexdigest() != manifest["sha256"]:
        raise ValueError("state.npz does not match its checksum (damaged or cut short)")
    with np.load(io.BytesIO(payload), allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    return Checkpoint(int(manifest["epoch"]), folder, manifest, arrays, skipped)


def _encode_variables(variables: list[Any], prefix: str, arrays: dict) -> list[dict]:
    records = []
    for index, variable in enumerate(variables):
        key = f"{prefix}/{index}"
        arrays[key] = np.asarray(variable)
        records.append({"key": key, "path": variable.path, "shape": list(arrays[key].shape)})
    return records


def _assign(variables: list[Any], records: list[dict], arrays: dict, what: str, model) -> None:
    # Shapes, in order: paths carry process-wide counters (seed_generator_7) that differ
    # between the process that saved and the one that resumes.
    found = [list(v.shape) for v in variables]
    saved = [r["shape"] for r in records]
    if found != saved:
        raise RunError(
            f"The checkpoint's {what} state does not fit model {model.name!r} "
            f"({len(saved)} saved variables, {len(found)} in the model); it was written "
            "for another architecture. Train the run again."
        )
    for variable, record in zip(variables, records, strict=True):
        variable.assign(arrays[record["key"]])


def _is_array_list(value: Any) -> bool:
    # ``get_weights()`` hands a 0-d variable (a combiner's temperature) back as a numpy
    # scalar, not an array: such a list is still the model's weights.
    return isinstance(value, list | tuple) and all(
        isinstance(v, np.ndarray | np.generic) for v in value
    )


def _encode_state(callback: Any, prefix: str, arrays: dict) -> dict[str, Any]:
    """A callback's own state: its public numbers, flags, text and arrays (the model,
    functions and other objects are wiring, rebuilt with the callback)."""
    state: dict[str, Any] = {}
    for name, value in vars(callback).items():
        if name.startswith("_") or name in ("model", "params", "validation_data"):
            continue
        key = f"{prefix}/{name}"
        if isinstance(value, np.ndarray | np.number | float | int) and not isinstance(value, bool):
            arrays[key] = np.asarray(value)
            kind = "ndarray" if isinstance(value, np.ndarray) else type(value).__name__
            state[name] = {"kind": kind, "key": key}
        elif isinstance(value, _SCALARS):
            state[name] = {"kind": "plain", "value": value}
        elif _is_array_list(value) and value:
            for index, item in enumerate(value):
                arrays[f"{key}/{index}"] = np.asarray(item)
            state[name] = {"kind": "arrays", "key": key, "count": len(value)}
        elif isinstance(value, list | tuple) and value:
            log.warning(
                "%s.%s is not checkpointed (a list of %s)",
                type(callback).__name__,
                name,
                sorted({type(v).__name__ for v in value}),
            )
    return state


def _decode(state: dict[str, Any], arrays: dict) -> dict[str, Any]:
    values = {}
    for name, record in state.items():
        kind = record["kind"]
        if kind == "plain":
            values[name] = record["value"]
        elif kind == "arrays":
            values[name] = [arrays[f"{record['key']}/{i}"] for i in range(record["count"])]
        elif kind == "ndarray":
            values[name] = arrays[record["key"]]
        elif kind == "int":
            values[name] = int(arrays[record["key"]])
        elif kind == "float":
            values[name] = float(arrays[record["key"]])
        else:  # a numpy scalar type such as float32
            values[name] = arrays[record["key"]][()]
    return values


def trained_monitor(checkpoint: Checkpoint) -> tuple[str, str] | None:
    """``(log name, "min" | "max")`` the run's early stopping watched, so a resume goes
    on watching it where the automatic rule changed since (a binary target's ROC AUC
    became its log loss on 2026-12-07): the checkpoint records it; one written before
    it did holds its early stopping's own; None when it had no early stopping."""
    recorded = checkpoint.state.get("monitor")
    if recorded:
        return recorded[0], recorded[1]
    for callback in checkpoint.manifest.get("callbacks", []):
        state = callback["state"]
        if {"monitor", "mode"} <= state.keys():
            return state["monitor"]["value"], state["mode"]["value"]
    return None
