"""``baselines``: scikit-learn baselines on the split a training run would use."""

from __future__ import annotations

import argparse

from sattn_dash.cli import tables
from sattn_dash.cli.common import Command, Result
from sattn_dash.cli.train import training_arguments, training_overrides


def baselines_arguments(p: argparse.ArgumentParser) -> None:
    tables.table_arguments(p)
    training_arguments(p, ["seed"])
    tables.stream_argument(p)


def baselines(args: argparse.Namespace) -> Result:
    """scikit-learn baselines on the split a training run with the same seed would use."""
    from sattn_dash.analysis.baselines.baselines import baselines_report, format_report
    from sattn_dash.training import TrainingConfig

    config = TrainingConfig(**training_overrides(args))
    tables.check_table_arguments(args)
    streamed = tables.streamed(args, config)
    df, schema = (None, None) if streamed else tables.read_with_targets(args)
    report = baselines_report(
        df,
        schema,
        seed=config.seed,
        test_size=config.test_size,
        val_size=config.val_size,
        streamed=streamed,
    )
    return Result(report, format_report(report))


COMMANDS = {
    "baselines": Command("score scikit-learn baselines on a table", baselines_arguments, baselines)
}
