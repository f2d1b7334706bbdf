"""Studies started from the app: a ``search`` process in the background, found again later.

The app never trains a trial in its own process (TensorFlow state is per process and a
search outlives a browser tab): it saves the table and schema beside the study, starts
``python -m sattn_dash search`` in a session of its own, and writes a launch record
(``<workspace>/studies/<name>.launch.json``: owner, output files, storage). Any tab, or
a server restarted meanwhile, reads the record and the study's storage to reattach;
Stop sends the process SIGINT, which ends the running trials cleanly.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from sattn_dash import workspace as layout
from sattn_dash.files import read_json, write_json, write_with
from sattn_dash.search.study import (
    JOURNAL_SUFFIX,
    STORAGE_ENV,
    USER_ENV,
    SearchError,
    check_study_name,
    shown_url,
)
from sattn_dash.training import owner
from sattn_dash.training.users import can_see

if TYPE_CHECKING:
    from sattn_dash.tabular.schema import Schema


TABLE_SUFFIX = ".table.parquet"  # the study's own copy of the table
LEGACY_TABLE_SUFFIX = ".table.pkl"  # a pickle, written before 2026-12-07: never read


def _folder(workspace: str | Path | None) -> Path:
    return layout.studies_dir(workspace)


def _file(name: str, suffix: str, workspace: str | Path | None) -> Path:
    return _folder(workspace) / f"{check_study_name(name)}{suffix}"


def save_inputs(name: str, df: pd.DataFrame, schema: Schema, space: dict, workspace=None) -> dict:
    """Write the study's own copy of the table (Parquet: reading it runs no code), its
    schema and its space; their paths."""
    folder = _folder(workspace)
    folder.mkdir(parents=True, exist_ok=True)
    df = parquet_safe(df)
    df.attrs = {}  # how the file was read: not part of the table
    table = _file(name, TABLE_SUFFIX, workspace)
    try:
        write_with(table, lambda temp: df.to_parquet(temp, index=False), suffix=".parquet")
    except (ValueError, TypeError, ImportError, ArithmeticError) as exc:
        raise SearchError(
            f"The table cannot be saved for the study ({str(exc).splitlines()[0][:200]}); "
            "make each column hold one kind of value, then start the study again."
        ) from None
    schema_file = _file(name, ".schema.json", workspace)
    write_json(schema_file, schema.to_dict())
    space_file = _file(name, ".space.json", workspace)
    write_json(space_file, space)
    return {"data": table, "schema": schema_file, "space": space_file}


def parquet_safe(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` (a shallow copy) with each object column Parquet cannot hold (numbers and
    words in one column, as Excel and JSON give) as text (``str``, as text read from a
    file is), each value written as the encoders read it (``as_text``: 3.0 as "3"),
    missing values kept missing; numbers read from that text are the ones it held."""
    import pyarrow as pa

    from sattn_dash.tabular.coerce import as_text

    df = df.copy(deep=False)
    for i, dtype in enumerate(df.dtypes):
        if not pd.api.types.is_object_dtype(dtype):
            continue
        try:
            pa.array(df.iloc[:, i], from_pandas=True)
        except (pa.ArrowException, ValueError, TypeError, OverflowError):
            try:
                df.isetitem(i, as_text(df.iloc[:, i]).astype("str"))
            except TypeError:  # unhashable cells (lists): the write says which column
                continue
    return df


def launch(
    name: str,
    inputs: dict,
    targets: list[str],
    *,
    trials: int,
    workers: int = 1,
    timeout: float | None = None,
    storage: str | None = None,
    metric: str = "auto",
    seed: int = 0,
    workspace: str | Path | None = None,
    user: str | None = None,
) -> dict:
    """Start ``search`` for study ``name`` in the background; returns its launch record.
    Refuses a second search of a study that is still running here."""
    current = launch_state(name, workspace)
    if current is not None and not can_see(current.get("user"), user):
        raise SearchError(f"Study {name!r} was started by someone else; choose another name.")
    if current is not None and current["alive"]:
        raise SearchError(f"Study {name!r} is already running; stop it or wait for it.")
    workspace = Path(workspace) if workspace is not None else _folder(None).parent
    out, log = _file(name, ".out.json", workspace), _file(name, ".log", workspace)
    argv = [sys.executable, "-m", "sattn_dash", "search", "--data", str(inputs["data"])]
    for target in targets:
        argv += ["--target", target]
    argv += ["--schema", str(inputs["schema"]), "--space", str(inputs["space"])]
    argv += ["--study", name, "--trials", str(trials), "--workers", str(workers)]
    argv += ["--metric", metric, "--seed", str(seed), "--workspace", str(workspace), "--json"]
    if timeout:
        argv += ["--timeout", str(timeout)]
    env = dict(os.environ)
    env.pop(STORAGE_ENV, None)
    if storage:  # by environment, so a password is not in the process list
        env[STORAGE_ENV] = storage
    env.pop(USER_ENV, None)
    if user:
        env[USER_ENV] = user
    with open(out, "wb") as stdout, open(log, "wb") as stderr:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            env=env,
            start_new_session=True,  # Stop signals its whole group; a closed tab does not
            cwd=Path.cwd(),
        )
    record = {
        "study": name,
        "host": owner.this_owner()["host"],
        "pid": process.pid,
        "pid_start": owner._process_start(process.pid),  # noqa: SLF001 - same check as runs
        "started_at": time.time(),
        "trials": trials,
        "workers": workers,
        "storage": storage,
        "storage_shown": shown_url(storage),
        "user": user,
        "out": str(out),
        "log": str(log),
    }
    record_file = _file(name, ".launch.json", workspace)
    write_json(record_file, record)
    os.chmod(record_file, 0o600)  # it may hold a database password
    return {**record, "alive": True}


def launch_state(name: str, workspace: str | Path | None = None) -> dict | None:
    """The launch record of a study started here, with ``alive`` and, once ended, its
    ``result`` (the JSON the search printed) or ``error``; None if none was started here."""
    file = _file(name, ".launch.json", workspace)
    if not file.is_file():
        return None
    record = read_json(file)
    alive = owner.owner_alive("", {**record, "heartbeat": None})
    state = {**record, "alive": alive, "result": None, "error": None}
    if not alive:
        out = Path(record["out"])
        try:
            text = out.read_text(encoding="utf-8").strip()
            state["result"] = json.loads(text) if text else None
        except (OSError, ValueError):
            state["result"] = None
        if state["result"] is None or state["result"].get("status") == "error":
            state["error"] = (state["result"] or {}).get("error") or _last_line(record["log"])
    return state


def _last_line(log: str) -> str | None:
    try:
        lines = [x for x in Path(log).read_text(errors="replace").splitlines() if x.strip()]
    except OSError:
        return None
    return lines[-1][:500] if lines else None


def stop(name: str, workspace: str | Path | None = None, user: str | None = None) -> bool:
    """Ask a running search to stop (SIGINT to its process group); False if not running
    or not ``user``'s (sign-in on)."""
    state = launch_state(name, workspace)
    if state is None or not state["alive"] or not can_see(state.get("user"), user):
        return False
    try:
        os.killpg(state["pid"], signal.SIGINT)
    except ProcessLookupError:
        return False
    return True


def list_studies(workspace: str | Path | None = None, user: str | None = None) -> list[str]:
    """Studies of this workspace: the embedded journals and the ones started here with
    another storage, newest first. With a ``user`` (sign-in on), only the studies that
    user started here (a study started from the CLI belongs to nobody, as its runs do)."""
    folder = _folder(workspace)
    if not folder.is_dir():
        return []
    names: dict[str, float] = {}
    for path in folder.iterdir():
        for suffix in (JOURNAL_SUFFIX, ".launch.json"):
            if path.name.endswith(suffix):
                names[path.name[: -len(suffix)]] = max(
                    names.get(path.name[: -len(suffix)], 0.0), path.stat().st_mtime
                )
    if user is not None:
        names = {n: t for n, t in names.items() if _started_by(n, workspace) == user}
    return sorted(names, key=names.get, reverse=True)


def _started_by(name: str, workspace: str | Path | None) -> str | None:
    try:
        record = read_json(_file(name, ".launch.json", workspace))
    except (OSError, ValueError, SearchError):
        return None
    return record.get("user") if isinstance(record, dict) else None


def storage_of(name: str, workspace: str | Path | None = None) -> str | None:
    """The storage URL a study was started with here (None: the embedded journal)."""
    state = launch_state(name, workspace)
    return state.get("storage") if state else None
