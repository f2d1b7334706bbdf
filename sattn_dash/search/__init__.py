"""Hyperparameter search: Optuna studies whose trials are runs in the run store.

Names load on first use: ``space`` and ``study`` tables import no TensorFlow.
"""

from __future__ import annotations

from sattn_dash._lazy import lazy_exports

_EXPORTS = {
    "BRANCH_KINDS": "space",
    "check_space": "space",
    "default_space": "space",
    "load_space": "space",
    "sample": "space",
    "SearchError": "study",
    "StudySettings": "study",
    "open_storage": "study",
    "load_study": "study",
    "create_or_resume": "study",
    "trials_frame": "study",
    "best_so_far": "study",
    "param_importance": "study",
    "summary": "study",
    "run_worker": "worker",
    "load_data": "worker",
    "fail_stale_trials": "worker",
}

__getattr__, __all__ = lazy_exports(__name__, _EXPORTS)
