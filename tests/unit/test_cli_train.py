"""``python -m sattn_dash``: train, runs, show and delete, in process and as a real process."""

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sattn_dash.cli import ProgressBar, main
from sattn_dash.tabular.samples import DATA_DIR
from sattn_dash.training import RunStore
from sattn_dash.training.session import SessionStatus

REPO = Path(__file__).resolve().parents[2]


def _cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _json(out: str) -> dict:
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1, f"stdout must be one JSON object, got: {out!r}"
    return json.loads(lines[0])


def test_train_runs_show_delete(capsys, tmp_path, training_csv):
    ws = str(tmp_path / "ws")
    code, out, err = _cli(
        capsys,
        "train",
        "--data",
        str(training_csv),
        "--target",
        "label",
        "--preset",
        "ensemble",
        "--epochs",
        "3",
        "--batch-size",
        "32",
        "--seed",
        "1",
        "--workspace",
        ws,
        "--json",
    )
    assert code == 0, err
    result = _json(out)
    assert result["status"] == "finished"
    assert result["tasks"] == {"label": "binary"}
    assert result["metrics"]["label"]["accuracy"] > 0.7
    assert set(result["module_importance"]) == {"linear", "nonlinear", "deep"}
    assert sum(result["module_importance"].values()) == pytest.approx(1.0)
    assert result["epochs_run"] == 3 and result["duration_s"] > 0
    run_id = result["run_id"]

    code, out, _ = _cli(capsys, "runs", "--workspace", ws, "--json")
    listed = _json(out)
    assert code == 0 and [r["run_id"] for r in listed["runs"]] == [run_id]
    assert listed["runs"][0]["status"] == "finished" and listed["skipped"] == []

    code, out, _ = _cli(capsys, "show", run_id, "--workspace", ws, "--json")
    shown = _json(out)
    assert code == 0 and shown["metrics"] == result["metrics"]
    assert len(shown["history"]) == 3 and shown["card"]["seed"] == 1
    analysis = shown["analysis"]
    assert {r["branch"] for r in analysis["tables"]["module_importance"]} == {
        "linear",
        "nonlinear",
        "deep",
    }
    assert analysis["tables"]["faithfulness"][0]["verdict"]
    scores = {r["model"]: r["value"] for r in analysis["tables"]["baseline_summary"]}
    assert scores["logistic regression"] > scores["dummy (class prior)"]

    code, out, _ = _cli(capsys, "show", run_id, "--workspace", ws, "--no-analysis")
    assert code == 0 and run_id in out and "label (binary)" in out and "accuracy" in out
    assert "faithfulness" not in out
    code, out, _ = _cli(capsys, "show", run_id, "--workspace", ws)
    assert code == 0 and "faithfulness: " in out and "Baselines (seed 1)" in out

    code, out, _ = _cli(capsys, "runs", "--workspace", ws)
    assert code == 0 and "1 run(s)" in out and run_id in out

    code, out, _ = _cli(capsys, "delete", run_id, "--workspace", ws)
    assert code == 0 and f"deleted run {run_id}" in out
    assert RunStore(ws).list() == []


def test_baselines_on_a_sample(capsys):
    data = str(DATA_DIR / "penguins.csv")
    code, out, err = _cli(
        capsys, "baselines", "--data", data, "--target", "species", "--tune-trials", "2", "--json"
    )
    assert code == 0, err
    report = _json(out)
    assert report["targets"] == {"species": "multiclass"}
    test = {r["model"]: r for r in report["summary"] if r["split"] == "test"}
    for tree in ("gradient boosting", "LightGBM", "CatBoost", "LightGBM (tuned, 2 trials)"):
        assert test[tree]["gain_over_dummy"] > 0.3 and test[tree]["fit_seconds"] > 0
    assert "Tuning LightGBM: 2 trials, about" in err  # the estimate, before it starts
    code, out, _ = _cli(capsys, "baselines", "--data", data, "--target", "species")
    assert code == 0 and "logistic regression" in out
    code, _, err = _cli(capsys, "baselines", "--data", data, "--target", "nope")
    assert code == 2 and "No column 'nope'" in err and "Traceback" not in err


def test_train_with_a_spec_file_and_a_combiner(capsys, tmp_path, training_csv):
    from sattn_dash.modeling import preset_spec
    from sattn_dash.tabular import infer_schema, prepare

    df = pd.read_csv(training_csv)
    prepared = prepare(df, infer_schema(df, targets=["amount"]))
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(preset_spec("three_branch", prepared).to_json())
    code, out, err = _cli(
        capsys,
        "train",
        "--data",
        str(training_csv),
        "--target",
        "amount",
        "--spec",
        str(spec_file),
        "--combiner",
        "mean",
        "--epochs",
        "2",
        "--workspace",
        str(tmp_path / "ws"),
        "--json",
    )
    assert code == 0, err
    result = _json(out)
    assert result["tasks"] == {"amount": "regression"}
    assert {"rmse", "mae", "r2"} <= set(result["metrics"]["amount"])
    assert result["module_importance"] is None  # a mean combiner learns no weights
    run = RunStore(tmp_path / "ws").load(result["run_id"])
    assert run.spec.combiner.kind == "mean"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--data", "{missing}", "--target", "label"], "no file or folder"),
        (["train", "--data", "{csv}", "--target", "nope"], "No column 'nope'"),
        (["train", "--data", "{csv}", "--target", "label", "--preset", "nope"], "No preset named"),
        (["train", "--data", "{csv}", "--target", "label", "--spec", "{missing}"], "No spec file"),
        (["train", "--data", "{csv}", "--target", "label", "--spec", "{csv}"], "not valid JSON"),
        (["train", "--data", "{csv}", "--target", "label", "--combiner", "max"], "invalid choice"),
        (["train", "--data", "{csv}", "--target", "label", "--epochs", "0"], "epochs must be"),
        (["train", "--data", "{csv}", "--target", "label", "--device", "tpu"], "device must be"),
        (["train", "--data", "{csv}"], "--target"),
        (["show", "../../etc"], "not a run id"),
        (["delete", "20250101-120000-abcdef"], "No run 20250101-120000-abcdef"),
        (["fly"], "invalid choice"),
        ([], "required"),
    ],
)
def test_user_errors_exit_2_with_one_line(capsys, tmp_path, training_csv, argv, message):
    argv = [
        a.format(missing=str(tmp_path / "missing.csv"), csv=str(training_csv)) for a in argv
    ] + ["--workspace", str(tmp_path / "ws")] * bool(argv)
    code, out, err = _cli(capsys, *argv)
    assert code == 2
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], err
    assert "Traceback" not in err
    assert out == ""
    if argv:  # and with --json, stdout is still one JSON object
        code, out, _ = _cli(capsys, *argv, "--json")
        assert code == 2 and message in _json(out)["error"]


def test_a_wrong_table_is_refused_before_tensorflow_starts(tmp_path, training_csv):
    """A wrong path or target is said at once, not after TensorFlow's start (4 s)."""
    root = Path(__file__).resolve().parents[2]
    ws = str(tmp_path / "ws")
    script = (
        "import sys\n"
        "from sattn_dash.cli import main\n"
        f"codes = [main(['train', '--data', {str(tmp_path / 'missing.csv')!r}, '--target', "
        f"'label', '--workspace', {ws!r}]), main(['train', '--data', {str(training_csv)!r}, "
        f"'--target', 'nope', '--workspace', {ws!r}])]\n"
        "print(codes, 'tensorflow' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout.strip().splitlines()[-1] == "[2, 2] False", done.stdout + done.stderr
    assert "no file or folder" in done.stderr and "No column 'nope'" in done.stderr


def test_nan_loss_is_a_user_error_with_the_run_kept(capsys, tmp_path, training_csv):
    from sattn_dash.modeling import preset_spec
    from sattn_dash.tabular import infer_schema, prepare

    df = pd.read_csv(training_csv)
    spec = preset_spec("ensemble", prepare(df, infer_schema(df, targets=["amount"])))
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps({**spec.to_dict(), "learning_rate": 1e10}))
    ws = str(tmp_path / "ws")
    code, out, err = _cli(
        capsys,
        "train",
        "--data",
        str(training_csv),
        "--target",
        "amount",
        "--spec",
        str(spec_file),
        "--epochs",
        "5",
        "--workspace",
        ws,
        "--json",
    )
    assert code == 2
    result = _json(out)
    assert result["status"] == "failed" and "Lower the learning rate" in result["error"]
    assert [line for line in err.splitlines() if line.startswith("error:")] == [
        f"error: {result['error']}"
    ]
    assert "Traceback" not in err
    assert RunStore(ws).list()[0].status == "failed"


def test_progress_bar_draws_one_line():
    stream = io.StringIO()
    bar = ProgressBar(stream, width=10)
    status = SessionStatus(
        "r",
        "running",
        "training",
        epoch=2,
        epochs=4,
        batch=5,
        batches=10,
        logs={"loss": 0.5, "val_loss": 0.75, "accuracy": 0.9},
        eta_s=12.0,
    )
    bar.draw(status)
    bar.close(status)
    text = stream.getvalue()
    assert text.startswith("\rtraining: epoch 2/4 [###.......] loss 0.5  val_loss 0.75  ETA 12s")
    assert text.endswith("\n") and "accuracy" not in text


def _spawn_train(workspace, data, *extra):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sattn_dash",
            "train",
            "--data",
            str(data),
            "--target",
            "label",
            "--preset",
            "ensemble",
            "--workspace",
            str(workspace),
            "--json",
            *extra,
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_history(workspace, proc, timeout=180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = list(Path(workspace).glob("runs/*/history.csv"))
        if rows and len(rows[0].read_text().splitlines()) >= 2:
            return rows[0].parent.name
        if proc.poll() is not None:
            pytest.fail(f"training ended early: {proc.communicate()}")
        time.sleep(0.1)
    proc.kill()
    pytest.fail("no epoch was written in time")


def test_a_killed_training_process_leaves_an_interrupted_run(capsys, tmp_path, training_table):
    data = tmp_path / "big.csv"
    pd.concat([training_table] * 10).to_csv(data, index=False)
    ws = tmp_path / "ws"
    proc = _spawn_train(ws, data, "--epochs", "500", "--batch-size", "8")
    run_id = _wait_for_history(ws, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    store = RunStore(ws)
    [info] = store.list()
    assert (info.run_id, info.status) == (run_id, "interrupted")
    run = store.load(run_id)
    assert run.status == "interrupted" and len(run.history) >= 1
    assert run.history["epoch"].iloc[0] == 1
    # The store still works: list, show and delete through the CLI.
    code, out, _ = _cli(capsys, "show", run_id, "--workspace", str(ws), "--json")
    assert code == 0 and _json(out)["status"] == "interrupted"
    code, _, _ = _cli(capsys, "delete", run_id, "--workspace", str(ws))
    assert code == 0 and store.list() == []


def test_ctrl_c_stops_and_keeps_the_run(tmp_path, training_table):
    data = tmp_path / "big.csv"
    pd.concat([training_table] * 10).to_csv(data, index=False)
    ws = tmp_path / "ws"
    proc = _spawn_train(ws, data, "--epochs", "500", "--batch-size", "8")
    run_id = _wait_for_history(ws, proc)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    result = json.loads(out)  # a real process: the whole of stdout is one JSON object
    assert (result["run_id"], result["status"]) == (run_id, "stopped")
    assert "label" in result["metrics"]  # what was learned was evaluated and kept
    assert RunStore(ws).list()[0].status == "stopped"
