"""Training sessions, the run store, devices and evaluation.

Names are loaded on first use, so ``from sattn_dash.training import RunStore`` (listing
runs) does not import TensorFlow; only sessions, devices and models do.
"""

from __future__ import annotations

from sattn_dash._lazy import lazy_exports

_EXPORTS = {
    "TrainingConfig": "config",
    "RunStore": "store",
    "RunWriter": "store",
    "SkippedRun": "store",
    "clean_title": "store",
    "ACTIVE_STATES": "store",
    "FINAL_STATES": "store",
    "Run": "run",
    "RunInfo": "run",
    "evaluate": "evaluation",
    "classification_metrics": "evaluation",
    "regression_metrics": "evaluation",
    "Device": "devices",
    "DevicePlan": "devices",
    "list_devices": "devices",
    "select_device": "devices",
    "SessionStatus": "session",
    "TrainingSession": "session",
    "resolve_spec": "pipeline",
    "SessionRegistry": "registry",
}

__getattr__, __all__ = lazy_exports(__name__, _EXPORTS)
