"""Training settings: how long, how big a batch, which seed and device."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from sattn_dash.errors import SpecError

DEVICE_CHOICES = ("auto", "cpu", "gpu")


@dataclass(frozen=True)
class TrainingConfig:
    """How to train a spec; ``learning_rate=None`` keeps the spec's own."""

    epochs: int = 20
    batch_size: int = 64
    learning_rate: float | None = None
    seed: int = 0
    device: str = "auto"
    early_stopping: bool = True
    patience: int = 5
    val_size: float = 0.2
    test_size: float = 0.2

    def __post_init__(self) -> None:
        _check_int("epochs", self.epochs, 1, 100_000)
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

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


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
