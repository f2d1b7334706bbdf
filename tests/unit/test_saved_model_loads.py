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

# Each check below fills ``result``; a process prints it as its last line.
CHECK = """
import numpy as np, pandas as pd
from sattn_dash.tabular import PreparedData

gaps = {}
for run in runs:
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
result |= {"gaps": gaps, "tensorflow_after_sattn_dash": tf_after_sattn_dash}
"""
ORDERS = {
    "sattn_dash-first": "import json, sys\nimport sattn_dash\n"
    "tf_after_sattn_dash = 'tensorflow' in sys.modules\nimport keras\n",
    "keras-first": "import json, sys\nimport keras\nimport sattn_dash\ntf_after_sattn_dash = None\n",
}

WALK = """
import importlib, pkgutil
from sattn_dash._keras_registration import MODULES

for module in pkgutil.walk_packages(sattn_dash.__path__, "sattn_dash."):
    if not module.name.startswith(("sattn_dash.ui", "sattn_dash.dashboard", "sattn_dash.__")):
        importlib.import_module(module.name)
ours = {n: o.__module__ for n, o in keras.saving.get_custom_objects().items()
        if n.startswith("sattn_dash>")}
result |= {"registered": ours, "listed": list(MODULES)}
"""

READ_RUNS = "result = {}\nruns = json.loads(sys.stdin.readline())\n"
PRINT = "print(json.dumps(result))\n"


def _start_python(code: str, cwd: Path) -> subprocess.Popen:
    """Start ``code`` in a fresh interpreter in ``cwd`` (outside the repository)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=cwd,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(process: subprocess.Popen) -> tuple[str, dict]:
    """Its stdout and the ``result`` it printed last."""
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr[-3000:]
    return stdout, json.loads(stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def fresh_processes(tmp_path_factory) -> tuple[dict[str, tuple[str, dict]], list[str]]:
    """Two fresh interpreters, one per import order, started outside the repository and
    run beside the training here (each import of TensorFlow and Keras costs seconds).
    Each loads one trained run per combiner family (weighting, routing, feature
    attention) and compares its predictions with the stored ones. The Keras-first one
    first runs exactly the Runs page's lines (``load_model_code``) for a model of every
    preset and combiner, and last imports every sattn_dash module to list what registers
    with Keras (so those imports cannot help the loads before them).
    Returns ({order: (stdout, result)}, the labels of the saved models)."""
    from sattn_dash._keras_registration import load_model_code
    from sattn_dash.tabular import infer_schema
    from sattn_dash.training import RunStore, TrainingConfig, TrainingSession

    table = make_modeling_table(rows=120).drop(columns=["label"])
    groups = {"signal": ("x0", "x1"), "rest": ("x2", "x3")}
    cwd = tmp_path_factory.mktemp("elsewhere")
    saved = _save_every_preset_and_combiner(table, groups, cwd)
    lines = "".join(
        load_model_code(path) + f"print('loaded', {label!r}, model.optimizer.name)\n"
        for label, path in saved.items()
    )
    # It loads the saved models while the runs train here, then reads the runs' folders.
    keras_first = ORDERS["keras-first"] + lines + READ_RUNS + CHECK + WALK + PRINT
    started = {"keras-first": _start_python(keras_first, cwd)}
    try:
        store = RunStore(tmp_path_factory.mktemp("saved"))
        schema = infer_schema(table, targets=["kind", "amount"], groups=groups)
        runs = []
        for preset in PRESETS:
            config = TrainingConfig(epochs=1, seed=0)
            session = TrainingSession(table, schema, preset, config, store)
            assert session.start().wait(300).state == "finished"
            runs.append(str(store.path(session.run_id)))
        sattn_dash_first = ORDERS["sattn_dash-first"] + READ_RUNS + CHECK + PRINT
        started["sattn_dash-first"] = _start_python(sattn_dash_first, cwd)
        for process in started.values():  # both go on to the runs' folders at once
            process.stdin.write(json.dumps(runs) + "\n")
            process.stdin.flush()
        finished = {order: _finish(started[order]) for order in ORDERS}
    finally:
        for process in started.values():
            process.kill()
    return finished, list(saved)


def _save_every_preset_and_combiner(table, groups, folder: Path) -> dict[str, Path]:
    """A compiled model of every preset (the default included) and of the default preset
    with every combiner kind, saved to ``.keras`` in ``folder``: {label: path}."""
    from sattn_dash.modeling.combiners import combiner_kinds
    from sattn_dash.modeling.presets import DEFAULT_PRESET, PRESETS
    from sattn_dash.tabular import infer_schema, prepare
    from sattn_dash.training import TrainingConfig, resolve_spec
    from sattn_dash.training.pipeline import compiled_model

    prepared = prepare(table, infer_schema(table, targets=["kind", "amount"], groups=groups))
    config = TrainingConfig(epochs=1, seed=0)
    plans = {name: (name, None) for name in PRESETS}
    plans |= {f"{DEFAULT_PRESET}-{kind}": (DEFAULT_PRESET, kind) for kind in combiner_kinds()}
    paths = {}
    for label, (preset, combiner) in plans.items():
        spec = resolve_spec(preset, prepared, combiner=combiner)
        model = compiled_model(spec, prepared, config, total_steps=10)
        paths[label] = folder / f"{label}.keras"
        model.save(paths[label])
    return paths


@pytest.mark.parametrize("order", ORDERS)
def test_plain_keras_load_predicts_the_stored_predictions(fresh_processes, order):
    _, result = fresh_processes[0][order]
    assert len(result["gaps"]) == 2 * len(PRESETS)
    assert all(gap < 1e-5 for gap in result["gaps"].values()), result
    assert result["tensorflow_after_sattn_dash"] in (False, None)  # import stays light


def test_the_registration_list_names_every_registered_class(fresh_processes):
    """Every class any sattn_dash module registers with Keras lives in a module of
    ``_keras_registration.MODULES`` (the list ``import sattn_dash`` uses), so a new layer,
    loss or schedule cannot be left off it. (Importing every module runs in a fresh
    process: importing ``sattn_dash.tabular.prepare`` as a module would hide the lazily
    exported function of that name from the tests after this one.)"""
    _, result = fresh_processes[0]["keras-first"]
    registered, listed = result["registered"], set(result["listed"])
    assert {"sattn_dash>PiecewiseLinearEmbedding", "sattn_dash>EnsembleSplit"} <= registered.keys()
    outside = {name: module for name, module in registered.items() if module not in listed}
    assert not outside, f"registered outside _keras_registration.MODULES: {outside}"


def test_every_preset_and_combiner_loads_with_the_runs_page_lines(fresh_processes):
    """For every preset (the default included) and every combiner kind, a compiled model
    saved to ``.keras`` loads in ONE fresh process that runs exactly the lines the Runs
    page shows (``load_model_code``: ``import keras, sattn_dash`` and
    ``keras.saving.load_model(path)``, safe mode on), before anything else it does."""
    processes, saved = fresh_processes
    stdout, _ = processes["keras-first"]
    loaded = [line.split()[1] for line in stdout.splitlines() if line.startswith("loaded ")]
    assert loaded == saved, stdout[-3000:]
