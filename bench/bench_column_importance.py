"""Does the default model name the planted columns? (issue 23's planted-signal target)

For each seed, the synthetic churn table (``sattn_dash/data/make_synthetic.py``: signal
in minutes_per_day, support_calls and plan; nine noise columns; no groups named) is
drawn afresh, today's default (``DEFAULT_PRESET`` with ``TrainingConfig()``) is trained
on it, and its column importance is computed as the page and ``show`` compute it
(``column_importance_for_run``: permutation on the validation rows, 5 shuffles, beside
mean |integrated gradients| over 100 validation rows at 16 steps). Recorded per seed:
the top two columns by each measure, whether both are the two strongest planted
columns, the Spearman agreement, and the seconds column importance took.

    .venv/bin/python bench/bench_column_importance.py --seeds 0 1 2 3 4 5 6 7 8 9
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PLANTED = {"minutes_per_day", "support_calls"}


def one(seed: int, rows: int, preset: str) -> dict:
    from sattn_dash.analysis.columns.importance import column_agreement
    from sattn_dash.analysis.reports.runs import column_importance_for_run
    from sattn_dash.data.make_synthetic import make
    from sattn_dash.modeling.presets import DEFAULT_PRESET
    from sattn_dash.tabular import infer_schema
    from sattn_dash.training import RunStore, TrainingConfig, TrainingSession

    df, _ = make(rows=rows, seed=seed)
    store = RunStore(Path(tempfile.mkdtemp()))
    session = TrainingSession(
        df, infer_schema(df, targets="churned"), preset or DEFAULT_PRESET, TrainingConfig(seed=seed),
        store,
    )  # fmt: skip
    assert session.start().wait(3600).state == "finished"
    run = store.load(session.run_id)
    began = time.perf_counter()
    table = column_importance_for_run(run)
    seconds = time.perf_counter() - began
    verdict = column_agreement(table).iloc[0]
    top_p = list(table.sort_values("permutation_rank")["column"][:2])
    top_a = list(table.sort_values("attribution_rank")["column"][:2])
    return {
        "seed": seed,
        "rows": rows,
        "test_auc": run.metrics["churned"]["roc_auc"],
        "top2_permutation": top_p,
        "top2_attribution": top_a,
        "planted_by_both": set(top_p) == PLANTED and set(top_a) == PLANTED,
        "spearman_rho": float(verdict["spearman_rho"]),
        "agreement": verdict["agreement"],
        "column_importance_s": seconds,
        **modules(run),
    }


def modules(run) -> dict:
    """For a model whose modules are column groups: the top group by weight and by
    ablation (the all-columns branch aside, whose weight is recorded), whether it is the
    group holding minutes_per_day, and the page's verdict on weights against ablation."""
    from sattn_dash.analysis.reports.runs import (
        ablation_importance_for_run,
        faithfulness_for_run,
        module_importance_for_run,
    )
    from sattn_dash.tabular.groups import column_groups

    if len(run.spec.branches) < 2:
        return {}
    (planted,) = [
        name for name, cols in column_groups(run.prepared).items() if "minutes_per_day" in cols
    ]
    weights = module_importance_for_run(run).set_index("branch")["importance"]
    ablation = ablation_importance_for_run(run).set_index("branch")["importance"]
    verdict = faithfulness_for_run(run).iloc[0]
    groups = [b for b in weights.index if b != "all_columns"]
    return {
        "planted_group": planted,
        "group_columns": column_groups(run.prepared)[planted],
        "top_group_by_weight": weights[groups].idxmax(),
        "top_group_by_ablation": ablation[groups].idxmax(),
        "top_module": weights.idxmax(),
        "all_columns_weight": float(weights.get("all_columns", float("nan"))),
        "weights": weights.round(4).to_dict(),
        "ablation": ablation.round(4).to_dict(),
        "module_rho": float(verdict["spearman_rho"]),
        "module_agreement": verdict["agreement"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--preset", default=None, help="default: DEFAULT_PRESET")
    parser.add_argument(
        "--out", default=str(Path(__file__).with_name("column_importance_results.json"))
    )
    args = parser.parse_args()
    out = Path(args.out)
    results = json.loads(out.read_text()) if out.is_file() else []
    for seed in args.seeds:
        if any(r["seed"] == seed for r in results):
            continue
        results.append(one(seed, args.rows, args.preset))
        out.write_text(json.dumps(results, indent=1))
        print(json.dumps(results[-1]), flush=True)
    hits = sum(r["planted_by_both"] for r in results)
    rhos = [r["spearman_rho"] for r in results]
    grouped = [r for r in results if "planted_group" in r]
    if grouped:
        by_weight = sum(r["top_group_by_weight"] == r["planted_group"] for r in grouped)
        by_ablation = sum(r["top_group_by_ablation"] == r["planted_group"] for r in grouped)
        print(
            f"planted group on top by weight {by_weight}, by ablation {by_ablation} of "
            f"{len(grouped)} seeds; all_columns on top in "
            f"{sum(r['top_module'] == 'all_columns' for r in grouped)}"
        )
    print(
        f"planted top-2 by both measures: {hits} of {len(results)} seeds; Spearman "
        f"median {sorted(rhos)[len(rhos) // 2]:.2f}, min {min(rhos):.2f}"
    )


if __name__ == "__main__":
    main()
