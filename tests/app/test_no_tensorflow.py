"""Pages that need no model (Home, Data, the Runs list) must not import TensorFlow:
importing it costs seconds, and those pages are the first a user sees.

Checked in a fresh interpreter (this test process has TensorFlow loaded already)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.app.conftest import APP, ROOT

SCRIPT = f"""
import json, sys
from streamlit.testing.v1 import AppTest
from sattn_dash.ui.shared import pages

at = AppTest.from_file({APP!r}, default_timeout=120).run()
visited = {{"home": not at.exception}}
at.switch_page(pages.DATA).run()
at.selectbox(key="data.sample_picker").set_value("penguins")
[b for b in at.button if b.label == "Load sample"][0].click().run()
visited["data"] = not at.exception and at.session_state["data.table"] is not None
at.switch_page(pages.RUNS).run()
runs = at.dataframe[0].value if at.dataframe else None
at.multiselect(key="runs.compare").set_value(list(runs["run_id"])).run()
visited["runs"] = not at.exception and runs is not None and len(runs) == 2
print(json.dumps({{
    "visited": visited,
    "tensorflow": "tensorflow" in sys.modules,
    "keras": "keras" in sys.modules,
}}))
"""


def test_home_data_and_runs_do_not_import_tensorflow(trained_workspace):
    workspace, _ = trained_workspace
    env = dict(os.environ, SATTN_DASH_WORKSPACE=str(workspace))
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["visited"] == {"home": True, "data": True, "runs": True}, done.stderr[-3000:]
    assert result["tensorflow"] is False
    assert result["keras"] is False
