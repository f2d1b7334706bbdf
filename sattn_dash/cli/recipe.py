"""The ``train`` subcommand's recipe flags: the training recipe a spec carries
(optimizer, weight decay, schedule, label smoothing) and the config's epoch budget,
early stopping and feature encoding. A flag left out keeps the spec's or the
config's default."""

from __future__ import annotations

import argparse
from typing import Any

# flag -> (spec field, type, help)
SPEC_FLAGS = {
    "--optimizer": ("optimizer", str, "adam, adamw, sgd, rmsprop or nadam"),
    "--learning-rate": ("learning_rate", float, "peak learning rate"),
    "--weight-decay": ("weight_decay", float, "decoupled weight decay"),
    "--schedule": ("schedule", str, "constant or cosine (with warm-up)"),
    "--warmup-fraction": ("warmup_fraction", float, "share of steps warming up (cosine)"),
    "--label-smoothing": ("label_smoothing", float, "0 to 0.5, classification only"),
}
# flag -> (config field, type, help)
CONFIG_FLAGS = {
    "--epochs": ("epochs", int, "epoch budget (default 32; early stopping ends sooner)"),
    "--batch-size": ("batch_size", int, "rows per step (default: from the row count)"),
    "--patience": ("patience", int, "epochs without improvement before stopping (8)"),
    "--monitor": ("monitor", str, "auto (the target's validation metric) or val_loss"),
    "--scaling": ("scaling", str, "numeric scaling: standard, robust or quantile"),
    "--clip": ("clip", float, "bound scaled numeric values to +-N"),
    "--many-levels": ("many_levels", str, "categoricals over 20 levels: codes or one_hot"),
}


def add_recipe_arguments(p: argparse.ArgumentParser) -> None:
    for flag, (field, kind, text) in {**CONFIG_FLAGS, **SPEC_FLAGS}.items():
        p.add_argument(flag, dest=field, type=kind, default=None, metavar="X", help=text)
    p.add_argument(
        "--no-early-stopping",
        dest="early_stopping",
        action="store_false",
        default=True,
        help="train the whole epoch budget",
    )


def _given(args: argparse.Namespace, flags: dict) -> dict[str, Any]:
    values = {field: getattr(args, field, None) for field, _, _ in flags.values()}
    return {k: v for k, v in values.items() if v is not None}


def recipe_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The spec fields the flags set."""
    return _given(args, SPEC_FLAGS)


def training_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The TrainingConfig fields the flags set."""
    return {**_given(args, CONFIG_FLAGS), "early_stopping": args.early_stopping}
