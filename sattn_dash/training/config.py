"""Training settings: how long, how big a batch, which seed and device."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from sattn_dash.errors import SpecError

DEVICE_CHOICES = ("auto", "cpu", "gpu")
# What early stopping watches: "auto" is the validation metric a user reads for the
# (single) target (its log loss for binary, accuracy for multiclass, RMSE for regression; the
# summed validation loss with several targets), "val_loss" the validation loss.
MONITORS = ("auto", "val_loss")
# The smallest automatic batch size. It was 32 until 2026-12-06; a run checkpointed
# before then resumes with that (training.resume), so it stays the same run.
AUTO_BATCH_FLOOR = 64
LEGACY_BATCH_FLOOR = 32
# Settings a config written before they existed ran with: an old config.json keeps
# training the way it did.
LEGACY_DEFAULTS: dict[str, Any] = {
    "batch_size": 64,
    "monitor": "val_loss",
    "scaling": "standard",
    "clip": None,
    "many_levels": "codes",
}


@dataclass(frozen=True)
class TrainingConfig:
    """How to train a spec; ``learning_rate=None`` keeps the spec's own.

    ``batch_size=None`` picks one from the training rows (``batch_size_for``).
    ``scaling``, ``clip`` and ``many_levels`` are the feature encoding ``prepare``
    fits on the training split (see ``sattn_dash.tabular.PrepareOptions``).
    ``epochs`` is the budget a cosine learning-rate schedule anneals over (the recipe of
    the default model), and early stopping watches ``monitor``, restoring the best
    epoch's weights, so a run that stopped improving for ``patience`` epochs ends early.
    The budget of 32, patience 8 and batches of at least 64 rows were chosen over the 8
    tables of ``bench/bench_accuracy.py`` (bench/RESULTS.md). Against a budget of 200 (a
    cosine that had barely started to decay when early stopping ended the run) 32 was
    within half a point on 7 tables and 1.5 points of R^2 lower on the one that trained
    longest (computers: 56 epochs before), at about half its fit time there.
    """

    epochs: int = 32
    batch_size: int | None = None
    learning_rate: float | None = None
    seed: int = 0
    device: str = "auto"
    early_stopping: bool = True
    patience: int = 8
    val_size: float = 0.2
    test_size: float = 0.2
    monitor: str = "auto"
    scaling: str = "quantile"
    clip: float | None = None
    many_levels: str = "codes"

    def __post_init__(self) -> None:
        _check_int("epochs", self.epochs, 1, 100_000)
        if self.batch_size is not None:
            _check_int("batch_size", self.batch_size, 1, 1_000_000)
        _check_int("seed", self.seed, 0, 2**31 - 1)
        _check_int("patience", self.patience, 1, 100_000)
        if self.learning_rate is not None and not (
            isinstance(self.learning_rate, int | float) and self.learning_rate > 0
        ):
            raise SpecError(
                f"learning_rate must be a positive number, got {self.learning_rate!r}; "
                "leave it empty to use the model spec's learning rate."
            )
        if self.monitor not in MONITORS:
            raise SpecError(f"monitor must be one of {', '.join(MONITORS)}, got {self.monitor!r}.")
        self.prepare_options()  # raises a DataError naming a bad encoding option
        if not _is_device_name(self.device):
            raise SpecError(f"device must be one of auto, cpu, gpu or gpu:N, got {self.device!r}.")
        for name in ("val_size", "test_size"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and 0 < value < 1):
                raise SpecError(f"{name} must be a fraction between 0 and 1, got {value!r}.")
        if self.val_size + self.test_size >= 0.9:
            raise SpecError(
                "val_size + test_size leave less than 10% of the rows for training; "
                "make them smaller."
            )

    def batch_size_for(self, n_train: int, smallest: int = AUTO_BATCH_FLOOR) -> int:
        """The batch size for ``n_train`` training rows: the config's, or (None) the
        general rule of about 1/64 of the rows as a power of two between ``smallest``
        and 512, so small tables still take many steps per epoch and large ones stay
        quick."""
        if self.batch_size is not None:
            return self.batch_size
        return int(min(512, max(smallest, 2 ** round(math.log2(max(n_train, 1) / 64)))))

    def prepare_options(self) -> Any:
        """The ``PrepareOptions`` that ``prepare`` takes for this config."""
        from sattn_dash.tabular.options import PrepareOptions

        return PrepareOptions(scaling=self.scaling, clip=self.clip, many_levels=self.many_levels)

    def prepare_arguments(self) -> dict[str, Any]:
        """``split_arguments`` and the encoding options: how a run with this config
        prepares its table (``prepare(df, schema, **config.prepare_arguments())``, and
        the same for ``prepare_stream``)."""
        return {**split_arguments(self), "options": self.prepare_options()}

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        values = {**LEGACY_DEFAULTS, **{k: v for k, v in data.items() if k in known}}
        return cls(**values)


def split_arguments(source: Any) -> dict[str, Any]:
    """The one rule for splitting a table the way ``source`` did or will: its ``seed``,
    ``test_size`` and ``val_size`` (a ``TrainingConfig``, a ``PreparedData``, a study's
    settings), as the keyword arguments ``tabular.prepare`` and ``prepare_stream`` take."""
    return {"seed": source.seed, "test_size": source.test_size, "val_size": source.val_size}


def _check_int(name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SpecError(f"{name} must be a whole number from {low} to {high}, got {value!r}.")


def _is_device_name(name: Any) -> bool:
    if not isinstance(name, str):
        return False
    if name in DEVICE_CHOICES:
        return True
    kind, _, index = name.partition(":")
    return kind in ("cpu", "gpu") and index.isdigit()
