"""``sattn-dash`` (or ``python -m sattn_dash``): the training engine without the browser,
and ``sattn-dash app`` to serve the dashboard.

Subcommands: ``app``, ``train``, ``resume``, ``runs``, ``show``, ``delete``, ``baselines``,
``search``, ``search-worker``, ``predict``, ``export``, ``report``. Each is one entry in
``COMMANDS`` (its help, its arguments and its handler), kept in the module of its group
(``train``, ``runs``, ``baselines``, ``search``, ``predict``); a new subcommand is one
more entry there.

Exit status: 0 success, 2 a user error (one line on stderr, no traceback), 1 an internal
failure, 130 a training run stopped with Ctrl-C (its run is kept, state ``stopped``).
With ``--json``, stdout carries exactly one JSON object, errors included; everything
else (TensorFlow's logs, the progress bar) goes to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before anything imports TensorFlow

from sattn_dash.cli import baselines, common, predict, runs, search, train  # noqa: E402
from sattn_dash.cli.common import EXIT_USER, Command, Parser, ProgressBar, Result  # noqa: E402
from sattn_dash.errors import UserError, disk_full, where_full  # noqa: E402
from sattn_dash.files import dumps  # noqa: E402

__all__ = ["COMMANDS", "ProgressBar", "build_parser", "main"]


def app(args: argparse.Namespace) -> Result:
    if args.json:
        raise common.CliUsageError("app serves the dashboard and prints no JSON; drop --json.")
    from sattn_dash.dashboard import launch

    return Result({}, "", launch.run(args.options, workspace=args.workspace))


COMMANDS: dict[str, Command] = {
    "app": Command(
        "serve the dashboard (any `streamlit run` option passes through, e.g. --server.port 8600)",
        common.no_arguments,
        app,
        passes_options=True,
    ),
    **train.COMMANDS,
    **runs.COMMANDS,
    **baselines.COMMANDS,
    **search.COMMANDS,
    **predict.COMMANDS,
}


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog=_prog(),
        description="Train attention-combined ensembles on tabular data and manage runs.",
    )
    shared = argparse.ArgumentParser(add_help=False)
    shared.add_argument(
        "--workspace",
        metavar="DIR",
        help="runs folder parent (default $SATTN_DASH_WORKSPACE or ./workspace)",
    )
    shared.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    commands.required = True
    for name, command in COMMANDS.items():
        sub = commands.add_parser(name, parents=[shared], help=command.help)
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
        out.write(dumps(data, indent=None) + "\n")
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
        return common.EXIT_INTERRUPTED, {"status": "error", "error": "interrupted"}, ""
    except Exception as exc:
        if disk_full(exc):  # the machine's, not a bug
            message = (
                f"The disk is full: {where_full(exc)} could not be written. Free some "
                "space there and run the command again."
            )
            print(f"error: {message}", file=sys.stderr)
            return EXIT_USER, {"status": "error", "error": message}, ""
        traceback.print_exc(file=sys.stderr)
        message = f"internal error: {type(exc).__name__}: {exc}"
        print(message, file=sys.stderr)
        return common.EXIT_INTERNAL, {"status": "error", "error": message}, ""
