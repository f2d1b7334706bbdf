"""A run exported as an MLflow pyfunc model gives the numbers ``predict`` gives: loaded
with ``mlflow.pyfunc.load_model`` and served by a real ``mlflow models serve`` on a
loopback port. Its preprocessing is stored with skops (no pickle in the folder)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sattn_dash.analysis.new_rows.mlflow_export import example_rows, export_mlflow
from sattn_dash.analysis.new_rows.predictor import Predictor
from sattn_dash.errors import DataError
from tests.unit.conftest import make_modeling_table

SERVE_WAIT_S = 240  # a loaded 2-core box needs about a minute to import TensorFlow


@pytest.fixture(scope="module")
def trained(tmp_path_factory, two_target_run):
    """A two-target run (classes and a number) and its export."""
    run = two_target_run
    predictor = Predictor.from_run(run)
    folder = export_mlflow(run, tmp_path_factory.mktemp("models") / "model", predictor)
    new_rows = make_modeling_table(rows=30, seed=3).drop(columns=["label", "kind", "amount"])
    new_rows.loc[0, "colour"] = "ultraviolet"
    return run, predictor, folder, new_rows


def test_the_folder_holds_no_pickle_and_pins_its_requirements(trained):
    run, _, folder, _ = trained
    names = [p.name for p in folder.rglob("*")]
    assert not [n for n in names if n.endswith((".pkl", ".pickle", ".joblib", ".cloudpickle"))]
    assert "transformer.skops" in names and "model.keras" in names
    requirements = (folder / "requirements.txt").read_text().split()
    assert all("==" in r for r in requirements)
    assert {r.split("==")[0] for r in requirements} >= {"tensorflow", "keras", "skops"}
    assert (folder / "input_example.json").is_file()
    model_file = (folder / "MLmodel").read_text()
    assert "signature" in model_file and run.run_id in model_file


def test_pyfunc_predicts_what_predict_does(trained):
    import mlflow.pyfunc

    _, predictor, folder, new_rows = trained
    got = mlflow.pyfunc.load_model(str(folder)).predict(new_rows)
    pd.testing.assert_frame_equal(got, predictor.score(new_rows), check_dtype=False)


def test_example_rows_score(trained):
    _, predictor, _, _ = trained
    example = example_rows(predictor.prepared, n=3)
    assert list(example.columns) == predictor.columns
    assert np.isfinite(predictor.score(example)["amount_pred"]).all()


def test_an_existing_folder_is_left_alone(trained, tmp_path):
    run, predictor, _, _ = trained
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")
    with pytest.raises(DataError, match="already exists"):
        export_mlflow(run, tmp_path / "taken", predictor)
    assert (tmp_path / "taken" / "keep.txt").read_text() == "mine"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(trained, tmp_path):
    """`mlflow models serve` on a free loopback port, started outside the checkout (so
    sattn_dash is imported from the model folder's copy); killed (its process group)
    after."""
    folder = trained[2]
    port = _free_port()
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    env.pop("PYTHONPATH", None)
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "models", "serve", "-m", str(folder),
         "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)],
        stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        cwd=tmp_path,  # outside the checkout: sattn_dash comes from the model's code/
    )  # fmt: skip
    try:
        deadline = time.monotonic() + SERVE_WAIT_S
        while time.monotonic() < deadline:
            assert server.poll() is None, (tmp_path / "serve.log").read_text()[-2000:]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2):
                    break
            except OSError:
                time.sleep(1)
        else:
            pytest.fail(f"the server did not answer in {SERVE_WAIT_S} s")
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(10)
        log.close()


def test_served_model_answers_with_predicts_numbers(trained, served):
    _, predictor, _, new_rows = trained
    body = json.dumps(
        {"dataframe_split": json.loads(new_rows.to_json(orient="split", index=False))}
    )
    request = urllib.request.Request(
        f"{served}/invocations", body.encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        got = pd.DataFrame(json.loads(response.read())["predictions"])
    want = predictor.score(new_rows)
    assert list(got.columns) == list(want.columns)
    assert (got["kind_pred"] == want["kind_pred"]).all()
    numbers = want.select_dtypes("number").columns
    np.testing.assert_allclose(
        got[numbers].to_numpy(float), want[numbers].to_numpy(float), rtol=1e-5
    )
