"""A default whose modules a user can name (issue 23, item 2), against today's default.

The candidate: one TabM-style branch per group of columns (its own piecewise-linear
embedding and BatchEnsemble members) plus one branch over all columns (for the
interactions across groups), weighed by the combiner. Groups are the user's where named,
else found from the table: numeric columns clustered by how strongly they go together
(average linkage on 1 - |Spearman|, at most ``MAX_NUMERIC_GROUPS`` clusters), the
categorical columns as one more group. Two combiners: soft weights over all modules
(``sparse_attention``) and per-row top-k routing (``sparse_dense``).

The ``lite_*`` candidates (``LITE``) are the cheaper, sharper try: today's tabm branch
as the all-columns branch, one small module per group, a lower temperature (or an
entropy penalty, or sparsemax). For them, and for the presets measured as shipped
(``SHIPPED``), the row also holds their faithfulness (``faithfulness_row``): the Module
importance page's verdict on the combiner's weights against ablation, per branch (an
ensemble's members together). Rows written before 2026-12-07 evening also hold a
per-member verdict (``rho_modules``) and, for class targets, ablation scored in ROC AUC
beside log loss; the page now scores ablation in log loss and by branch.

``ROUTED`` puts a sparse-dense router in place of the shipped default's weighting layer
(soft weights against top-k routing on the same branches).

Same tables, splits, training config and scoring as ``bench_accuracy.py`` (its
``load``/``baselines``/``score``); ``tabm``, the default before 2026-12-07, is fitted on the same split.

    .venv/bin/python bench/bench_named_modules.py --max-rows 2000 --seeds 0 1 2
    .venv/bin/python bench/bench_named_modules.py --table-only
    .venv/bin/python bench/bench_named_modules.py --models tabm lite_t003 \
        --out bench/named_lite_results.json
    .venv/bin/python bench/bench_named_modules.py --models tabm column_groups_top4 \
        --seeds 0 --out bench/column_groups_routed_results.json

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
# Cheaper, sharper variants (2026-12-07, late): the all-columns branch is today's tabm
# branch as it is (8 members x 2 x 128); each group branch is one small module (no
# members) over its columns, as wide as a tabm member so the members keep sharing the
# head; the combiner's temperature is lowered, or an entropy penalty added, so its
# weights can separate the groups. name -> (group blocks, temperature, entropy penalty
# weight, normalizer[, branch dropout]).
LITE_GROUP = (("dense", 128),)
LITE_GROUP_PLE = (("piecewise_linear", None), ("dense", 128))
LITE_GROUP_LN = (("dense", 128), ("layernorm", None))
LITE = {
    "lite_t1": (LITE_GROUP, 1.0, None, "softmax"),
    "lite_t01": (LITE_GROUP, 0.1, None, "softmax"),
    "lite_t003": (LITE_GROUP, 0.03, None, "softmax"),
    "lite_ent": (LITE_GROUP, 1.0, 0.05, "softmax"),
    "lite_ple_t01": (LITE_GROUP_PLE, 0.1, None, "softmax"),
    "lite_ln_t01": (LITE_GROUP_LN, 0.1, None, "softmax"),
    "lite_sparsemax": (LITE_GROUP, 1.0, None, "sparsemax"),
    # Branch dropout (2026-12-07, evening): while training each row leaves out each
    # branch with this probability, so a group must carry its own signal and the
    # all-columns branch cannot make it redundant. drop05_t01 became the
    # ``column_groups`` preset (``SHIPPED``).
    "drop05_t01": (LITE_GROUP, 0.1, None, "softmax", 0.5),
    "drop03_t003": (LITE_GROUP, 0.03, None, "softmax", 0.3),
    "drop05_ple_t01": (LITE_GROUP_PLE, 0.1, None, "softmax", 0.5),
}
# Presets measured as shipped (``preset_spec``).
SHIPPED = ("column_groups",)
# The shipped default's branches routed per row instead of weighed (issue 23: "measure
# soft against top-k routing"): sparse-dense attention picks each row's top k modules
# (a router keeps the all-columns branch's 8 members as modules). name -> k.
ROUTED = {"column_groups_top4": 4}


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


def lite_spec(prepared, which: str):
    """Today's tabm branch over all columns plus one small module per found group."""
    from sattn_dash.modeling.presets import MODERN_RECIPE, embedding_units, tabm
    from sattn_dash.modeling.spec import BlockSpec, BranchSpec, CombinerSpec, ModelSpec

    group_blocks, temperature, penalty, normalizer, *dropout = LITE[which]

    def block(kind, units):
        if kind == "piecewise_linear":
            units = embedding_units(prepared)
            return BlockSpec(kind, units=units, bins=32, start_linear=True)
        if units is None:
            return BlockSpec(kind)
        return BlockSpec(kind, units=units, activation="relu")

    base = tabm(prepared)
    (everything,) = base.branches
    groups = [
        BranchSpec(
            f"g{i}{name}"[:30], inputs=tuple(cols), blocks=tuple(block(*b) for b in group_blocks)
        )
        for i, (name, cols) in enumerate(found_groups(prepared).items())
    ]
    combiner = CombinerSpec(
        "sparse_attention",
        temperature=temperature,
        normalizer=normalizer,
        penalty="entropy" if penalty else None,
        penalty_weight=penalty or 0.01,
        branch_dropout=dropout[0] if dropout else 0.0,
    )
    return ModelSpec(
        name="named lite", branches=(*groups, BranchSpec("all", blocks=everything.blocks)),
        combiner=combiner, heads=base.heads, **MODERN_RECIPE,
    ).validate(prepared)  # fmt: skip


def routed_spec(prepared, top_k: int):
    """The default's branches with a sparse-dense router as the combiner."""
    import dataclasses

    from sattn_dash.modeling import preset_spec
    from sattn_dash.modeling.spec import CombinerSpec

    spec = preset_spec("column_groups", prepared)
    router = CombinerSpec("sparse_dense", top_k=top_k, num_heads=2, key_dim=16)
    return dataclasses.replace(spec, combiner=router).validate(prepared)


def faithfulness_row(model, prepared, seed: int) -> dict:
    """The page's verdict: module importance (an ensemble beside groups summed into its
    branch) against ablation importance (log loss for a class target), with the weights
    and ablation per branch."""
    from sattn_dash.analysis.modules.ablation import ablation_importance
    from sattn_dash.analysis.modules.agreement import faithfulness
    from sattn_dash.analysis.modules.modules import module_importance

    attention = module_importance(model, prepared, seed=seed)
    ablation = ablation_importance(model, prepared, seed=seed)
    verdict = faithfulness(attention, ablation).iloc[0]
    return {
        "weights": dict(
            zip(attention["branch"], attention["importance"].astype(float), strict=True)
        ),
        "ablation": dict(
            zip(ablation["branch"], ablation["importance"].astype(float), strict=True)
        ),
        "metric": str(ablation["metric"].iloc[0]),
        "rho_groups": float(verdict["spearman_rho"]),
        "agreement_groups": verdict["agreement"],
    }


def fit(frame, schema, which: str, seed: int, epochs: int | None = None):
    """(test score in points, fit seconds, epochs, module weights by branch, and for a
    lite candidate its faithfulness)."""
    from sattn_dash.modeling import preset_spec
    from sattn_dash.tabular import prepare
    from sattn_dash.training import TrainingConfig
    from sattn_dash.training.evaluation import evaluate
    from sattn_dash.training.importance import branch_importance
    from sattn_dash.training.pipeline import prepare_fit

    config = TrainingConfig(seed=seed, **({"epochs": epochs} if epochs else {}))
    prepared = prepare(frame, schema, seed=seed, options=config.prepare_options())
    if which == "tabm":
        spec = preset_spec("tabm", prepared)
    elif which in LITE:
        spec = lite_spec(prepared, which)
    elif which in SHIPPED:
        spec = preset_spec(which, prepared)
    elif which in ROUTED:
        spec = routed_spec(prepared, ROUTED[which])
    else:
        spec = named_spec(prepared, routing=which == "named_topk")
    started = time.perf_counter()
    model, dataset, fit_kwargs = prepare_fit(spec, prepared, config)
    history = model.fit(dataset, **fit_kwargs)
    seconds = time.perf_counter() - started
    (target,) = prepared.tasks
    metrics = evaluate(model, prepared)[target]
    if which in LITE or which in SHIPPED or which in ROUTED:
        extra = faithfulness_row(model, prepared, seed)
    else:  # the weight per branch (an ensemble's members summed)
        extra = {} if which == "tabm" else branch_importance(model, prepared, seed=seed) or {}
    return score(prepared.tasks[target], metrics), seconds, len(history.history["loss"]), extra


def run(names, seeds, max_rows, which, out: Path) -> list[dict]:
    from sattn_dash.tabular import infer_schema

    rows = json.loads(out.read_text()) if out.is_file() else []
    done = {(r["table"], r["seed"]) for r in rows}
    tables = {name: load(name, max_rows) for name in names}
    # One untimed epoch first: the process's first fit pays TensorFlow's one-off start-up
    # (seconds), which would otherwise count against whichever model is fitted first.
    frame, target, _ = next(iter(tables.values()))
    fit(frame, infer_schema(frame, targets=target), "tabm", seeds[0], epochs=1)
    for seed in seeds:
        for name, (frame, target, task) in tables.items():
            if (name, seed) in done:
                continue
            schema = infer_schema(frame, targets=target)
            row = {"table": name, "task": task, "rows": len(frame), "seed": seed}
            scores, _ = baselines(frame, schema, seed)
            row["boosting"] = scores["boosting"]
            # Every other seed fits the candidates first, so neither side always runs
            # first on a warm (or just-loaded) machine.
            for label in which if seed % 2 == 0 else which[::-1]:
                value, seconds, epochs, weights = fit(frame, schema, label, seed)
                row[label], row[f"{label}_s"], row[f"{label}_epochs"] = value, seconds, epochs
                if weights:
                    faith = label in LITE or label in SHIPPED or label in ROUTED
                    row[f"{label}_{'faith' if faith else 'weights'}"] = weights
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
    summary += [faith_line(frame, w) for w in which if f"{w}_faith" in frame]  # lite only
    summary.append(f"tabm: mean gap to HGB {(frame['tabm'] - frame['boosting']).mean():+.2f}")
    return "\n".join(lines + [""] + summary)


def defined_mean(values) -> float:
    """The mean of the values that are not NaN (an undetermined verdict has no rho)."""
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    return float(values.mean()) if len(values) else float("nan")


def whole_table(module: str) -> bool:
    """Whether a weight is the all-columns branch's (a router's: one of its members)."""
    return module in ("all", "all_columns") or module.startswith("all_columns_m")


def faith_line(frame: pd.DataFrame, which: str) -> str:
    """Per table: the group-level Spearman (mean over seeds), the fits with rho >= 0.6,
    and the spread of the group branches' weights ('all' left out)."""
    parts, agreeing = [], 0
    for name, part in frame.groupby("table", sort=False):
        faith = [f for f in part[f"{which}_faith"] if isinstance(f, dict)]
        if not faith:
            continue
        rhos = np.array([f["rho_groups"] for f in faith], dtype=float)
        good = int(np.sum(rhos >= 0.6))
        agreeing += good * 2 > len(rhos)
        spreads = [
            max(v for k, v in f["weights"].items() if not whole_table(k))
            - min(v for k, v in f["weights"].items() if not whole_table(k))
            for f in faith
        ]
        alls = [sum(v for k, v in f["weights"].items() if whole_table(k)) for f in faith]
        modules = defined_mean([f.get("rho_modules", np.nan) for f in faith])
        parts.append(
            f"  {name}: rho {defined_mean(rhos):.2f} ({good}/{len(rhos)} >= 0.6), group spread "
            f"{np.mean(spreads):.3f}, all {np.mean(alls):.2f}, module rho {modules:.2f}"
        )
    return "\n".join([f"{which}: group faithfulness agrees on {agreeing} tables", *parts])


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
