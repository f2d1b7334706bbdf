"""What the ensemble learned, and whether the attention can be read as importance.

Every function returns a tidy ``pandas.DataFrame`` (``to_csv_bytes`` exports any of them).
Core functions take a Keras model and a ``PreparedData``; ``<name>_for_run(run, ...)``
does the same for a stored run. Names are loaded on first use: the table-only parts
(faithfulness, distributions, scikit-learn baselines) never import TensorFlow.

The modules sit in rooms named by the question they answer: ``modules/`` (which branch
matters?), ``columns/`` (which columns matter?), ``tokens/`` (which features does a row
attend to?), ``attributions/`` (why this prediction?), ``baselines/`` (what would a simpler model score?), ``calibration/``
(how far to trust it?), ``reports/`` (one run's whole analysis, runs side by side);
``model_view``, ``scoring`` and ``export`` beside them serve every room. Every name in
``_EXPORTS`` is exported here, whichever room holds it (signatures: docs/INTERFACES.md).
"""

from __future__ import annotations

from sattn_dash._lazy import lazy_exports

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
    "tuned_lightgbm": "baselines.baselines",
    "tuning_estimate": "baselines.baselines",
    "BASELINE_THREADS": "baselines.baselines",
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
    "column_importance": "columns.importance",
    "column_importance_table": "columns.importance",
    "column_agreement": "columns.importance",
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
    "tuned_lightgbm_for_run": "reports.runs",
    "baseline_frame": "attributions.attributions",
    "explain_rows": "attributions.attributions",
    "explain_inputs": "attributions.attributions",
    "row_agreement": "attributions.per_row",
    "agreement_summary": "attributions.per_row",
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
}

__getattr__, __all__ = lazy_exports(__name__, _EXPORTS)
