"""Benchmark the search (issue 11): does a 30-trial study beat the default preset, how
far is it from gradient boosting, and how many trials a minute do 1 and 2 workers run?

On three bundled public tables (breast_cancer: binary, penguins: multiclass, cars:
regression), each through the real CLI (``python -m sattn_dash search --json``) with
the default space for the table but small trials (``SMALL_TRIALS``: MLP and residual
branches only, widths up to 64, 2-4 epochs, patience 2), 2 worker processes, seed 0:
- the best trial (by validation loss) and its test score (ROC AUC, or R^2);
- the default model (``DEFAULT_PRESET`` with ``TrainingConfig()``, as ``train`` runs
  it when given nothing else) and scikit-learn's HistGradientBoosting on the same split, same metric;
- trials per minute of the 2-worker study, and of a 1-worker study of 8 trials on the
  first table (startup included: each worker loads TensorFlow once).

    .venv/bin/python bench/bench_search.py            # about 15 min on 2 shared cores
    .venv/bin/python bench/bench_search.py --trials 6 # a quick look

Prints markdown for bench/RESULTS.md (section "## Search").
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TABLES = [
    ("breast_cancer", "sattn_dash/data/breast_cancer.csv", "diagnosis"),
    ("penguins", "sattn_dash/data/penguins.csv", "species"),
    ("cars", "sattn_dash/data/cars.csv", "Miles_per_Gallon"),
]
# Small trials, to fit a shared 2-core box: no feature-attention branches (31-token
# attention trials took 70 s each there), narrower layers, 2-4 epochs.
SMALL_TRIALS = {
    "branch_kinds": {
        "mlp": {"width": {"choices": [16, 32, 64]}},
        "residual": {"width": {"choices": [16, 32]}},
    },
    "epochs": {"low": 2, "high": 4},
    "patience": 2,
    "batch_size": {"choices": [64, 128]},
}


def _cli(*argv: str) -> subprocess.CompletedProcess:
    out = subprocess.run(
        [sys.executable, "-m", "sattn_dash", *argv, "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise SystemExit(f"{argv[0]} failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return out


def _space(path: str, target: str, workdir: Path) -> Path:
    """The default space for the table, with small trials."""
    out = _cli(
        "search", "--data", path, "--target", target, "--print-space", "--workspace", str(workdir)
    )
    space = {**json.loads(out.stdout)["space"], **SMALL_TRIALS}
    file = workdir / f"space-{Path(path).stem}.json"
    file.write_text(json.dumps(space))
    return file


def _search(path, target, space, workdir, study, trials, workers) -> tuple[dict, float]:
    start = time.perf_counter()
    out = _cli(
        "search",
        "--data",
        path,
        "--target",
        target,
        "--space",
        str(space),
        "--study",
        study,
        "--trials",
        str(trials),
        "--workers",
        str(workers),
        "--workspace",
        str(workdir),
    )
    return json.loads(out.stdout), time.perf_counter() - start


def _references(path: str, target: str, workdir: Path) -> dict[str, float]:
    """Test score of the default model and of HistGradientBoosting on the same split."""
    from sattn_dash.analysis.baselines.baselines import sklearn_baselines
    from sattn_dash.analysis.scoring import HEADLINE_METRIC
    from sattn_dash.modeling.presets import DEFAULT_PRESET
    from sattn_dash.tabular import infer_schema, prepare, read_table
    from sattn_dash.training import RunStore, TrainingConfig, TrainingSession

    df = read_table(ROOT / path)
    schema = infer_schema(df, targets=[target])
    config = TrainingConfig(seed=0)
    prepared = prepare(df, schema, seed=0)
    task = prepared.tasks[target]
    metric = HEADLINE_METRIC[task]
    session = TrainingSession(
        df, schema, DEFAULT_PRESET, config, RunStore(workdir), prepared=prepared
    )
    session.run()
    default = RunStore(workdir).load(session.run_id).metrics[target][metric]
    baselines = sklearn_baselines(prepared, splits=("test",), seed=0)
    gb = baselines[
        baselines["model"].str.contains("gradient", case=False) & (baselines["metric"] == metric)
    ]["value"].iloc[0]
    return {"metric": metric, "default": float(default), "gb": float(gb)}


def main() -> None:
    from sattn_dash.modeling.presets import DEFAULT_PRESET

    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=30)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-search-"))
    started = time.perf_counter()
    rows, speed = [], []
    for i, (name, path, target) in enumerate(TABLES):
        space = _space(path, target, workdir)
        result, wall = _search(path, target, space, workdir, f"bench-{name}", args.trials, 2)
        done = result["counts"]["COMPLETE"] + result["counts"]["PRUNED"]
        speed.append((name, 2, done, wall))
        refs = _references(path, target, workdir)
        rows.append((name, result, refs))
        if i == 0:
            one, wall1 = _search(path, target, space, workdir, f"bench-{name}-1w", 8, 1)
            speed.append((name, 1, one["counts"]["COMPLETE"] + one["counts"]["PRUNED"], wall1))
        print(f"{name}: done in {time.perf_counter() - started:.0f}s", file=sys.stderr)

    print(
        f"Box: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; seed 0; "
        "trials of 2-4 epochs, MLP and residual branches only; default model: "
        f"{DEFAULT_PRESET} with TrainingConfig().\n"
    )
    print(
        "| table | metric (test) | best trial | default model | gradient boosting | "
        "best − default | best − GB | complete / pruned / failed |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, result, refs in rows:
        best = result["best"]["test_score"]
        c = result["counts"]
        print(
            f"| {name} | {refs['metric']} | {best:.4f} | {refs['default']:.4f} | "
            f"{refs['gb']:.4f} | {best - refs['default']:+.4f} | {best - refs['gb']:+.4f} | "
            f"{c['COMPLETE']} / {c['PRUNED']} / {c['FAIL']} |"
        )
    print("\n| table | workers | trials done | wall (s) | trials / min |")
    print("| --- | --- | --- | --- | --- |")
    for name, workers, done, wall in speed:
        print(f"| {name} | {workers} | {done} | {wall:.0f} | {done / wall * 60:.1f} |")
    print(f"\nTotal wall time: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
