"""Ablation importance: how much worse is the model without each branch?

A branch's output is replaced by its training-set mean (``mode="mean"``: the branch
still says something, but the same thing for every row) or by zeros (``mode="zeros"``),
the trained combiner and heads run on the result, and the loss of skill on the
validation split is the branch's importance, in log loss for a class target
(``ABLATION_METRIC``) unless another metric is asked for. Nothing is retrained, and the user's model
is not changed: the altered outputs go through a second model sharing its layers.
An ensemble beside other branches is removed whole, members together
(``ModelView.named_modules``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sattn_dash.analysis.model_view import ModelView, sample_rows
from sattn_dash.analysis.modules.agreement import importance_rank
from sattn_dash.analysis.scoring import ABLATION_METRIC, worsening
from sattn_dash.errors import SpecError

if TYPE_CHECKING:
    from sattn_dash.tabular.prepared import PreparedData

MODES = ("mean", "zeros")


def ablation_importance(
    model,
    prepared: PreparedData,
    mode: str = "mean",
    split: str = "val",
    metric: str | None = None,
    max_train_rows: int | None = 20_000,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per (branch, target): ``baseline`` and ``ablated`` metric values and
    ``importance`` (the worsening: positive means the model needs the branch), plus
    ``mode``, ``metric`` and ``rank`` (1 = most needed, per target)."""
    if mode not in MODES:
        raise SpecError(f"Ablation mode must be one of {MODES}, got {mode!r}.")
    view = ModelView(model, prepared, metric, ABLATION_METRIC)
    X, y = prepared.split(split)
    X = np.asarray(X, dtype=np.float32)
    outputs = view.explain(X, ("branch_outputs",))["branch_outputs"]
    if mode == "mean":
        X_train = np.asarray(prepared.split("train")[0], dtype=np.float32)
        X_train = X_train[sample_rows(len(X_train), max_train_rows, seed)]
        fills = [
            o.mean(axis=0) for o in view.explain(X_train, ("branch_outputs",))["branch_outputs"]
        ]
    else:
        fills = [np.zeros(o.shape[1:], dtype=o.dtype) for o in outputs]
    baseline = view.scores(view.outputs_from_branches(X, outputs), y)
    rows = []
    for branch, modules in view.named_modules().items():
        altered = [
            np.broadcast_to(fill, out.shape).astype(out.dtype) if module in modules else out
            for module, out, fill in zip(view.branches, outputs, fills, strict=True)
        ]
        ablated = view.scores(view.outputs_from_branches(X, altered), y)
        for target in view.targets:
            name = view.metrics[target]
            rows.append(
                {
                    "branch": branch,
                    "target": target,
                    "metric": name,
                    "mode": mode,
                    "baseline": baseline[target],
                    "ablated": ablated[target],
                    "importance": worsening(name, baseline[target], ablated[target]),
                }
            )
    frame = pd.DataFrame(rows)
    frame["rank"] = importance_rank(frame.groupby("target")["importance"])
    return frame
