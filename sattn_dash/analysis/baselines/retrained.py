"""What did attention weighting buy? The user's model against simpler versions of itself.

Two variants are trained from scratch with the run's own settings (epochs, batch size,
seed, early stopping) on the same split, and scored with the same metrics:

- the single best branch alone: the branch the trained ensemble needs most (largest
  ablation importance on the validation split; chosen by what the model does, not by
  what its attention says);
- the same branches under a uniform ``mean`` combiner.

If either scores as well as the attention model, the attention did not buy accuracy.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from sattn_dash.analysis.baselines.baselines import COLUMNS
from sattn_dash.analysis.modules.ablation import ablation_importance
from sattn_dash.analysis.scoring import score
from sattn_dash.modeling import CombinerSpec
from sattn_dash.training.evaluation import predict_outputs

if TYPE_CHECKING:
    from sattn_dash.modeling.spec import ModelSpec
    from sattn_dash.tabular.prepared import PreparedData
    from sattn_dash.training.config import TrainingConfig


def _train(spec: ModelSpec, prepared: PreparedData, config: TrainingConfig):
    """Fit ``spec`` the way a training session does, without a run folder."""
    from sattn_dash.training.pipeline import prepare_fit

    model, dataset, fit_kwargs = prepare_fit(spec, prepared, config)
    model.fit(dataset, **fit_kwargs)
    return model


def variants(spec: ModelSpec, best_branch: str) -> dict[str, object]:
    """The simpler specs, by display name."""
    alone = dataclasses.replace(
        spec,
        name=f"{spec.name} - {best_branch} alone",
        branches=(spec.branch(best_branch),),
        combiner=CombinerSpec(kind="mean"),
    )
    mean = dataclasses.replace(
        spec,
        name=f"{spec.name} - mean combiner",
        combiner=CombinerSpec(kind="mean", project_to=spec.combiner.project_to),
    )
    return {
        f"best branch alone ({best_branch}, retrained)": alone,
        "mean combiner (retrained)": mean,
    }


def _scores(model, prepared: PreparedData, name: str, splits: Sequence[str]) -> list[tuple]:
    rows = []
    for split in splits:
        X, y = prepared.split(split)
        outputs = predict_outputs(model, X, list(prepared.tasks))
        for target, task in prepared.tasks.items():
            for metric, value in score(task, y[target], outputs[target]).items():
                rows.append((target, task, name, split, metric, value))
    return rows


def model_baselines(
    model,
    spec: ModelSpec,
    prepared: PreparedData,
    config: TrainingConfig,
    splits: Sequence[str] = ("test",),
) -> pd.DataFrame:
    """The user's model, its best branch alone and a mean combiner, retrained; same
    columns as ``sklearn_baselines`` (``target, task, model, split, metric, value``)."""
    ablation = ablation_importance(model, prepared)
    best = ablation.groupby("branch", sort=False)["importance"].mean().idxmax()
    kind = spec.combiner.kind
    rows = _scores(model, prepared, f"your model ({kind} combiner)", splits)
    if len(spec.branches) > 1:
        for name, variant in variants(spec, best).items():
            rows += _scores(_train(variant, prepared, config), prepared, name, splits)
    return pd.DataFrame(rows, columns=COLUMNS)
