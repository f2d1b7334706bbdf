"""A trained model as the analysis sees it: branches in, combiner and heads out.

Every check here runs the user's model without changing it: predictions go through
``explain_model`` (which shares the weights), and "what if a branch said something
else" goes through a second Keras model that starts at the branch outputs and reuses
the trained combiner and heads. Nothing is retrained and no weight is written.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

import keras
import numpy as np

from sattn_dash.analysis.scoring import HEADLINE_METRIC, headline, metric_for
from sattn_dash.errors import SpecError
from sattn_dash.layers import SparseAttentionWeighting
from sattn_dash.modeling import (
    branch_names,
    combiner_layer,
    explain_model,
    head_name,
    named_modules,
    token_names,
)
from sattn_dash.modeling.combiners import kinds_text
from sattn_dash.modeling.explain import ensemble_of
from sattn_dash.modeling.keras_layers import BranchRouter
from sattn_dash.training.importance import predict_chunks, sample_rows

if TYPE_CHECKING:
    from sattn_dash.tabular.prepared import PreparedData

__all__ = ["ModelView", "sample_rows"]


class ModelView:
    """Read-only access to a built model's branch outputs, routing and attention."""

    def __init__(
        self,
        model: keras.Model,
        prepared: PreparedData,
        metric: str | None = None,
        defaults: dict[str, str] = HEADLINE_METRIC,
    ):
        self.model = model
        self.prepared = prepared
        self.targets = list(prepared.tasks)
        #: the metric each target is scored in (checked here, before any work is done):
        #: ``metric``, else the task's in ``defaults``
        self.metrics = {
            t: metric_for(task, metric, t, defaults) for t, task in prepared.tasks.items()
        }
        self.branches = branch_names(model)
        self.combiner = combiner_layer(model)
        self._explainers: dict[tuple[str, ...], keras.Model] = {}

    @property
    def combiner_kind(self) -> str:
        return type(self.combiner).__name__

    @property
    def is_weighting(self) -> bool:
        return isinstance(self.combiner, SparseAttentionWeighting)

    @property
    def is_router(self) -> bool:
        return isinstance(self.combiner, BranchRouter)

    def require_attention(self) -> None:
        if not (self.is_weighting or self.is_router):
            raise SpecError(
                f"This model combines its branches with {self.combiner_kind}, which "
                "learns no weight per branch; use ablation or permutation importance, or "
                f"train with a {kinds_text('importance')} combiner."
            )

    def require_router(self, what: str) -> None:
        if not self.is_router:
            raise SpecError(
                f"{what} needs a {kinds_text('has_routing')} combiner, which picks branches "
                f"per row; this model's combiner is {self.combiner_kind}."
            )

    @cached_property
    def explainer(self) -> keras.Model:
        return explain_model(self.model)

    @cached_property
    def token_names(self) -> dict[str, list[str]]:
        return token_names(self.model)

    @cached_property
    def downstream(self) -> keras.Model:
        """(features, branch outputs...) -> predictions, with the trained layers."""
        branch_tensors = [self.model.get_layer(f"branch_{b}_output").output for b in self.branches]
        return keras.Model([*self.model.inputs, *branch_tensors], self.model.output)

    def explain(self, X, keys: tuple[str, ...] | None = None) -> dict:
        """``explain_model`` outputs for rows ``X``: all of them, or only ``keys`` (the
        attention maps of a wide feature attention are large; skip them when unused)."""
        return predict_chunks(self._explainer_for(keys), [np.asarray(X, dtype=np.float32)])

    def _explainer_for(self, keys: tuple[str, ...] | None) -> keras.Model:
        if keys is None:
            return self.explainer
        if keys not in self._explainers:
            out = self.explainer.output
            self._explainers[keys] = keras.Model(self.explainer.inputs, {k: out[k] for k in keys})
        return self._explainers[keys]

    def outputs_from_branches(self, X, branch_outputs: list[np.ndarray]) -> dict[str, np.ndarray]:
        """Predictions per target when the combiner receives ``branch_outputs``."""
        inputs = [np.asarray(X, dtype=np.float32), *branch_outputs]
        return self.by_target(predict_chunks(self.downstream, inputs))

    def outputs(self, X) -> dict[str, np.ndarray]:
        return self.by_target(self.explain(X, ("predictions",))["predictions"])

    def by_target(self, predictions) -> dict[str, np.ndarray]:
        if isinstance(predictions, dict):
            return {t: np.asarray(predictions[head_name(t)]) for t in self.targets}
        return {self.targets[0]: np.asarray(predictions)}

    def scores(self, outputs: dict[str, np.ndarray], y: dict[str, np.ndarray]) -> dict[str, float]:
        """Each target's score in its metric (``self.metrics``)."""
        return {
            t: headline(self.prepared.tasks[t], y[t], outputs[t], self.metrics[t])
            for t in self.targets
        }

    def ensemble_of(self, module: str) -> str | None:
        """The ``batch_ensemble`` branch whose member ``module`` is, or None."""
        return ensemble_of(self.model, module)

    def ensembles(self) -> dict[str, list[str]]:
        """``{ensemble branch: its member modules in member order}``."""
        found: dict[str, list[str]] = {}
        for module in self.branches:
            branch = self.ensemble_of(module)
            if branch is not None:
                found.setdefault(branch, []).append(module)
        return found

    def named_modules(self) -> dict[str, list[str]]:
        """``modeling.named_modules``: the names the user gave, with their modules."""
        return named_modules(self.model)

    def branch_columns(self) -> dict[str, list[int]]:
        """The model input positions each branch (or ensemble member: its branch's
        columns) reads: its ColumnSelect, or every one."""
        every = list(range(len(self.prepared.feature_names)))
        columns = {}
        for module in self.branches:
            branch = self.ensemble_of(module) or module
            try:
                columns[module] = list(self.model.get_layer(f"branch_{branch}_select").indices)
            except ValueError:
                columns[module] = every
        return columns

    def predicted_classes(self, outputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Predicted class codes per classification target."""
        result = {}
        for target, out in outputs.items():
            task = self.prepared.tasks[target]
            if task == "binary":
                result[target] = (np.asarray(out).reshape(-1) >= 0.5).astype(np.int64)
            elif task == "multiclass":
                result[target] = np.asarray(out).argmax(axis=1)
        return result
