"""A run's ``model.keras`` loads with plain ``keras.saving.load_model`` in a fresh process
after ``import sattn_dash`` (in either order), outside the repository, and predicts what
the run stored for its test split."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.conftest import make_modeling_table

ROOT = Path(__file__).resolve().parents[2]
PRESETS = ("per_group", "routed_experts", "feature_attention")

CHECK = """
import numpy as np, pandas as pd
from sattn_dash.tabular import PreparedData

gaps = {}
for run in sys.argv[1:]:
    model = keras.saving.load_model(run + "/model.keras")
    prepared = PreparedData.load(run + "/prepared")
    out = model.predict(prepared.split("test")[0].to_numpy(), verbose=0)
    stored = pd.read_csv(run + "/predictions.csv")
    for target, task in prepared.tasks.items():
        got = np.asarray(out["head_" + target])
        if task == "regression":
            want = stored[target + "_pred"].to_numpy().reshape(got.shape)
        else:
            want = stored[[c for c in stored if c.startswith(target + "_proba_")]].to_numpy()
        gaps[run + ":" + target] = float(np.max(np.abs(got - want)) / (1 + np.abs(want).max()))
print(json.dumps({"gaps": gaps, "tensorflow_after_sattn_dash": tf_after_sattn_dash}))
"""
ORDERS = {
    "sattn_dash-first": "import json, sys\nimport sattn_dash\n"
    "tf_after_sattn_dash = 'tensorflow' in sys.modules\nimport keras\n",
    "keras-first": "import json, sys\nimport keras\nimport sattn_dash\ntf_after_sattn_dash = None\n",
}


@pytest.fixture(scope="module")
def run_folders(tmp_path_factory) -> list[str]:
    """One trained run per combiner family: weighting, routing, feature attention."""
    from sattn_dash.tabular import infer_schema
    from sattn_dash.training import RunStore, TrainingConfig, TrainingSession

    store = RunStore(tmp_path_factory.mktemp("saved"))
    table = make_modeling_table(rows=120).drop(columns=["label"])
    groups = {"signal": ("x0", "x1"), "rest": ("x2", "x3")}
    schema = infer_schema(table, targets=["kind", "amount"], groups=groups)
    folders = []
    for preset in PRESETS:
        session = TrainingSession(table, schema, preset, TrainingConfig(epochs=1, seed=0), store)
        assert session.start().wait(300).state == "finished"
        folders.append(str(store.path(session.run_id)))
    return folders


@pytest.mark.parametrize("order", ORDERS)
def test_plain_keras_load_predicts_the_stored_predictions(run_folders, order, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run(
        [sys.executable, "-c", ORDERS[order] + CHECK, *run_folders],
        cwd=tmp_path,  # outside the repository
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(result["gaps"]) == 2 * len(PRESETS)
    assert all(gap < 1e-5 for gap in result["gaps"].values()), result
    assert result["tensorflow_after_sattn_dash"] in (False, None)  # import stays light
