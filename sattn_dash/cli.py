"""``sattn-dash`` (or ``python -m sattn_dash``): the training engine without the browser,
and ``sattn-dash app`` to serve the dashboard.

Subcommands: ``app``, ``train``, ``resume``, ``runs``, ``show``, ``delete``, ``baselines``,
``search``, ``search-worker``. Each is one
entry in ``COMMANDS`` (its help, its arguments and its handler); a new subcommand is one
more entry.

Exit status: 0 success, 2 a user error (one line on stderr, no traceback), 1 an internal
failure, 130 a training run stopped with Ctrl-C (its run is kept, state ``stopped``).
With ``--json``, stdout carries exactly one JSON object, errors included; everything
else (TensorFlow's logs, the progress bar) goes to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before anything imports TensorFlow

from sattn_dash.cli_recipe import (  # noqa: E402
    add_recipe_arguments,
    recipe_overrides,
    training_overrides,
)
from sattn_dash.errors import DataError, SpecError, UserError  # noqa: E402

EXIT_OK, EXIT_INTERNAL, EXIT_USER, EXIT_INTERRUPTED = 0, 1, 2, 130
from sattn_dash.modeling.combiners import combiner_kinds  # noqa: E402

COMBINERS = combiner_kinds()
STREAM_MODES = ("auto", "always", "never")  # see tabular.stream.table_stream


class CliUsageError(UserError):
    """Bad command-line arguments."""


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose mistakes are one-line user errors, not usage dumps."""

    def error(self, message: str):
        raise CliUsageError(f"{message} (see `{self.prog} --help`)")


@dataclass(frozen=True)
class Result:
    """What a handler hands back: the JSON object, its text form and the exit status."""

    data: dict[str, Any]
    text: str
    exit_code: int = EXIT_OK


@dataclass(frozen=True)
class Command:
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    handler: Callable[[argparse.Namespace], Result]
    # Unknown options go to the handler as ``args.options`` (``app``: Streamlit's options).
    passes_options: bool = False


# --- app ---------------------------------------------------------------------------------
def _app(args: argparse.Namespace) -> Result:
    if args.json:
        raise CliUsageError("app serves the dashboard and prints no JSON; drop --json.")
    from sattn_dash.dashboard import launch

    return Result({}, "", launch.run(args.options, workspace=args.workspace))


DATA_HELP = (
    "a CSV, TSV, Excel, Parquet or JSON file (CSV also .gz/.bz2/.xz/.zst), or a folder or "
    "glob of Parquet/CSV files read as one table (quote the glob)"
)


# --- train -------------------------------------------------------------------------------
def _table_arguments(p: argparse.ArgumentParser) -> None:
    """``--data FILE`` or ``--sample NAME`` (a bundled table), and ``--target``."""
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", metavar="PATH", help=DATA_HELP)
    source.add_argument(
        "--sample", metavar="NAME", help="a bundled sample table: " + ", ".join(_sample_names())
    )
    p.add_argument(
        "--target",
        action="append",
        metavar="COL",
        help="repeat for several (default with --sample: the sample's own target)",
    )


def _sample_names() -> list[str]:
    from sattn_dash.tabular.samples import SAMPLES

    return list(SAMPLES)


def _train_arguments(p: argparse.ArgumentParser) -> None:
    _table_arguments(p)
    spec = p.add_mutually_exclusive_group()
    spec.add_argument("--preset", metavar="NAME", help="a ready-made architecture")
    spec.add_argument("--spec", metavar="FILE", help="a ModelSpec JSON file")
    p.add_argument("--combiner", choices=COMBINERS, help="replace the spec's combiner kind")
    add_recipe_arguments(p)
    p.add_argument("--seed", type=int, default=0, metavar="N")
    p.add_argument("--device", default="auto", metavar="auto|cpu|gpu")
    p.add_argument("--title", help="a title for the run (default: model and targets)")
    _stream_argument(p)


def _stream_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--stream",
        choices=STREAM_MODES,
        default="auto",
        help="read a Parquet/CSV table in record batches instead of into memory: auto "
        "(default) when it would not fit in memory, always, or never",
    )


def _train(args: argparse.Namespace) -> Result:
    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # retracing notices and the like
    from sattn_dash.training import RunStore, TrainingConfig, resolve_spec
    from sattn_dash.training.session import TrainingSession

    config = TrainingConfig(
        seed=args.seed,
        device=args.device,
        **training_overrides(args),
    )
    spec_source = _spec_source(args)  # checked before the slow part
    _check_table_arguments(args)
    from sattn_dash.training.devices import select_device

    select_device(config.device)
    streamed = _streamed(args, config)
    if streamed is not None:
        df, schema, prepared = None, streamed.prepared.schema, streamed.prepared
    else:
        df, schema, prepared = _prepare(args, config)
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
        source=_source_name(args),
        data_path=str(Path(args.data).resolve()) if args.data else None,
    )
    return _trained(store, session)


def _streamed(args: argparse.Namespace, config: Any) -> Any:
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
    _check_targets(list(sample.columns), args.target, args)
    schema = infer_schema(sample, targets=list(dict.fromkeys(args.target)))
    return stream_preparer(stream, schema, config, sample)()


def _trained(store: Any, session: Any) -> Result:
    """Follow a session to its end; the run's summary and the exit status."""
    interrupted = _follow(session.start())
    status = session.status()
    data = _run_summary(store, session.run_id)
    text = _format_run(data)
    if status.state == "failed":
        code = EXIT_USER if status.error_kind == "user" else EXIT_INTERNAL
        print(f"error: {status.error}", file=sys.stderr)
        return Result(data, text, code)
    return Result(data, text, EXIT_INTERRUPTED if interrupted else EXIT_OK)


def _spec_source(args: argparse.Namespace) -> Any:
    """The preset name or the ``ModelSpec`` read from ``--spec``, checked early."""
    from sattn_dash.modeling import PRESETS, ModelSpec
    from sattn_dash.modeling.presets import DEFAULT_PRESET

    if args.spec:
        path = Path(args.spec)
        if not path.is_file():
            raise SpecError(f"No spec file {args.spec}; check the path given to --spec.")
        return ModelSpec.from_json(path.read_text(encoding="utf-8"))
    name = args.preset or DEFAULT_PRESET
    if name not in PRESETS:
        raise SpecError(f"No preset named {name!r}; choose one of {', '.join(PRESETS)}.")
    return name


def _prepare(args: argparse.Namespace, config: Any) -> tuple[Any, Any, Any]:
    from sattn_dash.tabular import prepare

    df, schema = _read_with_targets(args)
    prepared = prepare(
        df,
        schema,
        seed=config.seed,
        test_size=config.test_size,
        val_size=config.val_size,
        options=config.prepare_options(),
    )
    return df, schema, prepared


def _check_table_arguments(args: argparse.Namespace) -> None:
    """Mistakes in ``--data``/``--sample``/``--target`` found before anything slow runs."""
    from sattn_dash.tabular.samples import SAMPLES

    if args.sample is not None and args.sample not in SAMPLES:
        raise DataError(
            f"No sample named {args.sample!r}; choose --sample from: {', '.join(SAMPLES)}."
        )
    if args.data is not None and not args.target:
        raise CliUsageError("--target is required with --data: name the column to predict.")


def _source_name(args: argparse.Namespace) -> str:
    return Path(args.data).name if args.data else f"sample {args.sample}"


def _read_with_targets(args: argparse.Namespace) -> tuple[Any, Any]:
    """The table of ``--data`` or ``--sample`` and its schema for ``--target``, checked
    with clear errors."""
    from sattn_dash.tabular import SAMPLES, infer_schema, load_sample, read_path

    _check_table_arguments(args)
    groups = None
    if args.sample:
        df = load_sample(args.sample)
        targets = args.target or list(SAMPLES[args.sample].targets)
        groups = dict(SAMPLES[args.sample].groups) or None
    else:
        df = read_path(args.data, None, guarded=False)  # the user's own shell: unguarded
        targets = args.target
    _check_targets(list(df.columns), targets, args)
    schema = infer_schema(df, targets=list(dict.fromkeys(targets)), groups=groups)
    return df, schema


def _check_targets(columns: list[Any], targets: list[str], args: argparse.Namespace) -> None:
    missing = [t for t in targets if t not in columns]
    if missing:
        shown = ", ".join(map(str, columns[:20]))
        raise DataError(
            f"No column {missing[0]!r} in {_source_name(args)}; choose --target from: "
            f"{shown}" + (" ..." if len(columns) > 20 else ".")
        )


def _follow(session: Any) -> bool:
    """Wait for a session, drawing progress on an interactive stderr. The first Ctrl-C
    asks it to stop (it saves what it learned); returns True if that happened."""
    interrupted = False
    bar = ProgressBar(sys.stderr) if sys.stderr.isatty() else None
    while not session.done:
        try:
            session.wait(0.25)
        except KeyboardInterrupt:
            if interrupted:
                raise
            interrupted = True
            session.stop()
            print("\nstopping after this batch (Ctrl-C again to quit now)...", file=sys.stderr)
        if bar is not None:
            bar.draw(session.status())
    if bar is not None:
        bar.close(session.status())
    return interrupted


class ProgressBar:
    """One line on a terminal: epoch, a bar, the latest losses and the time left."""

    def __init__(self, stream: TextIO, width: int = 28):
        self.stream, self.width = stream, width

    def draw(self, status: Any) -> None:
        filled = int(status.progress * self.width)
        logs = "  ".join(
            f"{k} {v:.4g}" for k, v in status.logs.items() if k in ("loss", "val_loss")
        )
        eta = f"  ETA {status.eta_s:.0f}s" if status.eta_s is not None else ""
        line = (
            f"{status.phase or status.state}: epoch {status.epoch}/{status.epochs} "
            f"[{'#' * filled}{'.' * (self.width - filled)}] {logs}{eta}"
        )
        self.stream.write("\r" + line[:160].ljust(100))
        self.stream.flush()

    def close(self, status: Any) -> None:
        self.draw(status)
        self.stream.write("\n")
        self.stream.flush()


# --- resume ------------------------------------------------------------------------------
def _resume_arguments(p: argparse.ArgumentParser) -> None:
    _run_id_argument(p)
    p.add_argument(
        "--data",
        metavar="PATH",
        help="the run's data file (a streamed run's folder or glob), if it moved",
    )
    p.add_argument("--device", metavar="auto|cpu|gpu", help="train on another device")


def _resume(args: argparse.Namespace) -> Result:
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


# --- runs, show, delete ----------------------------------------------------------------
def _runs(args: argparse.Namespace) -> Result:
    from sattn_dash.training import RunStore

    store = RunStore(args.workspace)
    runs = store.list()
    for skipped in store.skipped:
        print(f"warning: skipped {skipped.name}: {skipped.reason}", file=sys.stderr)
    data = {
        "workspace": str(store.workspace),
        "runs": [dataclasses.asdict(info) for info in runs],
        "skipped": [dataclasses.asdict(s) for s in store.skipped],
    }
    lines = [f"{len(runs)} run(s) in {store.root}"]
    for info in runs:
        lines.append(
            f"{info.run_id}  {info.status:<11} {info.epochs_run:>4} ep  "
            f"{', '.join(info.targets):<20} {info.title}"
        )
    return Result(data, "\n".join(lines))


def _run_id_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_id", metavar="RUN_ID")


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return int(text)


def _show_arguments(p: argparse.ArgumentParser) -> None:
    _run_id_argument(p)
    p.add_argument(
        "--no-analysis",
        action="store_true",
        help="skip importance, faithfulness and baselines (they take a few seconds)",
    )
    p.add_argument(
        "--retrain-baselines",
        action="store_true",
        help="also train the best branch alone and a mean combiner (as long as the run)",
    )
    p.add_argument(
        "--explain-rows",
        type=_positive_int,
        default=0,
        metavar="N",
        help="add per-row attributions of N validation rows, their agreement with the "
        "attention, and calibration (stored with the run, so a second call is instant)",
    )


def _show(args: argparse.Namespace) -> Result:
    from sattn_dash.training import RunStore

    if args.no_analysis and args.explain_rows:
        raise CliUsageError(
            "--explain-rows is part of the analysis that --no-analysis skips; drop one."
        )
    store = RunStore(args.workspace)
    data = _run_summary(store, args.run_id, details=True)
    text = _format_run(data, details=True)
    if not args.no_analysis and (store.path(args.run_id) / "model.keras").is_file():
        from sattn_dash.analysis.baselines.baselines import format_report
        from sattn_dash.analysis.reports.report import run_report

        data["analysis"] = run_report(
            store.load(args.run_id),
            retrain=args.retrain_baselines,
            explain_rows=args.explain_rows,
        )
        text += "\n" + _format_analysis(data["analysis"], data["config"]["seed"], format_report)
    return Result(data, text)


def _format_analysis(
    report: dict[str, Any], seed: int, format_report: Callable[[dict], str]
) -> str:
    """The faithfulness verdict and the baselines on the run's own split, as text."""
    lines = []
    tables = report["tables"]
    for row in tables.get("faithfulness") or []:
        lines.append(f"  faithfulness: {row.get('verdict', '')}")
    for row in tables.get("agreement_summary") or []:
        lines.append(f"  row agreement ({row['comparison']}, {row['target']}): {row['verdict']}")
    if "completeness" in tables:
        complete = [row["complete"] for row in tables["completeness"]]
        lines.append(
            f"  completeness: {sum(complete)} of {len(complete)} explained rows add up to "
            "their prediction minus the baseline's within the tolerance"
        )
    baselines = {
        "seed": seed,
        "targets": report["tasks"],
        "summary": report["tables"].get("baseline_summary", []),
    }
    return "\n".join([*lines, format_report(baselines)])


# --- baselines ---------------------------------------------------------------------------
def _baselines_arguments(p: argparse.ArgumentParser) -> None:
    _table_arguments(p)
    p.add_argument("--seed", type=int, default=0, metavar="N")
    _stream_argument(p)


def _baselines(args: argparse.Namespace) -> Result:
    """scikit-learn baselines on the split a training run with the same seed would use."""
    from sattn_dash.analysis.baselines.baselines import baselines_report, format_report
    from sattn_dash.training import TrainingConfig

    config = TrainingConfig(seed=args.seed)
    _check_table_arguments(args)
    streamed = _streamed(args, config)
    df, schema = (None, None) if streamed else _read_with_targets(args)
    report = baselines_report(
        df,
        schema,
        seed=args.seed,
        test_size=config.test_size,
        val_size=config.val_size,
        streamed=streamed,
    )
    return Result(report, format_report(report))


def _delete(args: argparse.Namespace) -> Result:
    from sattn_dash.training import RunStore

    RunStore(args.workspace).delete(args.run_id)
    return Result({"run_id": args.run_id, "deleted": True}, f"deleted run {args.run_id}")


# --- shared output -----------------------------------------------------------------------
def _run_summary(store: Any, run_id: str, details: bool = False) -> dict[str, Any]:
    """The JSON of a run: what ``train --json`` prints, plus more for ``show``."""
    run = store.load(run_id)
    data: dict[str, Any] = {
        "run_id": run.run_id,
        "title": run.title,
        "status": run.status,
        "error": run.error,
        "tasks": run.tasks,
        "metrics": run.metrics,
        "module_importance": run.module_importance,
        "epochs_run": run.epochs_run,
        "best_epoch": run.card.get("best_epoch"),
        "duration_s": run.duration_s,
        "path": str(run.path),
    }
    if details:
        data["config"] = run.config.to_dict()
        data["card"] = run.card
        data["history"] = run.history.to_dict(orient="records")
    return data


def _format_run(data: dict[str, Any], details: bool = False) -> str:
    lines = [
        f"run {data['run_id']}: {data['status']}  ({data['title']})",
        f"  epochs run: {data['epochs_run']}   duration: {data['duration_s'] or 0:.1f}s",
    ]
    if data.get("error"):
        lines.append(f"  error: {data['error']}")
    for target, metrics in (data.get("metrics") or {}).items():
        shown = ", ".join(
            f"{k} {v:.4f}" for k, v in metrics.items() if isinstance(v, float) and k != "n"
        )
        lines.append(f"  {target} ({data['tasks'].get(target, '?')}): {shown}")
    if data.get("module_importance"):
        weights = ", ".join(f"{b} {p:.3f}" for b, p in data["module_importance"].items())
        lines.append(f"  module importance: {weights}")
    if details:
        card = data.get("card") or {}
        if card.get("device"):
            lines.append(f"  device: {card['device'].get('description')}")
        if card.get("timings"):
            lines.append(
                "  timings: " + ", ".join(f"{k} {v:.2f}" for k, v in card["timings"].items())
            )
    lines.append(f"  files: {data['path']}")
    return "\n".join(lines)


# --- the command table -------------------------------------------------------------------
COMMANDS: dict[str, Command] = {
    "app": Command(
        "serve the dashboard (any `streamlit run` option passes through, e.g. --server.port 8600)",
        lambda p: None,
        _app,
        passes_options=True,
    ),
    "train": Command("train a model and store the run", _train_arguments, _train),
    "resume": Command(
        "carry on an interrupted run from its last checkpoint", _resume_arguments, _resume
    ),
    "runs": Command("list the stored runs", lambda p: None, _runs),
    "show": Command("show one run, with its analysis", _show_arguments, _show),
    "delete": Command("delete one run", _run_id_argument, _delete),
    "baselines": Command(
        "score scikit-learn baselines on a table", _baselines_arguments, _baselines
    ),
    "search": Command(
        "search architectures and settings with Optuna (resumes a study of the same name)",
        lambda p: _search_commands().search_arguments(p),
        lambda a: _search_commands().search(a),
    ),
    "search-worker": Command(
        "join an existing study from this process or machine",
        lambda p: _search_commands().worker_arguments(p),
        lambda a: _search_commands().search_worker(a),
    ),
}


def _search_commands():
    from sattn_dash.search import commands

    return commands


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=_prog(),
        description="Train attention-combined ensembles on tabular data and manage runs.",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--workspace",
        metavar="DIR",
        help="runs folder parent (default $SATTN_DASH_WORKSPACE or ./workspace)",
    )
    common.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    for name, command in COMMANDS.items():
        sub = commands.add_parser(name, parents=[common], help=command.help)
        command.add_arguments(sub)
        sub.set_defaults(handler=command.handler, passes_options=command.passes_options)
    return parser


def _prog() -> str:
    """How the user called us: ``sattn-dash`` (the installed command) or ``python -m``."""
    called = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    return "python -m sattn_dash" if called in ("__main__.py", "-m", "-c", "") else called


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[TextIO]:
    """Send everything written to stdout (Python's and C's) to stderr; yields the real
    stdout for the one JSON object."""
    real = sys.stdout
    real.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no file descriptor 1 (embedded interpreters)
        saved = None
    if saved is not None:
        os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        yield real
    finally:
        sys.stdout.flush()
        sys.stdout = real
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in argv
    with _stdout_to_stderr() if as_json else contextlib.nullcontext(sys.stdout) as out:
        code, data, text = _dispatch(argv)
    if as_json:
        out.write(_to_json(data) + "\n")
    elif text:
        out.write(text + "\n")
    out.flush()
    return code


def _dispatch(argv: list[str]) -> tuple[int, dict[str, Any], str]:
    try:
        parser = build_parser()
        args, options = parser.parse_known_args(argv)
        if options and not args.passes_options:
            parser.error(f"unrecognized arguments: {' '.join(options)}")
        args.options = options
        result = args.handler(args)
        return result.exit_code, result.data, result.text
    except UserError as exc:
        message = " ".join(str(exc).split())
        print(f"error: {message}", file=sys.stderr)
        return EXIT_USER, {"status": "error", "error": message}, ""
    except SystemExit as exc:  # --help
        return int(exc.code or 0), {}, ""
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED, {"status": "error", "error": "interrupted"}, ""
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        message = f"internal error: {type(exc).__name__}: {exc}"
        print(message, file=sys.stderr)
        return EXIT_INTERNAL, {"status": "error", "error": message}, ""


def _to_json(data: dict[str, Any]) -> str:
    from sattn_dash.training.atomic import dumps

    return dumps(data, indent=None)
