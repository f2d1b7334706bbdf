"""A default whose modules a user can name (issue 23, item 2), against today's default.

The candidate: one TabM-style branch per group of columns (its own piecewise-linear
embedding and BatchEnsemble members) plus one branch over all columns (for the
interactions across groups), weighed by the combiner. Groups are the user's where named,
else found from the table: numeric columns clustered by how strongly they go together
(average linkage on 1 - |Spearman|, at most ``MAX_NUMERIC_GROUPS`` clusters), the
categorical columns as one more group. Two combiners: soft weights over all modules
(``sparse_attention``) and per-row top-k routing (``sparse_dense``).

Same tables, splits, training config and scoring as ``bench_accuracy.py`` (its
``load``/``baselines``/``score``); ``tabm`` is today's default fitted on the same split.

    .venv/bin/python bench/bench_named_modules.py --max-rows 2000 --seeds 0 1 2
    .venv/bin/python bench/bench_named_modules.py --table-only

Writes rows to bench/named_modules_results.json after each fit.
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
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from bench_accuracy import TABLES, baselines, load, score  # noqa: E402

MAX_NUMERIC_GROUPS = 3
GROUP_BLOCK = {"units": 64, "layers": 2, "members": 4, "rate": 0.1}
ALL_BLOCK = {"units": 128, "layers": 2, "members": 4, "rate": 0.1}
CANDIDATES = ("named_soft", "named_topk")


def found_groups(prepared) -> dict[str, list[str]]:
    """The user's groups, else numeric columns clustered by |Spearman| plus the rest."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    schema = prepared.schema
    if schema.groups:
        return {name: list(cols) for name, cols in schema.groups.items()}
    X = prepared.X_train
    numeric = [
        c
        for c in schema.feature_columns
        if c in X.columns and c not in prepared.categorical_features and X[c].nunique() > 2
    ]
    rest = [c for c in schema.feature_columns if c not in numeric]
    groups: dict[str, list[str]] = {}
    if len(numeric) > 2:
        corr = X[numeric].corr(method="spearman").abs().fillna(0.0).to_numpy()
        distance = np.clip(1 - corr, 0, None)
        np.fill_diagonal(distance, 0)
        tree = linkage(squareform(distance, checks=False), "average")
        labels = fcluster(tree, MAX_NUMERIC_GROUPS, criterion="maxclust")
        for label in sorted(set(labels)):
            groups[f"numeric{label}"] = [
                c for c, k in zip(numeric, labels, strict=True) if k == label
            ]
    elif numeric:
        groups["numeric"] = numeric
    if rest:
        groups["categorical"] = rest
    return groups


def named_spec(prepared, routing: bool):
    from sattn_dash.modeling.presets import MODERN_RECIPE, embedding_units
    from sattn_dash.modeling.spec import BlockSpec, BranchSpec, CombinerSpec, HeadSpec, ModelSpec

    def blocks(sizes):
        embed = BlockSpec(
            "piecewise_linear", units=embedding_units(prepared), bins=32, start_linear=True
        )
        return (embed, BlockSpec("batch_ensemble", **sizes))

    branches = [
        BranchSpec(f"g{i}{name}"[:30], inputs=tuple(cols), blocks=blocks(GROUP_BLOCK))
        for i, (name, cols) in enumerate(found_groups(prepared).items())
    ]
    branches.append(BranchSpec("all", blocks=blocks(ALL_BLOCK)))
    n_modules = sum(b.members for b in branches)
    if routing:
        combiner = CombinerSpec("sparse_dense", top_k=min(8, n_modules), num_heads=2, key_dim=16)
    else:
        combiner = CombinerSpec("sparse_attention", temperature=1.0)
    heads = tuple(HeadSpec(t) for t in prepared.tasks)
    return ModelSpec(
        name="named modules", branches=tuple(branches), combiner=combiner, heads=heads,
        **MODERN_RECIPE,
    ).validate(prepared)  # fmt: skip


def fit(frame, schema, which: str, seed: int):
    """(test score in points, fit seconds, epochs, module weights by branch)."""
    from sattn_dash.modeling import preset_spec
    from sattn_dash.tabular import prepare
    from sattn_dash.training import TrainingConfig
    from sattn_dash.training.evaluation import evaluate
    from sattn_dash.training.importance import branch_importance
    from sattn_dash.training.pipeline import prepare_fit

    config = TrainingConfig(seed=seed)
    prepared = prepare(frame, schema, seed=seed, options=config.prepare_options())
    if which == "tabm":
        spec = preset_spec("tabm", prepared)
    else:
        spec = named_spec(prepared, routing=which == "named_topk")
    started = time.perf_counter()
    model, dataset, fit_kwargs = prepare_fit(spec, prepared, config)
    history = model.fit(dataset, **fit_kwargs)
    seconds = time.perf_counter() - started
    (target,) = prepared.tasks
    metrics = evaluate(model, prepared)[target]
    weights = {}
    if which != "tabm":
        importance = branch_importance(model, prepared, seed=seed) or {}
        for branch in spec.branches:
            weights[branch.name] = float(sum(importance.get(m, 0.0) for m in branch.module_names))
    return score(prepared.tasks[target], metrics), seconds, len(history.history["loss"]), weights


def run(names, seeds, max_rows, which, out: Path) -> list[dict]:
    from sattn_dash.tabular import infer_schema

    rows = json.loads(out.read_text()) if out.is_file() else []
    done = {(r["table"], r["seed"]) for r in rows}
    tables = {name: load(name, max_rows) for name in names}
    for seed in seeds:
        for name, (frame, target, task) in tables.items():
            if (name, seed) in done:
                continue
            schema = infer_schema(frame, targets=target)
            row = {"table": name, "task": task, "rows": len(frame), "seed": seed}
            scores, _ = baselines(frame, schema, seed)
            row["boosting"] = scores["boosting"]
            for label in which:
                value, seconds, epochs, weights = fit(frame, schema, label, seed)
                row[label], row[f"{label}_s"], row[f"{label}_epochs"] = value, seconds, epochs
                if weights:
                    row[f"{label}_weights"] = weights
            rows.append(row)
            out.write_text(json.dumps(rows, indent=1))
            print(json.dumps(row), flush=True)
    return rows


def table(rows: list[dict], which) -> str:
    frame = pd.DataFrame(rows)
    lines = [
        "| table | n | tabm | " + " | ".join(w for w in which if w != "tabm") + " | HGB |",
        "|---|---:|---:|" + "---:|" * (len(which) - 1) + "---:|",
    ]
    for name, part in frame.groupby("table", sort=False):
        cells = [f"{part[w].mean():.1f}" for w in which if w in part]
        lines.append(
            f"| {name} | {len(part)} | " + " | ".join(cells) + f" | {part['boosting'].mean():.1f} |"
        )
    summary = []
    for w in which:
        if w == "tabm" or w not in frame:
            continue
        gap = (frame[w] - frame["tabm"]).mean()
        hgb = (frame[w] - frame["boosting"]).mean()
        ratio = (frame[f"{w}_s"] / frame["tabm_s"]).groupby(frame["table"]).mean()
        summary.append(
            f"{w}: mean gap to tabm {gap:+.2f} points, to HGB {hgb:+.2f}; fit-time ratio "
            f"mean {ratio.mean():.2f}x, worst {ratio.max():.2f}x ({ratio.idxmax()})"
        )
    summary.append(f"tabm: mean gap to HGB {(frame['tabm'] - frame['boosting']).mean():+.2f}")
    return "\n".join(lines + [""] + summary)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-rows", type=int, default=2000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--only", nargs="+", choices=list(TABLES), default=list(TABLES))
    parser.add_argument("--models", nargs="+", default=["tabm", *CANDIDATES])
    parser.add_argument(
        "--out", default=str(Path(__file__).with_name("named_modules_results.json"))
    )
    parser.add_argument("--table-only", action="store_true")
    args = parser.parse_args()
    out = Path(args.out)
    if not args.table_only:
        run(args.only, args.seeds, args.max_rows, args.models, out)
    print(table(json.loads(out.read_text()), args.models))


if __name__ == "__main__":
    main()
