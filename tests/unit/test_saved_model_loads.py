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


def fresh_python(code: str, *args: str, cwd: Path) -> str:
    """Run ``code`` in a fresh interpreter in ``cwd`` (outside the repository); its stdout."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.parametrize("order", ORDERS)
def test_plain_keras_load_predicts_the_stored_predictions(run_folders, order, tmp_path):
    stdout = fresh_python(ORDERS[order] + CHECK, *run_folders, cwd=tmp_path)
    result = json.loads(stdout.strip().splitlines()[-1])
    assert len(result["gaps"]) == 2 * len(PRESETS)
    assert all(gap < 1e-5 for gap in result["gaps"].values()), result
    assert result["tensorflow_after_sattn_dash"] in (False, None)  # import stays light


WALK = """
import importlib, json, pkgutil
import keras
import sattn_dash
from sattn_dash._keras_registration import MODULES

for module in pkgutil.walk_packages(sattn_dash.__path__, "sattn_dash."):
    if not module.name.startswith(("sattn_dash.ui", "sattn_dash.dashboard", "sattn_dash.__")):
        importlib.import_module(module.name)
ours = {n: o.__module__ for n, o in keras.saving.get_custom_objects().items()
        if n.startswith("sattn_dash>")}
print(json.dumps({"registered": ours, "listed": list(MODULES)}))
"""


def test_the_registration_list_names_every_registered_class(tmp_path):
    """Every class any sattn_dash module registers with Keras lives in a module of
    ``_keras_registration.MODULES`` (the list ``import sattn_dash`` uses), so a new layer,
    loss or schedule cannot be left off it. (Importing every module runs in its own
    process: importing ``sattn_dash.tabular.prepare`` as a module would hide the lazily
    exported function of that name from the tests after this one.)"""
    stdout = fresh_python(WALK, cwd=tmp_path)
    result = json.loads(stdout.strip().splitlines()[-1])
    registered, listed = result["registered"], set(result["listed"])
    assert {"sattn_dash>PiecewiseLinearEmbedding", "sattn_dash>EnsembleSplit"} <= registered.keys()
    outside = {name: module for name, module in registered.items() if module not in listed}
    assert not outside, f"registered outside _keras_registration.MODULES: {outside}"


def test_every_preset_and_combiner_loads_with_the_runs_page_lines(tmp_path):
    """For every preset (the default included) and every combiner kind, a compiled model
    saved to ``.keras`` loads in ONE fresh process that runs exactly the lines the Runs
    page shows (``load_model_code``: ``import keras, sattn_dash`` and
    ``keras.saving.load_model(path)``, safe mode on)."""
    from sattn_dash._keras_registration import load_model_code
    from sattn_dash.modeling.combiners import combiner_kinds
    from sattn_dash.modeling.presets import DEFAULT_PRESET, PRESETS
    from sattn_dash.tabular import infer_schema, prepare
    from sattn_dash.training import TrainingConfig, resolve_spec
    from sattn_dash.training.pipeline import compiled_model

    table = make_modeling_table(rows=120).drop(columns=["label"])
    groups = {"signal": ("x0", "x1"), "rest": ("x2", "x3")}
    prepared = prepare(table, infer_schema(table, targets=["kind", "amount"], groups=groups))
    config = TrainingConfig(epochs=1, seed=0)
    plans = {name: (name, None) for name in PRESETS}
    plans |= {f"{DEFAULT_PRESET}-{kind}": (DEFAULT_PRESET, kind) for kind in combiner_kinds()}
    code = ""
    for label, (preset, combiner) in plans.items():
        spec = resolve_spec(preset, prepared, combiner=combiner)
        model = compiled_model(spec, prepared, config, total_steps=10)
        path = tmp_path / f"{label}.keras"
        model.save(path)
        code += load_model_code(path) + f"print('loaded', {label!r}, model.optimizer.name)\n"
    stdout = fresh_python(code, cwd=tmp_path)
    loaded = [line.split()[1] for line in stdout.splitlines() if line.startswith("loaded ")]
    assert loaded == list(plans), stdout[-3000:]
