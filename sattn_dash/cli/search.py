"""``search`` and ``search-worker``: the command-line side of a study.

``search`` makes (or resumes) a study from a table and runs it with ``--workers``
processes; ``search-worker`` joins an existing study by name, on this machine or any
other that reaches its storage: that is how a search scales out (Optuna's shared-storage
mechanism, no scheduler of ours).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sattn_dash.cli import common, tables
from sattn_dash.cli.common import EXIT_INTERRUPTED, EXIT_OK, Command, Result
from sattn_dash.cli.train import training_arguments, training_overrides
from sattn_dash.errors import DataError, SpecError

if TYPE_CHECKING:
    import pandas as pd

    from sattn_dash.search.study import StudySettings
    from sattn_dash.search.worker import SearchData
    from sattn_dash.tabular.prepared import PreparedData
    from sattn_dash.tabular.schema import Schema


def _common(p: argparse.ArgumentParser) -> None:
    from sattn_dash.search.study import STORAGE_ENV

    p.add_argument(
        "--storage",
        metavar="URL",
        default=os.environ.get(STORAGE_ENV) or None,
        help="an Optuna RDB URL (postgresql://user:pw@host/db, sqlite:///f.db) or a "
        f"path ending in .journal; default ${STORAGE_ENV}, else a journal file in the "
        "workspace",
    )
    p.add_argument("--timeout", type=float, metavar="S", help="stop starting trials after S s")


def search_arguments(p: argparse.ArgumentParser) -> None:
    tables.table_arguments(p)
    p.add_argument(
        "--trials",
        type=int,
        default=20,
        metavar="N",
        help="the study's size: trials that finish or are pruned (a rerun runs the rest)",
    )
    p.add_argument("--workers", type=int, default=1, metavar="W", help="parallel processes")
    p.add_argument("--study", metavar="NAME", help="default: <data file>-<targets>")
    p.add_argument("--space", metavar="FILE", help="a search space JSON (see --print-space)")
    p.add_argument("--schema", metavar="FILE", help="a schema JSON (column roles, groups)")
    p.add_argument(
        "--metric",
        default="auto",
        help="what a trial is judged by: auto (what training judges by) or a validation "
        "metric that fits the target, such as val_loss, val_auc or val_rmse",
    )
    training_arguments(p, ["seed", "device"])
    p.add_argument(
        "--print-space",
        action="store_true",
        help="print the default space for the data, run nothing",
    )
    _common(p)


def worker_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--study", required=True, metavar="NAME")
    p.add_argument("--data", metavar="FILE", help="the study's table, where it is on this machine")
    p.add_argument("--worker-index", type=int, default=0, help=argparse.SUPPRESS)
    _common(p)


def _check_counts(args: argparse.Namespace) -> None:
    from sattn_dash.search.study import SearchError

    if getattr(args, "trials", 1) < 1:
        raise SearchError(f"--trials must be 1 or more, got {args.trials}.")
    if getattr(args, "workers", 1) < 1:
        raise SearchError(f"--workers must be 1 or more, got {args.workers}.")
    if args.timeout is not None and args.timeout <= 0:
        raise SearchError(f"--timeout must be a number of seconds > 0, got {args.timeout}.")


def _schema_for(args: argparse.Namespace, df: pd.DataFrame, schema: Schema) -> Schema:
    if not args.schema:
        return schema
    from sattn_dash.tabular import Schema

    path = Path(args.schema)
    try:
        chosen = Schema.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise DataError(
            f"No schema file {args.schema}; check the path given to --schema."
        ) from None
    except (ValueError, KeyError, TypeError) as exc:
        raise DataError(
            f"{args.schema} is not a schema JSON ({type(exc).__name__}: {exc})."
        ) from None
    if list(chosen.target_names) != list(dict.fromkeys(args.target)):
        raise DataError(
            f"The schema's targets ({', '.join(chosen.target_names)}) are not the --target "
            f"columns ({', '.join(args.target)}); make them the same."
        )
    unknown = [c.name for c in chosen.columns if c.name not in df.columns]
    if unknown:
        raise DataError(f"The schema names column {unknown[0]!r}, which the table does not have.")
    return chosen


def _read_table(args: argparse.Namespace) -> tuple[pd.DataFrame, Schema]:
    """As ``train`` reads ``--data``/``--sample``; the pickled table copy an older app
    saved beside its study is refused unopened."""
    if args.data:
        from sattn_dash.search.worker import refuse_legacy_table

        refuse_legacy_table(args.data)
    return tables.read_with_targets(args)


def _space_for(args: argparse.Namespace, prepared: PreparedData) -> dict[str, Any]:
    from sattn_dash.search.space import check_space, default_space, load_space

    if not args.space:
        return check_space(default_space(prepared))
    path = Path(args.space)
    if not path.is_file():
        raise SpecError(f"No space file {args.space}; check the path given to --space.")
    return load_space(common.json_text(path, "--space"))


def search(args: argparse.Namespace) -> Result:
    """Make or resume a study, run it, and report the best trial."""
    from sattn_dash.search.study import (
        USER_ENV,
        StudySettings,
        check_metric,
        create_or_resume,
        default_study_name,
        open_storage,
    )
    from sattn_dash.tabular import prepare
    from sattn_dash.training.config import TrainingConfig, split_arguments

    _check_counts(args)
    metric = check_metric(args.metric)
    base = TrainingConfig(**training_overrides(args))
    df, schema = _read_table(args)
    if args.sample:
        from sattn_dash.tabular import SAMPLES

        args.data, args.target = str(SAMPLES[args.sample].path), list(schema.target_names)
    schema = _schema_for(args, df, schema)
    prepared = prepare(df, schema, **split_arguments(base))
    space = _space_for(args, prepared)
    if args.print_space:
        return Result({"space": space}, json.dumps(space, indent=2))
    name = args.study or default_study_name(Path(args.data).name, schema.target_names)
    settings = StudySettings(
        data_path=str(Path(args.data).resolve()),
        data_name=Path(args.data).name,
        targets=list(schema.target_names),
        schema=schema.to_dict(),
        space=space,
        metric=metric,
        trials=args.trials,
        seed=base.seed,
        val_size=base.val_size,
        test_size=base.test_size,
        device=base.device,
        data_hash=prepared.data_hash,
        user=os.environ.get(USER_ENV) or None,
    )
    storage = open_storage(name, args.storage, args.workspace)
    study, settings = create_or_resume(name, storage, settings, space_given=bool(args.space))
    if args.workers == 1:
        from sattn_dash.search.worker import SearchData

        data = SearchData(df, schema, prepared, settings.data_name)
        interrupted = _work(study, settings, data, args)
    else:
        interrupted = _work_in_processes(name, args)
        study = _reload(name, args)
    return _report(study, settings, args, interrupted)


def search_worker(args: argparse.Namespace) -> Result:
    """Join study ``--study`` and run trials until it has all it wants."""
    from sattn_dash.search.processes import limit_to_cores
    from sattn_dash.search.study import load_study, open_storage
    from sattn_dash.search.worker import load_data

    _check_counts(args)
    limit_to_cores()  # before TensorFlow loads
    storage = open_storage(args.study, args.storage, args.workspace)
    study, settings = load_study(args.study, storage, worker=args.worker_index)
    data = load_data(settings, args.data)
    interrupted = _work(study, settings, data, args)
    return _report(study, settings, args, interrupted)


def _work(study: Any, settings: StudySettings, data: SearchData, args: argparse.Namespace) -> bool:
    """Run trials in this process; True when Ctrl-C (SIGINT) stopped them."""
    from sattn_dash.search.worker import run_worker
    from sattn_dash.training import RunStore

    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    stop = threading.Event()

    def say(result: Any) -> None:
        value = "" if result.value is None else f" value {result.value:.5g}"
        print(
            f"trial {result.number}: {result.outcome}{value}  run {result.run_id}", file=sys.stderr
        )

    try:
        run_worker(
            study,
            settings,
            data,
            RunStore(args.workspace),
            timeout=args.timeout,
            stop=stop,
            storage_url=args.storage,
            on_trial=say,
        )
    except KeyboardInterrupt:  # a second Ctrl-C between trials
        stop.set()
    return stop.is_set()


def _work_in_processes(name: str, args: argparse.Namespace) -> bool:
    from sattn_dash.search.processes import spawn_workers, wait_for
    from sattn_dash.training.devices import list_devices

    gpus = sum(d.kind == "gpu" for d in list_devices()) if args.device != "cpu" else 0  # None: auto
    arguments = []
    for i in range(args.workers):
        argv = ["--study", name, "--worker-index", str(i), "--data", str(Path(args.data).resolve())]
        for flag, value in (
            ("--storage", args.storage),
            ("--workspace", args.workspace),
            ("--timeout", args.timeout),
        ):
            if value is not None:
                argv += [flag, str(value)]
        arguments.append(argv)
    codes, interrupted = wait_for(spawn_workers(arguments, gpus))
    failed = [c for c in codes if c not in (EXIT_OK, EXIT_INTERRUPTED)]
    if failed and not interrupted:
        from sattn_dash.search.study import SearchError

        raise SearchError(
            f"{len(failed)} of {len(codes)} worker processes failed (exit {failed[0]}); "
            "their reasons are on stderr above."
        )
    return interrupted or EXIT_INTERRUPTED in codes


def _reload(name: str, args: argparse.Namespace) -> Any:
    from sattn_dash.search.study import load_study, open_storage

    return load_study(name, open_storage(name, args.storage, args.workspace))[0]


def _report(
    study: Any, settings: StudySettings, args: argparse.Namespace, interrupted: bool
) -> Result:
    from sattn_dash.search.study import shown_url, summary

    data = summary(study, settings)
    data["storage"] = shown_url(args.storage)
    data["interrupted"] = interrupted
    data["status"] = "stopped" if interrupted else "finished"
    return Result(data, format_summary(data), EXIT_INTERRUPTED if interrupted else EXIT_OK)


def format_summary(data: dict[str, Any]) -> str:
    c = data["counts"]
    lines = [
        f"study {data['study']} ({data['storage']}): {c['COMPLETE']} complete, "
        f"{c['PRUNED']} pruned, {c['FAIL']} failed of {data['trials_wanted']} wanted"
        + ("  [stopped]" if data["interrupted"] else ""),
    ]
    best = data["best"]
    if best:
        lines.append(
            f"  best: trial {best['trial']}  {data['metric']} {best['value']:.5g}  "
            f"run {best['run_id']}"
            + (
                f"  test score {best['test_score']:.4f}"
                if best.get("test_score") is not None
                else ""
            )
        )
        lines.append("  params: " + ", ".join(f"{k}={v}" for k, v in best["params"].items()))
    for t in data["trials"]:
        value = "" if t.get("value") is None else f"{t['value']:.5g}"
        lines.append(f"  #{t['trial']:<4} {t['outcome']:<22} {value:<10} {t.get('run_id') or ''}")
    return "\n".join(lines)


COMMANDS = {
    "search": Command(
        "search architectures and settings with Optuna (resumes a study of the same name)",
        search_arguments,
        search,
    ),
    "search-worker": Command(
        "join an existing study from this process or machine", worker_arguments, search_worker
    ),
}
