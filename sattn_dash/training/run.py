"""A stored run as the analysis and dashboard parts see it.

A ``Run`` is a snapshot of the run folder when it was loaded: load it again to see a
live run move on. Each file is read the first time it is asked for; the model and the
fitted preprocessing (which import Keras and scikit-learn objects) only when used.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from sattn_dash.errors import RunError, UserError
from sattn_dash.files import read_json, write_json
from sattn_dash.training.config import TrainingConfig

SNAPSHOT_COLUMNS = ["epoch", "branch", "probability", "routing_weight", "temperature"]


@dataclass(frozen=True)
class RunInfo:
    """One line of the run list: what a user needs to pick a run."""

    run_id: str
    title: str
    status: str
    created_at: str
    model: str
    preset: str | None
    targets: tuple[str, ...]
    tasks: dict[str, str]
    epochs_run: int
    duration_s: float | None
    error: str | None
    user: str | None = None  # who started it, when sign-in is on (training.users)


class Run:
    """Everything stored about one run; see the module docstring for when files are read."""

    def __init__(self, info: RunInfo, directory: Path):
        self.info = info
        self.path = directory
        self.run_id = info.run_id
        self.title = info.title
        self.status = info.status
        self.error = info.error
        self.targets = list(info.targets)
        self.tasks = dict(info.tasks)
        self.epochs_run = info.epochs_run
        self.duration_s = info.duration_s

    def __repr__(self) -> str:
        return f"Run({self.run_id!r}, title={self.title!r}, status={self.status!r})"

    def damaged(self, name: str, exc: BaseException | str, fix: str | None = None) -> RunError:
        """The error for a file of this run that cannot be read: which file, why, and
        what to do (``fix``; by default delete the run or restore the file). Other runs
        never read it, so they keep working."""
        reason = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
        reason = " ".join(reason.split())[:200]
        fix = fix or (
            f"Delete the run (`sattn-dash delete {self.run_id}`), or restore the file from a backup"
        )
        return RunError(
            f"{name} of run {self.run_id} is damaged ({reason}). {fix}; every other run is "
            "unaffected."
        )

    def _json(
        self, name: str, default: Any = None, kind: type = dict, fix: str | None = None
    ) -> Any:
        file = self.path / name
        if not file.is_file():
            return default
        try:
            data = read_json(file)
        except (OSError, ValueError) as exc:
            raise self.damaged(name, exc, fix) from None
        if data is not None and not isinstance(data, kind):
            shape = "object" if kind is dict else kind.__name__
            raise self.damaged(name, f"holds a {type(data).__name__}, not a JSON {shape}", fix)
        return data

    def stored_table(self, name: str) -> pd.DataFrame | None:
        """A table kept with the run by ``keep_table``; None if there is none. A damaged
        one is an error naming it; the run itself is whole, so the fix is to compute the
        table again."""
        fix = f"Delete {self.path / name} and compute it again"
        records = self._json(name, kind=list, fix=fix)
        if records is None:
            return None
        if not all(isinstance(r, dict) for r in records):
            raise self.damaged(name, "holds no list of rows", fix)
        return pd.DataFrame.from_records(records)

    def keep_table(self, name: str, table: pd.DataFrame) -> None:
        """Keep ``table`` with the run (its rows as JSON, written atomically), so a result
        that took minutes outlives the process that computed it."""
        write_json(self.path / name, table.to_dict("records"))

    def _parsed(self, name: str, parse: Any, data: Any) -> Any:
        """``parse(data)`` for a file of the run, a wrong field being damage."""
        if data is None:
            return None
        try:
            return parse(data)
        except RunError:
            raise
        except Exception as exc:  # wrong types or missing fields: SpecError, TypeError...
            raise self.damaged(name, exc) from None

    def _csv(self, name: str) -> pd.DataFrame | None:
        file = self.path / name
        if not file.is_file() or file.stat().st_size == 0:
            return None
        try:
            return pd.read_csv(file)
        except Exception as exc:  # binary, an unterminated quote, bad encoding
            raise self.damaged(name, exc) from None

    @cached_property
    def spec(self):
        """The ``ModelSpec`` that was trained (None if the run failed before one existed)."""
        from sattn_dash.modeling import ModelSpec

        return self._parsed("spec.json", ModelSpec.from_dict, self._json("spec.json"))

    @property
    def combiner(self) -> str | None:
        """The combiner kind, from spec.json (no Keras); None before a spec exists."""
        return self.spec.combiner.kind if self.spec is not None else None

    @cached_property
    def schema(self):
        from sattn_dash.tabular import Schema

        return self._parsed("schema.json", Schema.from_dict, self._json("schema.json"))

    @cached_property
    def config(self) -> TrainingConfig:
        return self._parsed("config.json", TrainingConfig.from_dict, self._json("config.json", {}))

    @cached_property
    def card(self) -> dict[str, Any]:
        """Seed, data hash, library versions, device, timings and the final result."""
        return self._json("card.json", {})

    @cached_property
    def stream(self) -> dict[str, Any] | None:
        """How a streamed run read its table (``StreamedData.record``); None otherwise."""
        return self._json("stream.json")

    @cached_property
    def metrics(self) -> dict[str, dict[str, Any]]:
        """Test-split metrics: target -> metric -> value (empty if never evaluated)."""
        return self._json("metrics.json", {})

    @property
    def module_importance(self) -> dict[str, float] | None:
        """Branch -> importance of the final model (``training.importance``: the
        module probability, or the mean routing weight on the validation split for
        sparse_dense); None for concat and mean combiners."""
        return self.card.get("module_importance")

    @cached_property
    def history(self) -> pd.DataFrame:
        """One row per finished epoch: ``epoch``, Keras' logs, ``time_s``."""
        history = self._csv("history.csv")
        if history is None:
            return pd.DataFrame({"epoch": pd.Series(dtype="int64")})
        if "epoch" not in history.columns or not pd.api.types.is_integer_dtype(history["epoch"]):
            raise self.damaged("history.csv", "no whole-number epoch column")
        return history

    @cached_property
    def snapshot_records(self) -> list[dict[str, Any]]:
        """The per-epoch snapshots as stored (a torn last line is ignored)."""
        file = self.path / "snapshots.jsonl"
        if not file.is_file():
            return []
        records = []
        for line in file.read_text(encoding="utf-8").splitlines():
            try:
                records.append(json.loads(line))
            except ValueError:
                continue
        return records

    @cached_property
    def snapshots(self) -> pd.DataFrame:
        """Tidy per-epoch branch weights: epoch, branch, probability (combiner's module
        probabilities), routing_weight (mean top-k routing weight of a sparse_dense
        combiner), temperature."""
        rows = []
        for record in self.snapshot_records:
            probabilities = record.get("module_probabilities") or {}
            routing = record.get("routing") or {}
            for branch in dict.fromkeys([*probabilities, *routing]):
                rows.append(
                    {
                        "epoch": record.get("epoch"),
                        "branch": branch,
                        "probability": probabilities.get(branch),
                        "routing_weight": routing.get(branch),
                        "temperature": record.get("temperature"),
                    }
                )
        return pd.DataFrame(rows, columns=SNAPSHOT_COLUMNS).astype(
            {"probability": "float64", "routing_weight": "float64", "temperature": "float64"}
        )

    @cached_property
    def predictions(self) -> pd.DataFrame:
        """Test-split predictions (see ``evaluation.predictions_frame`` for the columns)."""
        frame = self._csv("predictions.csv")
        return frame if frame is not None else pd.DataFrame()

    @cached_property
    def prepared(self):
        """The fitted preprocessing and the splits, as ``PreparedData``."""
        directory = self.path / "prepared"
        if not directory.is_dir():
            raise RunError(
                f"Run {self.run_id} has no saved preprocessing (it is {self.status}); "
                "train it again."
            )
        from sattn_dash.tabular import PreparedData

        return self._parsed("prepared/", PreparedData.load, directory)

    @property
    def model_stamp(self) -> float:
        """When the model file was last written (0.0 before there is one): what results
        computed from the model are keyed by, so a retrained model is not served old ones."""
        model = self.path / "model.keras"
        return model.stat().st_mtime if model.is_file() else 0.0

    @cached_property
    def model(self):
        """The trained ``keras.Model`` (best weights when early stopping restored them)."""
        file = self.path / "model.keras"
        if not file.is_file():
            raise RunError(
                f"Run {self.run_id} has no saved model (it is {self.status}"
                + (f": {self.error}" if self.error else "")
                + "); train it again."
            )
        from sattn_dash.modeling import load_model

        try:
            return load_model(file)
        except UserError:
            raise
        except Exception as exc:  # cut short or garbled: Keras reports it as anything
            import zipfile

            whole = zipfile.is_zipfile(file)
            reason = (
                _first_line(exc)
                if whole
                else "not a whole .keras archive: cut short or overwritten"
            )
            raise self.damaged("model.keras", reason) from None

    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        """Predictions for new rows of the original table (same columns as the training
        data; target columns may be absent)."""
        from sattn_dash.training.evaluation import predict_outputs, predictions_frame

        X = self.prepared.transform(df)
        outputs = predict_outputs(self.model, X, list(self.prepared.tasks))
        return predictions_frame(outputs, self.prepared, index=df.index)


def _first_line(exc: BaseException) -> str:
    """A library's error in one line (Keras wraps a bad zip as "File not found")."""
    cause = exc.__cause__ or exc.__context__
    shown = cause if cause is not None and not isinstance(exc, OSError) else exc
    return f"{type(shown).__name__}: {str(shown).strip().splitlines()[0] if str(shown).strip() else ''}"
