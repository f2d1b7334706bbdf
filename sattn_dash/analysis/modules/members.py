"""Members of one ensemble: how much they agree, and each alone against all together.

A ``batch_ensemble`` branch (TabM; the all-columns branch of the default) ends in k members that share
their weights up to a rank-one scaling each, read the same columns and train on the
same loss. The combiner weighs them as modules, but they are interchangeable by
construction: a ranking of them names nothing a user can act on. What can be said is
how much they agree on the validation rows (the correlation of their predictions) and
what the ensemble adds over each member alone (each member's own prediction, which the
model outputs as ``members_output_name``, scored like the model).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sattn_dash.analysis.model_view import ModelView, sample_rows
from sattn_dash.analysis.modules.distribution import no_branch_preferred
from sattn_dash.analysis.scoring import headline, higher_is_better
from sattn_dash.modeling import module_probabilities
from sattn_dash.modeling.spec import members_output_name

if TYPE_CHECKING:
    from sattn_dash.modeling.spec import ModelSpec
    from sattn_dash.tabular.prepared import PreparedData

MEMBER_COLUMNS = [
    "branch", "member", "target", "metric", "score", "ensemble_score", "weight", "correlation",
]  # fmt: skip
SUMMARY_COLUMNS = [
    "branch", "target", "metric", "members", "mean_correlation", "worst_member",
    "best_member", "ensemble_score", "verdict",
]  # fmt: skip


def one_ensemble(spec: ModelSpec | None) -> str | None:
    """The branch whose members are all the modules the combiner weighs (the TabM
    preset), or None. Members of one such branch are interchangeable by construction."""
    if spec is None or len(spec.branches) != 1 or not spec.branches[0].members:
        return None
    return spec.branches[0].name


def interchangeable(spec: ModelSpec | None, weights) -> bool:
    """Whether the modules cannot be ranked: members of one ensemble, or weights too
    even to name a top module (``no_branch_preferred``)."""
    has_weights = weights is not None and len(weights) >= 2
    return one_ensemble(spec) is not None or (has_weights and no_branch_preferred(weights))


def member_scores(
    model,
    prepared: PreparedData,
    split: str = "val",
    max_rows: int | None = 10_000,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per (ensemble member, target): ``branch, member, target, metric, score``
    (the member's own prediction alone), ``ensemble_score`` (the model's), ``weight``
    (the combiner's module probability, NaN without one) and ``correlation`` (the mean
    correlation of its predictions with the other members'). Empty without ensembles."""
    view = ModelView(model, prepared)
    ensembles = view.ensembles()
    if not ensembles:
        return pd.DataFrame(columns=MEMBER_COLUMNS)
    X, y = prepared.split(split)
    rows_used = sample_rows(len(X), max_rows, seed)
    X = np.asarray(X, dtype=np.float32)[rows_used]
    y = {t: np.asarray(v)[rows_used] for t, v in y.items()}
    predictions = view.explain(X, ("predictions",))["predictions"]
    together = view.scores(view.by_target(predictions), y)
    weights = module_probabilities(model) or {}
    rows = []
    for branch, modules in ensembles.items():
        for target in view.targets:
            out = np.asarray(predictions[members_output_name(target, branch)])
            k = out.shape[1]
            flat = out.reshape(len(out), k, -1).transpose(1, 0, 2).reshape(k, -1)
            with np.errstate(invalid="ignore", divide="ignore"):
                correlation = np.corrcoef(flat)
            others = (np.nansum(correlation, axis=1) - 1.0) / max(k - 1, 1)
            task, metric = prepared.tasks[target], view.metrics[target]
            for i, module in enumerate(modules):
                rows.append(
                    {
                        "branch": branch,
                        "member": module,
                        "target": target,
                        "metric": metric,
                        "score": headline(task, y[target], out[:, i], metric),
                        "ensemble_score": together[target],
                        "weight": weights.get(module, np.nan),
                        "correlation": float(others[i]),
                    }
                )
    return pd.DataFrame(rows, columns=MEMBER_COLUMNS)


def members_summary(members: pd.DataFrame) -> pd.DataFrame:
    """Per (ensemble branch, target): how many members, their ``mean_correlation``, the
    worst and best member alone, the ensemble's score and a ``verdict`` in words."""
    rows = []
    for (branch, target), part in members.groupby(["branch", "target"], sort=False):
        metric = part["metric"].iloc[0]
        scores = part["score"].to_numpy(dtype=float)
        worst, best = (scores.min(), scores.max())
        if not higher_is_better(metric):
            worst, best = best, worst
        together = float(part["ensemble_score"].iloc[0])
        rho = float(part["correlation"].mean())
        weights = part["weight"].dropna().to_numpy(dtype=float)
        weighed = (
            f" The combiner's weights run from {weights.min():.2f} to {weights.max():.2f}: "
            "they share the vote out, they do not rank anything."
            if len(weights)
            else ""
        )
        better = together > best if higher_is_better(metric) else together < best
        verdict = (
            f"The {len(part)} modules are the members of one BatchEnsemble branch "
            f"('{branch}'): the same network up to a small scaling each, trained alike, so "
            f"they are interchangeable.{weighed} On the validation rows their predictions "
            f"correlate {rho:.2f} on average; each alone scores {_span(worst, best)} "
            f"{metric}, together {together:.3f}"
            + (" (the ensemble beats its best member)." if better else ".")
        )
        rows.append(
            {
                "branch": branch,
                "target": target,
                "metric": metric,
                "members": len(part),
                "mean_correlation": rho,
                "worst_member": float(worst),
                "best_member": float(best),
                "ensemble_score": together,
                "verdict": verdict,
            }
        )
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def _span(low: float, high: float) -> str:
    a, b = sorted((low, high))
    return f"{a:.3f}" if f"{a:.3f}" == f"{b:.3f}" else f"{a:.3f} to {b:.3f}"
