"""``sattn-dash app``: the dashboard under ``streamlit run``, from any folder.

Runs Streamlit in this process on the package's entry script, so its options pass
through untouched (``sattn-dash app --server.port 8600``) and Ctrl-C stops the server
as it would ``streamlit run``. The package's ``dashboard/.streamlit/config.toml`` sits
next to that script, where Streamlit reads script-level settings (upload cap, XSRF, theme);
options given on the command line win over it.
"""

from __future__ import annotations

import os
from pathlib import Path

from sattn_dash.dashboard import MAIN_SCRIPT
from sattn_dash.workspace import WORKSPACE_ENV


def streamlit_argv(options: list[str]) -> list[str]:
    """The ``streamlit`` command line that serves the dashboard with ``options``."""
    return ["run", str(MAIN_SCRIPT), *options]


def run(options: list[str], workspace: str | None = None) -> int:
    """Serve the dashboard until Streamlit stops; returns its exit status."""
    if workspace:
        os.environ[WORKSPACE_ENV] = str(Path(workspace).resolve())
    from streamlit.web import cli

    try:
        cli.main(args=streamlit_argv(options), prog_name="sattn-dash app")
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 2)
    return 0
