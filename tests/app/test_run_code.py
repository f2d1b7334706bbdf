"""The Runs page shows a trained run in code: the lines it shows load the model with plain
Keras and predict through the run's preprocessing, in a fresh process; and it offers the
run's training script."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

from sattn_dash.tabular import load_sample
from sattn_dash.training import RunStore
from sattn_dash.ui.shared import pages
from tests.app.conftest import ROOT
from tests.app.helpers import no_exception, open_page


def test_the_shown_lines_load_and_predict_in_a_fresh_process(trained_app, tmp_path):
    app, runs = trained_app
    at = open_page(app, pages.RUNS, runs["tokens"])
    no_exception(at)
    lines = next(c.value for c in at.code if "keras.saving.load_model" in c.value)
    assert any(b.label == "Training script (.py)" for b in at.get("download_button"))

    rows = load_sample("penguins").head(25)
    rows.to_csv(tmp_path / "rows.csv", index=False)
    script = (
        "import pandas as pd, numpy as np\n"
        "new_rows = pd.read_csv('rows.csv')\n"
        + lines
        + "\nnp.save('out.npy', np.asarray(next(iter(predictions.values()))"
        " if isinstance(predictions, dict) else predictions))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    got = np.load(tmp_path / "out.npy")
    run = RunStore(os.environ["SATTN_DASH_WORKSPACE"]).load(runs["tokens"])
    want = run.predict(rows)
    probabilities = want[[c for c in want if c.startswith("species_proba_")]].to_numpy()
    assert np.allclose(got, probabilities, atol=1e-5)


def test_the_lines_say_which_output_is_the_prediction_for_the_default_model(tmp_path):
    """The default model's predict returns its members' outputs beside the head's: the
    lines name the one to read."""
    from sattn_dash.ui.runs.run_code import load_lines
    from tests.app.conftest import train_run

    run_id = train_run(tmp_path, "breast_cancer", "tabm", "tabm run")
    run = RunStore(tmp_path).load(run_id)
    (target,) = run.targets
    lines = load_lines(run)
    assert f"'head_{target}': the second class's probability" in lines
    assert f"'head_{target}_members_tabm' (each member's own" in lines
    compile(lines, "shown", "exec")  # still Python
