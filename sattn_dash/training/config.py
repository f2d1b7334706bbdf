"""Training settings: how long, how big a batch, which seed and device, and the one list
of the options a user sets (``TRAINING_OPTIONS``), from which the ``train`` flags and the
Train page's widgets are both made.

A new training option is a ``TrainingConfig`` field (its default and its check) and one
``TrainingOption`` record below; the command line and the page follow from the record."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from sattn_dash.errors import SpecError
from sattn_dash.modeling.spec import OPTIMIZERS, SCHEDULES
from sattn_dash.tabular.options import MANY_LEVELS, SCALINGS, PrepareOptions

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
        for option in TRAINING_OPTIONS.values():
            value = None if option.on_spec else getattr(self, option.name)
            if option.kind is int and not (value is None and option.empty):
                _check_int(option.name, value, option.low, option.high)
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

    def prepare_options(self) -> PrepareOptions:
        """The ``PrepareOptions`` that ``prepare`` takes for this config."""
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


@dataclass(frozen=True)
class TrainingOption:
    """One option a user sets, in the user's words: the page's label and help (the
    flag's help too), its type, and what the page offers (bounds, choices). Whole-number
    bounds are also what ``TrainingConfig`` accepts. The default is ``TrainingConfig``'s,
    or, for ``on_spec`` options (the model spec's training recipe), the spec's own."""

    name: str  # the TrainingConfig field; the ModelSpec field when on_spec
    label: str
    help: str
    kind: type = int
    low: float | None = None
    high: float | None = None
    step: float | None = None
    format: str | None = None
    choices: dict[str, str] | None = None  # value -> the words the page shows
    empty: str | None = None  # what leaving it empty means, where it may be
    slider: bool = False
    on_spec: bool = False
    flag: bool = True  # a ``train`` flag: --name-with-dashes (--no-name for a switch)

    @property
    def default(self) -> Any:
        return None if self.on_spec else getattr(TrainingConfig(), self.name)


def _words(values: tuple[str, ...], words: dict[str, str] | None = None) -> dict[str, str]:
    return {v: (words or {}).get(v, v) for v in values}


# The options in the order the page and ``train --help`` show them.
# fmt: off
TRAINING_OPTIONS: dict[str, TrainingOption] = {o.name: o for o in (
    TrainingOption("device", "Device", "Where to train: auto (a GPU when there is one), cpu, "
                   "gpu (all GPUs, mirrored) or gpu:N.", str, choices=_words(DEVICE_CHOICES)),
    TrainingOption("epochs", "Epochs", "The epoch budget: passes over the training rows. A "
                   "cosine learning-rate schedule anneals over it; early stopping often ends "
                   "sooner and keeps the best epoch.", low=1, high=100_000),
    TrainingOption("batch_size", "Batch size", "Rows per step. Empty = from the training rows: "
                   f"about 1/64 of them, a power of two between {AUTO_BATCH_FLOOR} and 512.",
                   low=1, high=1_000_000, empty="automatic"),
    TrainingOption("learning_rate", "Learning rate", "The peak learning rate; starts from the "
                   "architecture's.", float, 1e-6, 1.0, 1e-4, "%.2e", on_spec=True),
    TrainingOption("val_size", "Validation split", "Share of rows held out to watch overfitting "
                   f"(another {TrainingConfig.test_size:.0%} is kept for the final test).",
                   float, 0.05, 0.5, 0.05, slider=True, flag=False),
    TrainingOption("early_stopping", "Early stopping", "Stop when the watched validation score "
                   "stops improving and keep the best epoch's weights.", bool),
    TrainingOption("patience", "Patience (epochs)", "Epochs without improvement before early "
                   "stopping ends the run.", low=1, high=100_000),
    TrainingOption("seed", "Seed", "Same seed, same data: same split, same model.",
                   low=0, high=2**31 - 1),
    TrainingOption("monitor", "Early stopping watches", "What early stopping watches: the "
                   "target's validation metric (log loss, accuracy or RMSE), or the loss. With "
                   "several targets the metric choice watches the summed validation loss.",
                   str, choices={
                       "auto": "the target's metric",  # longer words were cut in the box
                       "val_loss": "the validation loss"}),
    TrainingOption("scaling", "Numeric scaling", "Fitted on the training rows only. Quantile "
                   "and robust scaling keep a few extreme values from dominating.", str,
                   choices=_words(SCALINGS, {"quantile": "quantile (to a normal curve)",
                                             "robust": "robust (median and IQR)",
                                             "standard": "standard (mean and std)"})),
    TrainingOption("clip", "Clip scaled values at ±", "Bound every scaled numeric value (e.g. "
                   "5): outliers cannot dominate.", float, 0.1, 1000.0, empty="no clipping"),
    TrainingOption("many_levels", "Categoricals over 20 levels", "Embedding: level codes each "
                   "branch embeds (unseen levels share one). One-hot: a 0/1 input per level.",
                   str, choices=_words(MANY_LEVELS, {"codes": "learned embedding",
                                                     "one_hot": "one-hot"})),
    TrainingOption("optimizer", "Optimizer", "How the weights move.", str,
                   choices=_words(OPTIMIZERS), on_spec=True),
    TrainingOption("weight_decay", "Weight decay", "Decoupled weight decay.", float,
                   on_spec=True),
    TrainingOption("schedule", "Learning-rate schedule", "Constant, or cosine with warm-up.",
                   str, choices=_words(SCHEDULES), on_spec=True),
    TrainingOption("warmup_fraction", "Warm-up", "Share of steps warming up (cosine).", float,
                   on_spec=True),
    TrainingOption("label_smoothing", "Label smoothing", "0 to 0.5, classification only.",
                   float, on_spec=True),
)}
# fmt: on


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
