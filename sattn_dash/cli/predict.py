"""``predict``, ``export`` and ``report``: use a trained run. Score a new table with it,
take it elsewhere as an MLflow model, share what it learned as one HTML file."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from sattn_dash.cli.common import CliUsageError, Command, Result
from sattn_dash.cli.runs import run_id_argument


def predict_arguments(p: argparse.ArgumentParser) -> None:
    run_id_argument(p)
    p.add_argument(
        "--data",
        required=True,
        metavar="FILE",
        help="the table to score: a file (CSV, TSV, Parquet, Excel, JSON; compressed too), "
        "a folder or a glob of Parquet/CSV files",
    )
    p.add_argument(
        "--out",
        metavar="FILE",
        help="write the predictions to a .csv or .parquet file (default: CSV on stdout)",
    )
    p.add_argument("--keep", metavar="COL", help="a column to keep as each row's id")


def predict(args: argparse.Namespace) -> Result:
    """Score a table with a run's preprocessing and model."""
    from sattn_dash.analysis.new_rows.predictor import Predictor, score_table
    from sattn_dash.training import RunStore

    run = RunStore(args.workspace).load(args.run_id)
    predictor = Predictor.from_run(run)
    # --json without --out: the predictions go in the one JSON object on stdout.
    out = args.out or (None if args.json else sys.stdout)
    scored = score_table(predictor, args.data, out=out, keep=args.keep, progress=_Progress())
    data: dict[str, Any] = {
        "run_id": run.run_id,
        "rows": scored.rows,
        "out": str(scored.out) if scored.out else None,
        "streamed": scored.streamed,
        "metrics": scored.metrics,
        "notes": list(scored.notes),
    }
    if scored.predictions is not None:
        data["predictions"] = scored.predictions.to_dict(orient="records")
    lines = [f"scored {scored.rows:,} rows with run {run.run_id}"]
    lines += [f"wrote {scored.out}"] if scored.out else []
    lines += scored.notes
    for target, values in scored.metrics.items():
        shown = ", ".join(
            f"{k} {v:.4g}" for k, v in values.items() if isinstance(v, float) and k != "n"
        )
        lines.append(f"{target}: {shown}")
    if out is sys.stdout:  # stdout holds the CSV: the summary goes to stderr
        print("\n".join(lines), file=sys.stderr)
        return Result(data, "")
    return Result(data, "\n".join(lines))


class _Progress:
    """Rows scored so far, on stderr: in place on a terminal, else a line every 10 s."""

    def __init__(self):
        self.tty = sys.stderr.isatty()
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self.last < (0.2 if self.tty else 10):
            return
        self.last = now
        line = f"scored {done:,} / {total:,} rows ({done / max(total, 1):.0%})"
        end = "\n" if done >= total or not self.tty else ""
        print(("\r" if self.tty else "") + line, end=end, file=sys.stderr, flush=True)


def export_arguments(p: argparse.ArgumentParser) -> None:
    from sattn_dash.analysis.new_rows.mlflow_export import EXPORT_FORMATS

    run_id_argument(p)
    p.add_argument("--format", choices=EXPORT_FORMATS, default="mlflow", help="(default mlflow)")
    p.add_argument("--out", required=True, metavar="DIR", help="a new folder for the model")


def export(args: argparse.Namespace) -> Result:
    """The run as an MLflow pyfunc model (preprocessing and Keras model together)."""
    from sattn_dash.analysis.new_rows.mlflow_export import export_mlflow, requirements
    from sattn_dash.training import RunStore

    run = RunStore(args.workspace).load(args.run_id)
    folder = export_mlflow(run, args.out)
    data = {"run_id": run.run_id, "format": args.format, "out": str(folder),
            "requirements": requirements()}  # fmt: skip
    text = (
        f"wrote an MLflow model of run {run.run_id} to {folder}\n"
        f"load it: mlflow.pyfunc.load_model({str(folder)!r}).predict(df)\n"
        f"serve it: mlflow models serve -m {folder} --env-manager local"
    )
    return Result(data, text)


def report_arguments(p: argparse.ArgumentParser) -> None:
    run_id_argument(p)
    p.add_argument("--out", required=True, metavar="FILE", help="the .html file to write")
    p.add_argument(
        "--retrain-baselines",
        action="store_true",
        help="also train the best branch alone and a mean combiner (as long as the run)",
    )


def report(args: argparse.Namespace) -> Result:
    """One self-contained HTML file: what the run is, how it did, what it learned."""
    from sattn_dash.analysis.reports.share import write_report
    from sattn_dash.training import RunStore

    if not str(args.out).lower().endswith((".html", ".htm")):
        raise CliUsageError(f"--out names an .html file, not '{args.out}'.")
    run = RunStore(args.workspace).load(args.run_id)
    path = write_report(run, args.out, retrain=args.retrain_baselines)
    return Result({"run_id": run.run_id, "out": str(path)}, f"wrote {path}")


COMMANDS = {
    "predict": Command("score a new table with a trained run", predict_arguments, predict),
    "export": Command("export a run as an MLflow model", export_arguments, export),
    "report": Command("write a run's report as one HTML file", report_arguments, report),
}
