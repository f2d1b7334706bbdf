"""``runs``, ``show`` and ``delete``: the stored runs, one run with its analysis, and
the JSON and text a run is printed as (``train`` and ``resume`` print it too)."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sattn_dash.cli.common import CliUsageError, Command, Result, no_arguments, positive_int

if TYPE_CHECKING:
    from sattn_dash.training.store import RunStore


def run_id_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_id", metavar="RUN_ID")


def runs(args: argparse.Namespace) -> Result:
    from sattn_dash.training import RunStore

    store = RunStore(args.workspace)
    listed = store.list()
    for skipped in store.skipped:
        print(f"warning: skipped {skipped.name}: {skipped.reason}", file=sys.stderr)
    data = {
        "workspace": str(store.workspace),
        "runs": [dataclasses.asdict(info) for info in listed],
        "skipped": [dataclasses.asdict(s) for s in store.skipped],
    }
    lines = [f"{len(listed)} run(s) in {store.root}"]
    for info in listed:
        lines.append(
            f"{info.run_id}  {info.status:<11} {info.epochs_run:>4} ep  "
            f"{', '.join(info.targets):<20} {info.title}"
        )
    return Result(data, "\n".join(lines))


def show_arguments(p: argparse.ArgumentParser) -> None:
    run_id_argument(p)
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
        type=positive_int,
        default=0,
        metavar="N",
        help="add per-row attributions of N validation rows, their agreement with the "
        "attention, and calibration (stored with the run, so a second call is instant)",
    )


def show(args: argparse.Namespace) -> Result:
    from sattn_dash.training import RunStore

    if args.no_analysis and args.explain_rows:
        raise CliUsageError(
            "--explain-rows is part of the analysis that --no-analysis skips; drop one."
        )
    store = RunStore(args.workspace)
    data = run_summary(store, args.run_id, details=True)
    text = format_run(data, details=True)
    if not args.no_analysis and (store.path(args.run_id) / "model.keras").is_file():
        from sattn_dash.analysis.baselines.baselines import format_report
        from sattn_dash.analysis.reports.report import run_report

        data["analysis"] = run_report(
            store.load(args.run_id),
            retrain=args.retrain_baselines,
            explain_rows=args.explain_rows,
        )
        for key in TOP_LEVEL_ANALYSIS:  # what matters, at the top of the run's JSON
            data[key] = data["analysis"].pop(key)
        text += "\n" + format_columns(data) + "\n"
        text += format_analysis(data["analysis"], data["config"]["seed"], format_report)
    return Result(data, text)


#: Parts of ``run_report`` that ``show --json`` puts at the top level of the run.
TOP_LEVEL_ANALYSIS = ("column_importance", "column_agreement", "members")
#: Columns listed in the text output of ``show``, by permutation importance.
SHOWN_COLUMNS = 8


def format_columns(data: dict[str, Any]) -> str:
    """Which columns matter (permutation ± spread beside mean |attribution|), the two
    rankings' agreement, and ensemble members said as what they are, as text."""
    lines = []
    records = data.get("column_importance") or []
    verdicts = {r["target"]: r for r in data["analysis"]["tables"].get("column_agreement", [])}
    for target in dict.fromkeys(r["target"] for r in records):
        rows = [r for r in records if r["target"] == target]
        metric = rows[0]["metric"]
        lines.append(
            f"  columns that matter for {target} (loss of {metric} when shuffled · "
            "mean |attribution|):"
        )
        width = max(len(str(r["column"])) for r in rows[:SHOWN_COLUMNS])
        for r in rows[:SHOWN_COLUMNS]:
            lines.append(
                f"    {str(r['column']):<{width}}  {_number(r['permutation'])} ± "
                f"{_number(r['permutation_std'])} · {_number(r['attribution'])}"
            )
        if len(rows) > SHOWN_COLUMNS:
            lines.append(f"    ... and {len(rows) - SHOWN_COLUMNS} more (--json has all)")
        if target in verdicts:
            lines.append(f"  column agreement: {verdicts[target]['verdict']}")
    for row in (data.get("members") or {}).get("summary", []):
        lines.append(f"  members: {row['verdict']}")
    return "\n".join(lines)


def _number(value) -> str:
    return "–" if value is None else f"{value:.4f}"


def format_analysis(report: dict[str, Any], seed: int, format_report: Callable[[dict], str]) -> str:
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


def delete(args: argparse.Namespace) -> Result:
    from sattn_dash.training import RunStore

    RunStore(args.workspace).delete(args.run_id)
    return Result({"run_id": args.run_id, "deleted": True}, f"deleted run {args.run_id}")


def run_summary(store: RunStore, run_id: str, details: bool = False) -> dict[str, Any]:
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


def format_run(data: dict[str, Any], details: bool = False) -> str:
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


COMMANDS = {
    "runs": Command("list the stored runs", no_arguments, runs),
    "show": Command("show one run, with its analysis", show_arguments, show),
    "delete": Command("delete one run", run_id_argument, delete),
}
