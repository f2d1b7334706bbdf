"""The whole analysis of one run as one JSON-safe dict (``python -m sattn_dash show RUN_ID
--json``): what the combiner weights, what the model needs, whether the two agree, and
what simpler models score on the same split."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pandas as pd

from sattn_dash.analysis.attributions.explanations import explanations_for_run
from sattn_dash.analysis.attributions.per_row import agreement_summary
from sattn_dash.analysis.baselines.baselines import records, summary
from sattn_dash.analysis.calibration import calibration
from sattn_dash.analysis.columns.importance import agreement_rho, column_agreement
from sattn_dash.analysis.modules.agreement import compare_importances, faithfulness
from sattn_dash.analysis.modules.members import members_summary
from sattn_dash.analysis.reports import runs
from sattn_dash.errors import SpecError

if TYPE_CHECKING:
    from sattn_dash.training.run import Run


def run_report(
    run: Run, split: str = "val", retrain: bool = True, explain_rows: int = 0
) -> dict[str, Any]:
    """Every analysis table of ``run`` as records, keyed by table name.

    A table that does not apply to the run's model (no attention combiner, no CLS token)
    is left out and its reason put in ``notes``. Every run also gets, at the top level,
    ``column_importance`` (one record per source column and target: ``column,
    permutation, permutation_std, attribution``, both ranks), ``column_agreement`` (the
    Spearman of the two rankings, the mean over targets) and ``members`` (for ensemble
    branches: each member's validation score alone against the ensemble's, and how much
    their predictions agree; empty lists without one). ``retrain=False`` skips the two
    baselines that train a model (best branch alone, mean combiner). ``explain_rows=N``
    adds per-row attributions, completeness and attention of N rows of ``split``, their
    row-by-row agreement and its summary, and the calibration tables of the test split.
    """
    notes: dict[str, str] = {}

    def table(name: str, make: Callable[[], pd.DataFrame]) -> pd.DataFrame | None:
        try:
            return make()
        except SpecError as exc:
            notes[name] = str(exc)
            return None

    attention = table("module_importance", lambda: runs.module_importance_for_run(run, split=split))
    ablation = runs.ablation_importance_for_run(run, mode="mean", split=split)
    by_branch = runs.permutation_importance_by_for_run(run, "branch", split=split)
    tables = {
        "module_importance": attention,
        "routing_by_class": table(
            "routing_by_class", lambda: runs.routing_by_class_for_run(run, split=split)
        ),
        "entropy_over_training": runs.entropy_over_training_for_run(run),
        "ablation_importance": ablation,
        "permutation_importance_by_group": runs.permutation_importance_by_for_run(
            run, "group", split=split
        ),
        "permutation_importance_by_branch": by_branch,
        "importance_comparison": compare_importances(
            **({"attention": attention} if attention is not None else {}),
            ablation=ablation,
            permutation=by_branch,
        ),
        "faithfulness": faithfulness(attention, ablation) if attention is not None else None,
        "cls_attention": table(
            "cls_attention", lambda: runs.cls_attention_for_run(run, split=split)
        ),
    }
    baselines = runs.baselines_for_run(run, splits=("test",), retrain=retrain)
    tables["baselines"] = baselines
    tables["baseline_summary"] = summary(baselines)
    columns = runs.column_importance_for_run(run, split=split)
    agreement = column_agreement(columns)
    tables["column_importance"] = columns
    tables["column_agreement"] = agreement
    scores = runs.member_scores_for_run(run, split=split)
    tables["members"] = scores
    tables["members_summary"] = members_summary(scores)
    if explain_rows:
        tables.update(_explanations(run, split, explain_rows))
        tables.update(_calibration(run, table))
    spec = run.spec
    return {
        "run_id": run.run_id,
        "title": run.title,
        "status": run.status,
        "split": split,
        "combiner": spec.combiner.kind if spec is not None else None,
        "branches": spec.branch_names if spec is not None else [],
        "tasks": dict(run.tasks),
        "test_metrics": records(pd.DataFrame(_metric_rows(run.metrics))),
        "column_importance": records(columns),
        "column_agreement": agreement_rho(agreement),
        "members": {
            "summary": records(tables["members_summary"]),
            "scores": records(scores),
        },
        "tables": {name: records(frame) for name, frame in tables.items() if frame is not None},
        "notes": notes,
    }


def _metric_rows(metrics: dict) -> list[dict]:
    return [
        {"target": target, "metric": name, "value": value}
        for target, values in metrics.items()
        for name, value in values.items()
        if isinstance(value, int | float)
    ]


def _explanations(run: Run, split: str, rows: int) -> dict[str, pd.DataFrame]:
    frames = explanations_for_run(run, split=split, rows=rows)
    return {
        "explain_baseline": runs.baseline_for_run(run),
        "row_attributions": frames["columns"],
        "branch_attributions": frames["branches"],
        "completeness": frames["completeness"],
        "row_attention": frames["attention"],
        "row_agreement": frames["agreement"],
        "agreement_summary": agreement_summary(frames["agreement"]),
    }


def _calibration(run: Run, table: Callable) -> dict[str, pd.DataFrame | None]:
    """Per target: reliability and thresholds (classes) or residuals and intervals."""
    tables: dict[str, pd.DataFrame | None] = {}
    for target, task in run.tasks.items():
        if task == "regression":
            tables[f"residuals/{target}"] = calibration.residuals_for_run(run, target)
            tables[f"conformal/{target}"] = table(
                f"conformal/{target}", lambda t=target: calibration.conformal_for_run(run, t)
            )
        else:
            tables[f"reliability/{target}"] = calibration.reliability_for_run(run, target)
            tables[f"thresholds/{target}"] = calibration.threshold_table_for_run(run, target)
    return tables
