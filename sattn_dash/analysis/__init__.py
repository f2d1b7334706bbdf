"""What the ensemble learned, and whether the attention can be read as importance.

Every function returns a tidy ``pandas.DataFrame`` (``to_csv_bytes`` exports any of them).
Core functions take a Keras model and a ``PreparedData``; ``<name>_for_run(run, ...)``
does the same for a stored run. Names are loaded on first use: the table-only parts
(faithfulness, distributions, scikit-learn baselines) never import TensorFlow.

    module_importance(model, prepared, split)      what the combiner gives each branch
    routing_by_class(model, prepared, split)       sparse_dense routing per class
    importance_over_training(snapshots)            per epoch, with the entropy
    temperature_what_if(model, prepared, temps)    re-scored at other temperatures
    ablation_importance(model, prepared, mode)     loss of skill without each branch
    permutation_importance_by(model, prepared, level)  columns / groups / branch inputs
    faithfulness(attention, ablation)              Spearman + a verdict in words
    token_attention(model, prepared, rows)         every weight of a few rows
    dataset_attention / routing_co_selection / cls_attention   over a split
    sklearn_baselines(prepared) / model_baselines(...) / baselines_report(df, targets)
    tuned_lightgbm(prepared, trials)               LightGBM tuned on the validation rows
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
    "compare_importances": "agreement",
    "faithfulness": "agreement",
    "tells_branches_apart": "agreement",
    "no_branch_preferred": "distribution",
    "temperature_distributions": "distribution",
    "module_distribution": "distribution",
    "HEADLINE_METRIC": "scoring",
    "sklearn_baselines": "baselines",
    "baselines_report": "baselines",
    "tuned_lightgbm": "baselines",
    "tuning_estimate": "baselines",
    "BASELINE_THREADS": "baselines",
    "summary": "baselines",
    "format_report": "baselines",
    "module_importance": "modules",
    "branch_importance": "modules",
    "routing_by_class": "modules",
    "importance_over_training": "modules",
    "entropy_over_training": "modules",
    "temperature_what_if": "modules",
    "temperature_distribution": "modules",
    "ablation_importance": "ablation",
    "permutation_importance_by": "permutation",
    "token_attention": "tokens",
    "dataset_attention": "tokens",
    "routing_co_selection": "tokens",
    "cls_attention": "tokens",
    "model_baselines": "retrained",
    "run_report": "report",
    "module_importance_for_run": "runs",
    "routing_by_class_for_run": "runs",
    "importance_over_training_for_run": "runs",
    "entropy_over_training_for_run": "runs",
    "temperature_what_if_for_run": "runs",
    "temperature_distribution_for_run": "runs",
    "ablation_importance_for_run": "runs",
    "permutation_importance_by_for_run": "runs",
    "faithfulness_for_run": "runs",
    "token_attention_for_run": "runs",
    "dataset_attention_for_run": "runs",
    "routing_co_selection_for_run": "runs",
    "cls_attention_for_run": "runs",
    "baselines_for_run": "runs",
    "tuned_lightgbm_for_run": "runs",
    "baseline_frame": "attributions",
    "explain_rows": "attributions",
    "explain_inputs": "attributions",
    "row_agreement": "per_row",
    "agreement_summary": "per_row",
    "reliability": "calibration",
    "expected_calibration_error": "calibration",
    "threshold_table": "calibration",
    "confusion_at": "calibration",
    "residuals": "calibration",
    "conformal_intervals": "calibration",
    "reliability_for_run": "calibration",
    "threshold_table_for_run": "calibration",
    "residuals_for_run": "calibration",
    "conformal_for_run": "calibration",
    "explanations_for_run": "explanations",
    "cached_explanations": "explanations",
    "explain_cost_for_run": "explanations",
    "baseline_for_run": "runs",
    "row_attributions_for_run": "runs",
    "branch_attributions_for_run": "runs",
    "completeness_for_run": "runs",
    "row_attention_for_run": "runs",
    "row_agreement_for_run": "runs",
    "agreement_summary_for_run": "runs",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value
