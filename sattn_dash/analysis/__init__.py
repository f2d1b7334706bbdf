"""What the ensemble learned, and whether the attention can be read as importance.

Every function returns a tidy ``pandas.DataFrame`` (``to_csv_bytes`` exports any of them).
Core functions take a Keras model and a ``PreparedData``; ``<name>_for_run(run, ...)``
does the same for a stored run. Names are loaded on first use: the table-only parts
(faithfulness, distributions, scikit-learn baselines) never import TensorFlow.

The modules sit in rooms named by the question they answer: ``modules/`` (which branch
matters?), ``columns/`` (which columns matter?), ``tokens/`` (which features does a row
attend to?), ``attributions/`` (why this prediction?), ``baselines/`` (what would a
simpler model score?), ``calibration/`` (how far to trust it?), ``reports/`` (one run's whole analysis, runs side by side);
``model_view``, ``scoring`` and ``export`` beside them serve every room. Every name below
is exported here, whichever room holds it.

    module_importance(model, prepared, split)      what the combiner gives each branch
    routing_by_class(model, prepared, split)       sparse_dense routing per class
    importance_over_training(snapshots)            per epoch, with the entropy
    temperature_what_if(model, prepared, temps)    re-scored at other temperatures
    ablation_importance(model, prepared, mode)     loss of skill without each branch
    permutation_importance_by(model, prepared, level)  columns / groups / branch inputs
    faithfulness(attention, ablation)              Spearman + a verdict in words
    member_scores / members_summary                ensemble members alone vs together
    column_importance(model, prepared)             per source column: permutation beside
    column_agreement(table)                        |attribution|, and their Spearman
    token_attention(model, prepared, rows)         every weight of a few rows
    dataset_attention / routing_co_selection / cls_attention   over a split
    sklearn_baselines(prepared) / model_baselines(...) / baselines_report(df, targets)
    explain_rows(model, prepared, split, max_rows)  per-row integrated gradients
    row_agreement / agreement_summary              attention vs attributions, row by row
    reliability / threshold_table / conformal_intervals   how far to trust predictions
    run_report(run)                                all of it for one run, JSON-safe
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "to_csv_bytes": "export",
    "compare_importances": "modules.agreement",
    "faithfulness": "modules.agreement",
    "tells_branches_apart": "modules.agreement",
    "no_branch_preferred": "modules.distribution",
    "temperature_distributions": "modules.distribution",
    "module_distribution": "modules.distribution",
    "HEADLINE_METRIC": "scoring",
    "sklearn_baselines": "baselines.baselines",
    "baselines_report": "baselines.baselines",
    "summary": "baselines.baselines",
    "format_report": "baselines.baselines",
    "module_importance": "modules.modules",
    "branch_importance": "modules.modules",
    "routing_by_class": "modules.modules",
    "importance_over_training": "modules.modules",
    "entropy_over_training": "modules.modules",
    "temperature_what_if": "modules.modules",
    "temperature_distribution": "modules.modules",
    "ablation_importance": "modules.ablation",
    "permutation_importance_by": "modules.permutation",
    "token_attention": "tokens.tokens",
    "dataset_attention": "tokens.tokens",
    "routing_co_selection": "tokens.tokens",
    "cls_attention": "tokens.tokens",
    "model_baselines": "baselines.retrained",
    "run_report": "reports.report",
    "module_importance_for_run": "reports.runs",
    "routing_by_class_for_run": "reports.runs",
    "importance_over_training_for_run": "reports.runs",
    "entropy_over_training_for_run": "reports.runs",
    "temperature_what_if_for_run": "reports.runs",
    "temperature_distribution_for_run": "reports.runs",
    "ablation_importance_for_run": "reports.runs",
    "permutation_importance_by_for_run": "reports.runs",
    "faithfulness_for_run": "reports.runs",
    "token_attention_for_run": "reports.runs",
    "dataset_attention_for_run": "reports.runs",
    "routing_co_selection_for_run": "reports.runs",
    "cls_attention_for_run": "reports.runs",
    "baselines_for_run": "reports.runs",
    "baseline_frame": "attributions.attributions",
    "explain_rows": "attributions.attributions",
    "explain_inputs": "attributions.attributions",
    "row_agreement": "attributions.per_row",
    "agreement_summary": "attributions.per_row",
    "column_importance": "columns.importance",
    "column_importance_table": "columns.importance",
    "column_agreement": "columns.importance",
    "column_importance_for_run": "reports.runs",
    "column_agreement_for_run": "reports.runs",
    "member_scores": "modules.members",
    "members_summary": "modules.members",
    "member_scores_for_run": "reports.runs",
    "members_summary_for_run": "reports.runs",
    "reliability": "calibration.calibration",
    "expected_calibration_error": "calibration.calibration",
    "threshold_table": "calibration.calibration",
    "confusion_at": "calibration.calibration",
    "residuals": "calibration.calibration",
    "conformal_intervals": "calibration.calibration",
    "reliability_for_run": "calibration.calibration",
    "threshold_table_for_run": "calibration.calibration",
    "residuals_for_run": "calibration.calibration",
    "conformal_for_run": "calibration.calibration",
    "explanations_for_run": "attributions.explanations",
    "cached_explanations": "attributions.explanations",
    "explain_cost_for_run": "attributions.explanations",
    "baseline_for_run": "reports.runs",
    "row_attributions_for_run": "reports.runs",
    "branch_attributions_for_run": "reports.runs",
    "completeness_for_run": "reports.runs",
    "row_attention_for_run": "reports.runs",
    "row_agreement_for_run": "reports.runs",
    "agreement_summary_for_run": "reports.runs",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value
