"""``baselines``: linear models and trees on the split a training run would use."""

from __future__ import annotations

import argparse
import sys

from sattn_dash.cli import tables
from sattn_dash.cli.common import Command, Result, positive_int
from sattn_dash.cli.train import training_arguments, training_overrides


def baselines_arguments(p: argparse.ArgumentParser) -> None:
    tables.table_arguments(p)
    training_arguments(p, ["seed"])
    p.add_argument(
        "--tune-trials",
        type=positive_int,
        default=0,
        metavar="N",
        help="also a LightGBM tuned by Optuna in N trials on the validation split",
    )
    tables.stream_argument(p)


def baselines(args: argparse.Namespace) -> Result:
    """The baselines on the split a training run with the same seed would use."""
    from sattn_dash.analysis.baselines.baselines import baselines_report, format_report
    from sattn_dash.training.config import TrainingConfig, split_arguments

    config = TrainingConfig(**training_overrides(args))
    tables.check_table_arguments(args)
    streamed = tables.streamed(args, config)
    df, schema = (None, None) if streamed else tables.read_with_targets(args)
    report = baselines_report(
        df,
        schema,
        **split_arguments(config),
        streamed=streamed,
        tune_trials=args.tune_trials,
        say=lambda line: print(line, file=sys.stderr),
    )
    return Result(report, format_report(report))


COMMANDS = {
    "baselines": Command(
        "score baselines (linear, trees) on a table", baselines_arguments, baselines
    )
}
