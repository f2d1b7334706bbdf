"""``train`` and ``resume``: a training run followed to its end on the terminal."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sattn_dash.cli import common, tables
from sattn_dash.cli.common import COMBINERS, Command, Result
from sattn_dash.cli.runs import format_run, run_id_argument, run_summary
from sattn_dash.errors import SpecError
from sattn_dash.training.config import TRAINING_OPTIONS

if TYPE_CHECKING:
    import pandas as pd

    from sattn_dash.modeling.spec import ModelSpec
    from sattn_dash.tabular.prepared import PreparedData
    from sattn_dash.tabular.schema import Schema
    from sattn_dash.training.config import TrainingConfig
    from sattn_dash.training.session import TrainingSession
    from sattn_dash.training.store import RunStore


def training_arguments(p: argparse.ArgumentParser, names: Iterable[str] | None = None) -> None:
    """A flag for each training option (``names``, or all that are flags): ``--epochs N``,
    ``--no-early-stopping``, ... Left out, an option keeps the config's or the spec's
    default (``training_overrides``/``recipe_overrides`` hand on only those given)."""
    for option in TRAINING_OPTIONS.values():
        if not option.flag or (names is not None and option.name not in names):
            continue
        words = "; ".join(f"{v}: {w}" for v, w in (option.choices or {}).items() if v != w)
        default = "the spec's" if option.on_spec else option.default
        help = f"{option.help} {words}".strip().rstrip(".")
        help += f" (default: {option.empty if default is None else default})"
        flag = f"--{option.name}".replace("_", "-")
        if option.kind is bool:
            help = f"turn {option.label.lower()} off: {option.help}"
            p.add_argument(f"--no-{flag[2:]}", dest=option.name, action="store_false", help=help)
            p.set_defaults(**{option.name: None})
            continue
        metavar = "|".join(option.choices or ()) or ("N" if option.kind is int else "X")
        p.add_argument(flag, dest=option.name, type=option.kind, metavar=metavar, help=help)


def _given(args: argparse.Namespace, on_spec: bool) -> dict[str, Any]:
    return {
        o.name: getattr(args, o.name)
        for o in TRAINING_OPTIONS.values()
        if o.on_spec == on_spec and getattr(args, o.name, None) is not None
    }


def training_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The ``TrainingConfig`` fields the flags set."""
    return _given(args, on_spec=False)


def recipe_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The model spec's training-recipe fields the flags set."""
    return _given(args, on_spec=True)


def train_arguments(p: argparse.ArgumentParser) -> None:
    tables.table_arguments(p)
    spec = p.add_mutually_exclusive_group()
    spec.add_argument("--preset", metavar="NAME", help="a ready-made architecture")
    spec.add_argument("--spec", metavar="FILE", help="a ModelSpec JSON file")
    p.add_argument("--combiner", choices=COMBINERS, help="replace the spec's combiner kind")
    training_arguments(p)
    p.add_argument("--title", help="a title for the run (default: model and targets)")
    tables.stream_argument(p)


def train(args: argparse.Namespace) -> Result:
    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # retracing notices and the like
    from sattn_dash.training import RunStore, TrainingConfig, resolve_spec

    config = TrainingConfig(**training_overrides(args))
    spec_source = _spec_source(args)
    # The table is checked and read before TensorFlow starts (4 s or more), so a wrong
    # path, a bad file or a missing target is said at once.
    tables.check_table_arguments(args)
    streamed = tables.streamed(args, config)
    if streamed is not None:
        df, schema, prepared = None, streamed.prepared.schema, streamed.prepared
    else:
        df, schema, prepared = _prepare(args, config)
    from sattn_dash.training.devices import select_device
    from sattn_dash.training.session import TrainingSession

    select_device(config.device)
    spec = resolve_spec(
        spec_source, prepared, combiner=args.combiner, recipe=recipe_overrides(args)
    )
    store = RunStore(args.workspace)
    session = TrainingSession(
        df,
        schema,
        spec,
        config,
        store,
        prepared=prepared,
        streamed=streamed,
        title=args.title,
        source=tables.source_name(args),
        data_path=str(Path(args.data).resolve()) if args.data else None,
    )
    return _trained(store, session)


def _trained(store: RunStore, session: TrainingSession) -> Result:
    """Follow a session to its end; the run's summary and the exit status."""
    interrupted = common.follow(session.start())
    status = session.status()
    data = run_summary(store, session.run_id)
    text = format_run(data)
    if status.state == "failed" or status.error_kind == "disk":  # a full disk interrupts
        code = common.EXIT_INTERNAL if status.error_kind == "internal" else common.EXIT_USER
        print(f"error: {status.error}", file=sys.stderr)
        return Result(data, text, code)
    return Result(data, text, common.EXIT_INTERRUPTED if interrupted else common.EXIT_OK)


def _spec_source(args: argparse.Namespace) -> ModelSpec | str:
    """The preset name or the ``ModelSpec`` read from ``--spec``, checked early."""
    from sattn_dash.modeling import PRESETS, ModelSpec
    from sattn_dash.modeling.presets import DEFAULT_PRESET

    if args.spec:
        path = Path(args.spec)
        if not path.is_file():
            raise SpecError(f"No spec file {args.spec}; check the path given to --spec.")
        return ModelSpec.from_json(common.json_text(path, "--spec"))
    name = args.preset or DEFAULT_PRESET
    if name not in PRESETS:
        raise SpecError(f"No preset named {name!r}; choose one of {', '.join(PRESETS)}.")
    return name


def _prepare(
    args: argparse.Namespace, config: TrainingConfig
) -> tuple[pd.DataFrame, Schema, PreparedData]:
    from sattn_dash.tabular import prepare

    df, schema = tables.read_with_targets(args)
    prepared = prepare(df, schema, **config.prepare_arguments())
    return df, schema, prepared


def resume_arguments(p: argparse.ArgumentParser) -> None:
    run_id_argument(p)
    p.add_argument(
        "--data",
        metavar="PATH",
        help="the run's data file (a streamed run's folder or glob), if it moved",
    )
    p.add_argument("--device", metavar="auto|cpu|gpu", help="train on another device")


def resume(args: argparse.Namespace) -> Result:
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    from sattn_dash.training import RunStore
    from sattn_dash.training.resume import resume_session

    store = RunStore(args.workspace)
    data = str(Path(args.data).resolve()) if args.data else None
    session = resume_session(args.run_id, store, data_path=data, device=args.device)
    for note in session.resumed_from.notes:
        print(f"note: {note}", file=sys.stderr)
    print(
        f"resuming run {args.run_id} after epoch {session.resumed_from.checkpoint.epoch}",
        file=sys.stderr,
    )
    return _trained(store, session)


COMMANDS = {
    "train": Command("train a model and store the run", train_arguments, train),
    "resume": Command(
        "carry on an interrupted run from its last checkpoint", resume_arguments, resume
    ),
}
