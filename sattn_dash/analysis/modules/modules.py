"""Which branch (module) does the combiner weight, and how did that come about?

- ``module_importance``: per branch, what the combiner gives it (an ensemble beside other
  branches counts as its branch, its members' weights summed). For a
  ``SparseAttentionWeighting`` combiner that is a fixed probability (with the raw weight,
  temperature and normalizer it comes from); for a ``sparse_dense`` combiner it is the
  mean routing weight and how often the branch is picked, over a data split.
- ``branch_importance`` (``training.importance``): the ``importance`` column alone, as
  the run card stores it.
- ``routing_by_class``: the same routing numbers per true and per predicted class.
- ``importance_over_training`` / ``entropy_over_training``: from the per-epoch snapshots.
- ``temperature_what_if``: the trained model re-scored at other temperatures, without
  retraining; ``temperature_distribution``: the module probabilities at each one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sattn_dash.analysis.model_view import ModelView, sample_rows
from sattn_dash.analysis.modules.agreement import importance_rank
from sattn_dash.analysis.modules.distribution import spread, temperature_distributions
from sattn_dash.analysis.scoring import worsening
from sattn_dash.errors import SpecError
from sattn_dash.layers import SparseAttentionWeighting
from sattn_dash.modeling import branch_names, combiner_layer
from sattn_dash.modeling.combiners import kinds_text
from sattn_dash.training.importance import ROUTING_ROWS, branch_importance, branch_routing

if TYPE_CHECKING:
    from sattn_dash.tabular.prepared import PreparedData


def _ranked(frame: pd.DataFrame) -> pd.DataFrame:
    frame["rank"] = importance_rank(frame["importance"])
    return frame


def module_importance(
    model,
    prepared: PreparedData,
    split: str = "val",
    max_rows: int | None = ROUTING_ROWS,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per branch with ``importance`` (what the combiner gives it:
    ``training.importance.branch_importance``, the number the run card stores) and
    ``rank``.

    ``sparse_attention``: ``probability`` (= importance), ``raw_weight``, ``temperature``,
    ``normalizer``. ``sparse_dense``: ``mean_routing_weight`` (= importance),
    ``selection_frequency`` (share of rows routed to the branch), ``rows``.
    """
    view = ModelView(model, prepared)
    view.require_attention()
    routing = None if view.is_weighting else branch_routing(model, prepared, split, max_rows, seed)
    importance = branch_importance(model, prepared, routing=routing)
    if view.is_weighting:
        layer = view.combiner
        raw = dict(zip(view.branches, layer.attention_weights.numpy().astype(float), strict=True))
        frame = pd.DataFrame(
            {
                "branch": list(importance),
                "importance": list(importance.values()),
                "probability": list(importance.values()),
                # an ensemble's members: the mean of their raw weights
                "raw_weight": [
                    float(np.mean([raw[m] for m in modules]))
                    for modules in view.named_modules().values()
                ],
                "temperature": layer.temperature_value,
                "normalizer": layer.normalizer,
            }
        )
        return _ranked(frame)
    importance = list(importance.values())
    frame = _routing_summary(routing, view.branches)
    frame.insert(1, "importance", importance)
    return _ranked(frame)


def _routing(view: ModelView, split: str, max_rows: int | None, seed: int):
    """Routing weights (rows, branches) on a split, with the rows' true y and outputs."""
    X, y = view.prepared.split(split)
    rows = sample_rows(len(X), max_rows, seed)
    explained = view.explain(np.asarray(X)[rows], ("routing", "predictions"))
    y = {t: np.asarray(v)[rows] for t, v in y.items()}
    return np.asarray(explained["routing"]), y, view.by_target(explained["predictions"])


def _routing_summary(routing: np.ndarray, branches: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "branch": branches,
            "mean_routing_weight": routing.mean(axis=0).astype(float),
            "selection_frequency": (routing > 0).mean(axis=0).astype(float),
            "rows": len(routing),
        }
    )


def routing_by_class(
    model, prepared: PreparedData, split: str = "val", max_rows: int | None = 20_000, seed: int = 0
) -> pd.DataFrame:
    """Routing of a ``sparse_dense`` combiner overall, per true class, per predicted class.

    Columns: ``grouping`` ("overall", "true class", "predicted class"), ``target``,
    ``class`` (label), ``branch``, ``mean_routing_weight``, ``selection_frequency``,
    ``rows``. Regression targets have only the overall rows.
    """
    view = ModelView(model, prepared)
    view.require_router("Routing by class")
    routing, y, outputs = _routing(view, split, max_rows, seed)
    parts = [_routing_summary(routing, view.branches).assign(grouping="overall")]
    predicted = view.predicted_classes(outputs)
    for target, codes_pred in predicted.items():
        labels = prepared.classes[target]
        for grouping, codes in (("true class", y[target]), ("predicted class", codes_pred)):
            codes = np.asarray(codes).astype(np.int64).reshape(-1)
            for code, label in enumerate(labels):
                chosen = codes == code
                if chosen.any():
                    part = _routing_summary(routing[chosen], view.branches)
                    parts.append(part.assign(grouping=grouping, target=target, **{"class": label}))
    frame = pd.concat(parts, ignore_index=True)
    if "target" not in frame:
        frame = frame.assign(target=None, **{"class": None})
    return frame[
        [
            "grouping",
            "target",
            "class",
            "branch",
            "mean_routing_weight",
            "selection_frequency",
            "rows",
        ]
    ]


def importance_over_training(snapshots: pd.DataFrame) -> pd.DataFrame:
    """Per epoch and branch, the combiner's weight and how spread the epoch's weights are.

    ``snapshots`` is ``Run.snapshots`` (epoch, branch, probability, routing_weight,
    temperature). ``importance`` is the module probability, or the mean routing weight
    for a ``sparse_dense`` combiner; ``entropy`` (nats), ``normalized_entropy`` (0 = one
    branch, 1 = uniform) and ``effective_branches`` (exp(entropy)) describe each epoch.
    """
    frame = _with_importance(snapshots)
    return frame.merge(entropy_over_training(snapshots), on="epoch", how="left")


def _with_importance(snapshots: pd.DataFrame) -> pd.DataFrame:
    importance = snapshots["probability"].fillna(snapshots["routing_weight"])
    return snapshots.assign(importance=importance).dropna(subset=["importance"])


def entropy_over_training(snapshots: pd.DataFrame) -> pd.DataFrame:
    """One row per epoch: ``entropy``, ``normalized_entropy``, ``effective_branches``,
    ``top_branch`` of the module distribution (``snapshots`` as for
    ``importance_over_training``)."""
    rows = []
    for epoch, part in _with_importance(snapshots).groupby("epoch", sort=True):
        p = part["importance"].to_numpy(dtype=float)
        p = p / p.sum() if p.sum() > 0 else p
        top = part["branch"].iloc[int(np.argmax(p))]
        rows.append({"epoch": epoch, **spread(p), "top_branch": top})
    return pd.DataFrame(
        rows,
        columns=["epoch", "entropy", "normalized_entropy", "effective_branches", "top_branch"],
    )


def _weighting_layer(model):
    layer = combiner_layer(model)
    if not isinstance(layer, SparseAttentionWeighting):
        raise SpecError(
            f"A temperature what-if needs a {kinds_text('has_module_weights')} combiner "
            f"(it has a temperature); this model's combiner is {type(layer).__name__}."
        )
    return layer


def temperature_distribution(model, temperatures: Iterable[float]) -> pd.DataFrame:
    """Module probabilities at each temperature (the trained one included), computed
    from the raw weights: ``temperature``, ``branch``, ``probability`` and the spread."""
    layer = _weighting_layer(model)
    trained, temps = _temperatures(layer, temperatures)
    return temperature_distributions(
        layer.attention_weights.numpy(), temps, branch_names(model), layer.normalizer
    ).assign(trained=lambda f: f["temperature"] == trained)


def _temperatures(layer, asked: Iterable[float]) -> tuple[float, list[float]]:
    """The trained temperature and the sorted temperatures to try, the trained one
    included. Rounded, so a float32 0.7 and the 0.7 a user types are one value."""
    trained = round(layer.temperature_value, 6)
    temps = sorted({round(float(t), 6) for t in asked} | {trained})
    if temps[0] <= 0:
        raise SpecError("Temperatures must be above 0; try values such as 0.25, 0.5, 1, 2, 4.")
    return trained, temps


def temperature_what_if(
    model,
    prepared: PreparedData,
    temperatures: Iterable[float],
    split: str = "val",
    metric: str | None = None,
) -> pd.DataFrame:
    """The trained model re-scored at each temperature, without retraining.

    The combiner's temperature variable is set, the split is predicted, and the trained
    value is put back (also when something fails), so the model is left as it was.
    One row per (temperature, target): ``temperature``, ``trained``, ``target``,
    ``metric``, ``value``, ``worsening`` (vs the trained temperature; positive = worse),
    ``entropy``, ``effective_branches``, ``top_branch``, ``top_probability``.
    """
    view = ModelView(model, prepared, metric)
    layer = _weighting_layer(model)
    trained, temps = _temperatures(layer, temperatures)
    X, y = prepared.split(split)
    X = np.asarray(X, dtype=np.float32)
    results = {}
    saved = layer.temperature.numpy()
    try:
        for t in temps:
            layer.temperature.assign(t)
            results[t] = (view.scores(view.outputs(X), y), layer.module_probabilities())
    finally:
        layer.temperature.assign(saved)
    rows = []
    for t, (scores, probabilities) in results.items():
        stats = spread(probabilities)
        top = int(np.argmax(probabilities))
        for target, value in scores.items():
            name = view.metrics[target]
            rows.append(
                {
                    "temperature": t,
                    "trained": t == trained,
                    "target": target,
                    "metric": name,
                    "value": value,
                    "worsening": worsening(name, results[trained][0][target], value),
                    "entropy": stats["entropy"],
                    "effective_branches": stats["effective_branches"],
                    "top_branch": view.branches[top],
                    "top_probability": float(probabilities[top]),
                }
            )
    return pd.DataFrame(rows)
