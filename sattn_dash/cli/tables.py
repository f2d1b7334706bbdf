"""The table arguments (``--data``/``--sample``, ``--target``, ``--stream``), their
checks, and reading the table they name with its targets: the one place every command
that reads a table asks."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sattn_dash.cli.common import CliUsageError
from sattn_dash.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

    from sattn_dash.tabular.schema import Schema
    from sattn_dash.tabular.stream import StreamedData
    from sattn_dash.training.config import TrainingConfig

STREAM_MODES = ("auto", "always", "never")  # see tabular.stream.table_stream
DATA_HELP = (
    "a CSV, TSV, Excel, Parquet or JSON file (CSV also .gz/.bz2/.xz/.zst), or a folder or "
    "glob of Parquet/CSV files read as one table (quote the glob)"
)


def table_arguments(p: argparse.ArgumentParser) -> None:
    """``--data FILE`` or ``--sample NAME`` (a bundled table), and ``--target``."""
    from sattn_dash.tabular.samples import SAMPLES

    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", metavar="PATH", help=DATA_HELP)
    source.add_argument(
        "--sample", metavar="NAME", help="a bundled sample table: " + ", ".join(SAMPLES)
    )
    p.add_argument(
        "--target",
        action="append",
        metavar="COL",
        help="repeat for several (default with --sample: the sample's own target)",
    )


def stream_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--stream",
        choices=STREAM_MODES,
        default="auto",
        help="read a Parquet/CSV table in record batches instead of into memory: auto "
        "(default) when it would not fit in memory, always, or never",
    )


def check_table_arguments(args: argparse.Namespace) -> None:
    """Mistakes in ``--data``/``--sample``/``--target`` found before anything slow runs."""
    from sattn_dash.tabular.samples import SAMPLES

    if args.sample is not None and args.sample not in SAMPLES:
        raise DataError(
            f"No sample named {args.sample!r}; choose --sample from: {', '.join(SAMPLES)}."
        )
    if args.data is not None and not args.target:
        raise CliUsageError("--target is required with --data: name the column to predict.")


def source_name(args: argparse.Namespace) -> str:
    return Path(args.data).name if args.data else f"sample {args.sample}"


def read_with_targets(args: argparse.Namespace) -> tuple[pd.DataFrame, Schema]:
    """The table of ``--data`` or ``--sample`` and its schema for ``--target``, checked
    with clear errors."""
    from sattn_dash.tabular import SAMPLES, infer_schema, load_sample, read_path

    check_table_arguments(args)
    groups = None
    if args.sample:
        df = load_sample(args.sample)
        targets = args.target or list(SAMPLES[args.sample].targets)
        groups = dict(SAMPLES[args.sample].groups) or None
    else:
        df = read_path(args.data, None, guarded=False)  # the user's own shell: unguarded
        targets = args.target
    check_targets(list(df.columns), targets, args)
    schema = infer_schema(df, targets=list(dict.fromkeys(targets)), groups=groups)
    return df, schema


def check_targets(columns: list[Any], targets: list[str], args: argparse.Namespace) -> None:
    missing = [t for t in targets if t not in columns]
    if missing:
        shown = ", ".join(map(str, columns[:20]))
        raise DataError(
            f"No column {missing[0]!r} in {source_name(args)}; choose --target from: "
            f"{shown}" + (" ..." if len(columns) > 20 else ".")
        )


def streamed(args: argparse.Namespace, config: TrainingConfig) -> StreamedData | None:
    """The ``--data`` table prepared for streaming when ``--stream`` says so (by default:
    when it would not fit in memory), else None; says so, and why, on stderr."""
    if not args.data:
        return None
    from sattn_dash.tabular import infer_schema
    from sattn_dash.tabular.paths import find_table_files
    from sattn_dash.tabular.stream import SAMPLE_ROWS, table_stream
    from sattn_dash.training.streaming import stream_preparer

    stream, why = table_stream(find_table_files(args.data, None, guarded=False), args.stream)
    if stream is None:
        return None
    print(why, file=sys.stderr)
    sample = stream.sample(SAMPLE_ROWS, config.seed)
    check_targets(list(sample.columns), args.target, args)
    schema = infer_schema(sample, targets=list(dict.fromkeys(args.target)))
    return stream_preparer(stream, schema, config, sample)()
