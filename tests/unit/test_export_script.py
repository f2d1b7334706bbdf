"""export_script: the script trains with sattn-dash's own preprocessing and build from the
embedded spec, schema and settings, end to end in a fresh process outside the
repository; without sattn_dash importable it says how to install it (``--help`` works)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sattn_dash.modeling import BlockSpec, BranchSpec, CombinerSpec, HeadSpec, ModelSpec
from sattn_dash.modeling.export import export_script
from sattn_dash.tabular import infer_schema
from sattn_dash.training import TrainingConfig
from tests.unit.conftest import make_training_table

ROOT = Path(__file__).resolve().parents[2]


def run_script(folder: Path, *args: str, with_sattn_dash: bool = True):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    if with_sattn_dash:
        env["PYTHONPATH"] = str(ROOT)  # as if installed; the repository is not the cwd
    return subprocess.run(
        [sys.executable, "train_model.py", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def exported(tmp_path):
    """A script for a hand-made spec over a table with an excluded column and a group."""
    table = make_training_table(rows=240).drop(columns=["amount"])
    table.to_csv(tmp_path / "table.csv", index=False)
    schema = infer_schema(table, targets=["label"], groups={"signal": ("x0", "x1")})
    schema = schema.with_role("x3", "excluded")
    spec = ModelSpec(
        name="hand made",
        branches=(
            BranchSpec("signal", ("signal",), (BlockSpec("dense", units=8, activation="relu"),)),
            BranchSpec("everything", "all", (BlockSpec("dense", units=8), BlockSpec("layernorm"))),
        ),
        combiner=CombinerSpec("sparse_attention", temperature=0.5),
        heads=(HeadSpec("label"),),
    )
    config = TrainingConfig(epochs=30, seed=3, batch_size=32)
    script = export_script(spec, schema, config, data_file="table.csv", title="from a test")
    (tmp_path / "train_model.py").write_text(script)
    return tmp_path


def test_the_script_trains_the_embedded_run_outside_the_repository(exported):
    done = run_script(exported, "--epochs", "3")
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    run = Path(summary["run"])
    assert summary["state"] == "finished" and (run / "model.keras").is_file()
    assert "epoch 1/3" in done.stderr
    assert json.loads((run / "config.json").read_text())["seed"] == 3
    schema = json.loads((run / "schema.json").read_text())
    assert schema["role_overrides"] == {"x3": "excluded"}  # the user's edit travelled
    assert json.loads((run / "spec.json").read_text())["branches"][0]["inputs"] == ["signal"]
    assert summary["test_metrics"]["label"]["accuracy"] > 0.5


def test_help_works_and_a_missing_sattn_dash_is_explained(exported):
    shown = run_script(exported, "--help", with_sattn_dash=False)
    assert shown.returncode == 0 and "--epochs" in shown.stdout
    missing = run_script(exported, with_sattn_dash=False)
    assert missing.returncode == 2
    assert "sattn_dash package, which is not installed" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_a_table_that_does_not_fit_gets_one_line(exported):
    (exported / "other.csv").write_text("a,b\n1,2\n3,4\n")
    done = run_script(exported, "other.csv")
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr
