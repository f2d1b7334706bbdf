"""Permutation importance of source columns, column groups, or each branch.

A source column can feed several model input columns (one-hot codes) and a group
several source columns: those inputs must be shuffled together, with one row
permutation, or the shuffle breaks their joint distribution and measures nothing real.
scikit-learn's ``permutation_importance`` shuffles one input column at a time, so it fits
neither unit; this is the same procedure (a fixed seed, ``n_repeats`` shuffles, mean and
standard deviation of the loss of skill) over sets of columns.

A branch is permuted at its *output*: what it hands the combiner is shuffled across
rows, the inputs stay. Shuffling a branch's inputs instead would also change every other
branch that reads them (in most presets all branches read every column), so each
branch would get the same number and the ranking would mean nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sattn_dash.analysis.model_view import ModelView, sample_rows
from sattn_dash.analysis.modules.agreement import importance_rank
from sattn_dash.analysis.scoring import worsening
from sattn_dash.errors import SpecError

if TYPE_CHECKING:
    from sattn_dash.tabular.prepared import PreparedData

LEVELS = ("column", "group", "branch")


def units(view: ModelView, level: str) -> dict[str, list[int]]:
    """The model input positions of each unit permuted together at ``level``."""
    prepared = view.prepared
    position = {name: i for i, name in enumerate(prepared.feature_names)}
    if level == "column":
        found: dict[str, list[int]] = {}
        for feature in prepared.feature_names:
            found.setdefault(prepared.feature_sources[feature], []).append(position[feature])
        return found
    if level == "group":
        return {
            group: [position[f] for f in features]
            for group, features in prepared.groups_with_features().items()
        }
    if level == "branch":
        columns = view.branch_columns()
        return {name: columns[modules[0]] for name, modules in view.named_modules().items()}
    raise SpecError(f"Permutation level must be one of {LEVELS}, got {level!r}.")


def permutation_importance_by(
    model,
    prepared: PreparedData,
    level: str = "group",
    split: str = "val",
    n_repeats: int = 5,
    seed: int = 0,
    metric: str | None = None,
    max_rows: int | None = 10_000,
) -> pd.DataFrame:
    """One row per (unit, target), the unit column named after ``level`` ("column",
    "group" or "branch"): ``features`` (the model inputs shuffled together; for a
    branch, the inputs it reads: its output is what gets shuffled),
    ``baseline``, ``importance`` (mean worsening over ``n_repeats`` shuffles; positive
    means the model uses the unit), ``importance_std``, ``metric``, ``rank``."""
    if not isinstance(n_repeats, int) or n_repeats < 1:
        raise SpecError(f"n_repeats must be a whole number of at least 1, got {n_repeats!r}.")
    view = ModelView(model, prepared, metric)
    groups = units(view, level)
    X, y = prepared.split(split)
    rows_used = sample_rows(len(X), max_rows, seed)
    X = np.asarray(X, dtype=np.float32)[rows_used]
    y = {t: np.asarray(v)[rows_used] for t, v in y.items()}
    if level == "branch":
        outputs = view.explain(X, ("branch_outputs",))["branch_outputs"]
        baseline = view.scores(view.outputs_from_branches(X, outputs), y)
    else:
        baseline = view.scores(view.outputs(X), y)
    named = view.named_modules()
    rows = []
    for unit, columns in groups.items():
        rng = np.random.default_rng(seed)  # the same shuffles for every unit
        drops = {t: [] for t in view.targets}
        for _ in range(n_repeats):
            order = rng.permutation(len(X))
            if level == "branch":  # an ensemble's members shuffled together
                altered = [
                    out[order] if module in named[unit] else out
                    for module, out in zip(view.branches, outputs, strict=True)
                ]
                scores = view.scores(view.outputs_from_branches(X, altered), y)
            else:
                shuffled = X.copy()
                shuffled[:, columns] = X[np.ix_(order, columns)]
                scores = view.scores(view.outputs(shuffled), y)
            for target, value in scores.items():
                drops[target].append(worsening(view.metrics[target], baseline[target], value))
        for target in view.targets:
            rows.append(
                {
                    level: unit,
                    "features": ", ".join(prepared.feature_names[c] for c in columns),
                    "target": target,
                    "metric": view.metrics[target],
                    "baseline": baseline[target],
                    "importance": float(np.mean(drops[target])),
                    "importance_std": float(np.std(drops[target])),
                }
            )
    frame = pd.DataFrame(rows)
    frame["rank"] = importance_rank(frame.groupby("target")["importance"])
    return frame
