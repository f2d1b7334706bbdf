"""What every subcommand shares: the exit codes, the result a handler returns, the
command record, the parser whose mistakes are user errors, and the Ctrl-C loop that
follows a training session."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from sattn_dash.errors import UserError
from sattn_dash.modeling.combiners import combiner_kinds

if TYPE_CHECKING:
    from sattn_dash.training.session import SessionStatus, TrainingSession

EXIT_OK, EXIT_INTERNAL, EXIT_USER, EXIT_INTERRUPTED = 0, 1, 2, 130
COMBINERS = combiner_kinds()


class CliUsageError(UserError):
    """Bad command-line arguments."""


class Parser(argparse.ArgumentParser):
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


def json_text(path: Any, option: str) -> str:
    """The text of the JSON file given to ``option`` (``--spec``, ``--space``); a file
    that is not UTF-8 text (binary, another encoding) is a ``SpecError`` saying so."""
    from pathlib import Path

    from sattn_dash.errors import SpecError

    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SpecError(
            f"{path} (given to {option}) is not UTF-8 text, so it is no JSON file; give the "
            "path of the JSON file."
        ) from None


def no_arguments(p: argparse.ArgumentParser) -> None:
    """For a command that takes only ``--workspace`` and ``--json``."""


def positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return int(text)


def follow(session: TrainingSession) -> bool:
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

    def draw(self, status: SessionStatus) -> None:
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

    def close(self, status: SessionStatus) -> None:
        self.draw(status)
        self.stream.write("\n")
        self.stream.flush()
