"""The workspace layout: which folder is the workspace and where each kind of work lives.

The workspace is ``--workspace`` when a command or the app is given one, else
``$SATTN_DASH_WORKSPACE``, else ``./workspace``. Under it:

- ``runs/<run_id>/``: trained runs (``sattn_dash.training.store``),
- ``studies/<name>.journal`` and the files beside it: searches (``sattn_dash.search``),
- ``drafts/<id>.json``: users' work in progress (``sattn_dash.tabular.drafts``),
- ``tables/<sha256>/<file name>``: uploaded tables, once by content (the same).

Base layer: imports nothing of sattn_dash. Everyone asks here for these paths.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "DEFAULT_WORKSPACE",
    "DRAFTS",
    "RUNS",
    "STUDIES",
    "TABLES",
    "WORKSPACE_ENV",
    "default_workspace",
    "drafts_dir",
    "resolve",
    "runs_dir",
    "studies_dir",
    "tables_dir",
]

WORKSPACE_ENV = "SATTN_DASH_WORKSPACE"
DEFAULT_WORKSPACE = "workspace"
RUNS, STUDIES, DRAFTS, TABLES = "runs", "studies", "drafts", "tables"

Workspace = str | os.PathLike | None


def default_workspace() -> Path:
    """``$SATTN_DASH_WORKSPACE``, else ``./workspace`` (relative to the working folder)."""
    return Path(os.environ.get(WORKSPACE_ENV) or DEFAULT_WORKSPACE)


def resolve(workspace: Workspace = None) -> Path:
    """The workspace folder: the one given (``--workspace``), else the default."""
    return Path(workspace) if workspace is not None else default_workspace()


def runs_dir(workspace: Workspace = None) -> Path:
    return resolve(workspace) / RUNS


def studies_dir(workspace: Workspace = None) -> Path:
    return resolve(workspace) / STUDIES


def drafts_dir(workspace: Workspace = None) -> Path:
    return resolve(workspace) / DRAFTS


def tables_dir(workspace: Workspace = None) -> Path:
    return resolve(workspace) / TABLES
