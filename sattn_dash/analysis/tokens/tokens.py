"""Token attention: which features (or branches) each query looked at, and how much.

Two kinds of attention live in a model: feature attention inside a branch (self-attention
over a CLS token and one token per model input column) and the ``sparse_dense``
combiner's router (one query per row, over the branches). Both keep only the top-k keys
per query, so every weight comes with a ``selected`` flag: the weights of a query sum to
1 over its selected keys and are exactly 0 elsewhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sattn_dash.analysis.model_view import ModelView, sample_rows
from sattn_dash.analysis.modules.agreement import importance_rank
from sattn_dash.analysis.tokens.token_columns import CLS
from sattn_dash.errors import SpecError
from sattn_dash.modeling.combiners import kinds_text

if TYPE_CHECKING:
    from sattn_dash.tabular.prepared import PreparedData

PREFIX = "attention/"


def _owner(layer: str, branches: Sequence[str]) -> str:
    """The branch an attention layer belongs to ("combiner" for the router)."""
    owners = [b for b in branches if layer.startswith(f"branch_{b}_")]
    return max(owners, key=len) if owners else layer


def _query_names(keys: list[str], n_queries: int) -> list[str]:
    if n_queries == len(keys):
        return keys  # self-attention: the queries are the same tokens
    if n_queries == 1:
        return ["[row]"]  # the router's one query per row, made from the row's features
    return [f"query {i}" for i in range(n_queries)]


def _attention_keys(view: ModelView) -> tuple[str, ...]:
    """The ``explain_model`` outputs holding attention maps (raises if there are none)."""
    keys = tuple(k for k in view.explainer.output if k.startswith(PREFIX))
    if not keys:
        raise SpecError(
            "This model has no token attention: add a feature_attention block to a branch "
            f"or use the {kinds_text('has_routing')} combiner."
        )
    return keys


def _maps(explained: dict) -> dict[str, np.ndarray]:
    """``{layer name: (rows, heads, queries, keys)}`` from ``explain`` outputs."""
    return {k[len(PREFIX) :]: np.asarray(v) for k, v in explained.items() if k.startswith(PREFIX)}


def _split_rows(prepared: PreparedData, split: str, rows) -> tuple[np.ndarray, np.ndarray, dict]:
    X, y = prepared.split(split)
    rows = np.asarray(rows, dtype=np.int64).reshape(-1)
    if len(rows) == 0 or rows.min() < 0 or rows.max() >= len(X):
        raise SpecError(
            f"Pick rows between 0 and {len(X) - 1} of the {split} split (got {rows.tolist()})."
        )
    X = np.asarray(X, dtype=np.float32)[rows]
    return X, rows, {t: np.asarray(v)[rows] for t, v in y.items()}


def token_attention(
    model, prepared: PreparedData, rows: Sequence[int], split: str = "val"
) -> pd.DataFrame:
    """Every attention weight for the given rows (positions in ``split``).

    Columns: ``row`` (position in the split), ``row_index`` (the row's index in the
    uploaded table), ``layer``, ``branch`` (owner of the layer, or "combiner"), ``head``,
    ``query``, ``query_token``, ``key``, ``key_token``, ``weight``, ``selected``.
    """
    view = ModelView(model, prepared)
    X, rows, _ = _split_rows(prepared, split, rows)
    original = np.asarray(prepared.row_index[split])[rows]
    parts = []
    for layer, scores in _maps(view.explain(X, _attention_keys(view))).items():
        n, heads, queries, keys = scores.shape
        key_names = view.token_names[PREFIX + layer]
        query_names = _query_names(key_names, queries)
        r, h, q, k = np.meshgrid(
            np.arange(n), np.arange(heads), np.arange(queries), np.arange(keys), indexing="ij"
        )
        weights = scores.reshape(-1)
        parts.append(
            pd.DataFrame(
                {
                    "row": rows[r.reshape(-1)],
                    "row_index": original[r.reshape(-1)],
                    "layer": layer,
                    "branch": _owner(layer, view.branches),
                    "head": h.reshape(-1),
                    "query": q.reshape(-1),
                    "query_token": np.asarray(query_names, dtype=object)[q.reshape(-1)],
                    "key": k.reshape(-1),
                    "key_token": np.asarray(key_names, dtype=object)[k.reshape(-1)],
                    "weight": weights.astype(float),
                    "selected": weights > 0,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def _key_summary(scores: np.ndarray, key_names: list[str]) -> pd.DataFrame:
    """Mean weight and selection share of each key, over rows, heads and queries."""
    flat = scores.transpose(3, 0, 1, 2).reshape(scores.shape[3], -1)
    return pd.DataFrame(
        {
            "key": np.arange(len(key_names)),
            "key_token": key_names,
            "mean_attention": flat.mean(axis=1).astype(float),
            "selection_frequency": (flat > 0).mean(axis=1).astype(float),
            "rows": scores.shape[0],
        }
    )


def _split_sample(prepared: PreparedData, split: str, max_rows: int | None, seed: int):
    X, _ = prepared.split(split)
    return _split_rows(prepared, split, sample_rows(len(X), max_rows, seed))


def dataset_attention(
    model, prepared: PreparedData, split: str = "val", max_rows: int | None = 2_000, seed: int = 0
) -> pd.DataFrame:
    """Mean attention and selection frequency of every key token, over a split:
    overall, per true class and per predicted class of each classification target.

    Columns: ``layer``, ``branch``, ``grouping``, ``target``, ``class``, ``key``,
    ``key_token``, ``mean_attention``, ``selection_frequency``, ``rows``.
    """
    view = ModelView(model, prepared)
    X, _, y = _split_sample(prepared, split, max_rows, seed)
    explained = view.explain(X, (*_attention_keys(view), "predictions"))
    predicted = view.predicted_classes(view.by_target(explained["predictions"]))
    attention = _maps(explained)
    parts = []
    for layer, scores in attention.items():
        names = view.token_names[PREFIX + layer]
        owner = _owner(layer, view.branches)
        parts.append(
            _key_summary(scores, names).assign(
                layer=layer, branch=owner, grouping="overall", target=None, **{"class": None}
            )
        )
        for target, codes_pred in predicted.items():
            for grouping, codes in (("true class", y[target]), ("predicted class", codes_pred)):
                codes = np.asarray(codes).astype(np.int64).reshape(-1)
                for code, label in enumerate(prepared.classes[target]):
                    chosen = codes == code
                    if chosen.any():
                        parts.append(
                            _key_summary(scores[chosen], names).assign(
                                layer=layer,
                                branch=owner,
                                grouping=grouping,
                                target=target,
                                **{"class": label},
                            )
                        )
    columns = ["layer", "branch", "grouping", "target", "class", "key", "key_token"]
    frame = pd.concat(parts, ignore_index=True)
    return frame[[*columns, "mean_attention", "selection_frequency", "rows"]]


def routing_co_selection(
    model, prepared: PreparedData, split: str = "val", max_rows: int | None = 20_000, seed: int = 0
) -> pd.DataFrame:
    """How often two branches are routed to together (``sparse_dense`` combiner).

    One row per ordered pair: ``branch``, ``other_branch``, ``co_selection`` (share of
    rows that picked both; on the diagonal, the branch's own selection frequency) and
    ``rows_both``.
    """
    view = ModelView(model, prepared)
    view.require_router("Co-selection")
    X, _, _ = _split_sample(prepared, split, max_rows, seed)
    picked = (view.explain(X, ("routing",))["routing"] > 0).astype(np.int64)
    both = picked.T @ picked
    a, b = np.meshgrid(np.arange(len(view.branches)), np.arange(len(view.branches)), indexing="ij")
    names = np.asarray(view.branches, dtype=object)
    return pd.DataFrame(
        {
            "branch": names[a.reshape(-1)],
            "other_branch": names[b.reshape(-1)],
            "co_selection": both.reshape(-1) / max(len(picked), 1),
            "rows_both": both.reshape(-1),
        }
    )


def cls_attention(
    model,
    prepared: PreparedData,
    split: str = "val",
    max_rows: int | None = 2_000,
    seed: int = 0,
    permutation: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """CLS-to-feature attention per source column (the FT-Transformer reading).

    For each branch with feature attention and a CLS token: the CLS query's weight on each
    feature token, averaged over heads, layers and rows, then summed over the tokens of
    one source column (one-hot codes). Columns: ``branch``, ``column``, ``features``,
    ``cls_attention``, ``cls_rank``; with ``permutation`` see ``add_permutation``.
    """
    view = ModelView(model, prepared)
    X, _, _ = _split_sample(prepared, split, max_rows, seed)
    by_branch: dict[str, list[pd.Series]] = {}
    for layer, scores in _maps(view.explain(X, _attention_keys(view))).items():
        names = view.token_names[PREFIX + layer]
        if not names or names[0] != CLS:
            continue
        weights = scores[:, :, 0, 1:].mean(axis=(0, 1))  # CLS query, feature keys
        by_branch.setdefault(_owner(layer, view.branches), []).append(
            pd.Series(weights, index=names[1:])
        )
    if not by_branch:
        raise SpecError(
            "No branch has feature attention with a CLS token; add a feature_attention "
            "block with cls_token on to read CLS attention."
        )
    parts = []
    for branch, layers in by_branch.items():
        mean = pd.concat(layers, axis=1).mean(axis=1)
        frame = pd.DataFrame(
            {"feature": mean.index, "cls_attention": mean.to_numpy(dtype=float)}
        ).assign(column=lambda f: f["feature"].map(prepared.feature_sources))
        per_column = frame.groupby("column", sort=False).agg(
            features=("feature", ", ".join), cls_attention=("cls_attention", "sum")
        )
        parts.append(per_column.reset_index().assign(branch=branch))
    result = pd.concat(parts, ignore_index=True)
    result["cls_rank"] = importance_rank(result.groupby("branch")["cls_attention"])
    result = result[["branch", "column", "features", "cls_attention", "cls_rank"]]
    return result if permutation is None else add_permutation(result, permutation)


def add_permutation(cls: pd.DataFrame, permutation: pd.DataFrame) -> pd.DataFrame:
    """``cls_attention`` with each column's permutation importance beside it
    (``permutation_importance_by(..., level="column")``, averaged over targets):
    ``permutation_importance`` and ``permutation_rank`` within each branch."""
    importance = permutation.groupby("column")["importance"].mean()
    result = cls.assign(permutation_importance=cls["column"].map(importance))
    result["permutation_rank"] = importance_rank(result.groupby("branch")["permutation_importance"])
    return result
