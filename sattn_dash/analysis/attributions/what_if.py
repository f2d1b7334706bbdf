"""What-if for one row: push edited values through the trained model and read back the
prediction, the routing and every attention weight. Pure (no Streamlit).

(Here because ``analysis.token_attention`` takes row positions of a stored split, not
new rows; it uses the analysis part's ``ModelView`` for the model calls.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sattn_dash.analysis.model_view import ModelView
from sattn_dash.training.evaluation import predictions_frame

if TYPE_CHECKING:
    from sattn_dash.tabular.prepared import PreparedData

ATTENTION = "attention/"


def explain_rows(model, prepared: PreparedData, rows: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """For rows of the original table (feature columns; targets optional):

    - ``predictions``: as ``Run.predict`` (``<target>_pred``, class probabilities);
    - ``routing``: ``row, branch, weight`` (empty unless the combiner is sparse_dense);
    - ``attention``: ``row, layer, head, query_token, key_token, weight, selected``.
    ``row`` is the position in ``rows``.
    """
    view = ModelView(model, prepared)
    X = np.asarray(prepared.transform(rows), dtype=np.float32)
    explained = view.explain(X)
    predictions = predictions_frame(view.outputs(X), prepared, index=np.arange(len(rows)))
    routing = pd.DataFrame(columns=["row", "branch", "weight"])
    if "routing" in explained:
        weights = np.asarray(explained["routing"])
        r, b = np.meshgrid(np.arange(len(rows)), np.arange(len(view.branches)), indexing="ij")
        routing = pd.DataFrame(
            {
                "row": r.reshape(-1),
                "branch": np.asarray(view.branches, dtype=object)[b.reshape(-1)],
                "weight": weights.reshape(-1).astype(float),
            }
        )
    parts = []
    for key, scores in explained.items():
        if not key.startswith(ATTENTION):
            continue
        scores = np.asarray(scores)
        n, heads, queries, keys = scores.shape
        names = view.token_names[key]
        query_names = names if queries == len(names) else ["[row]"] * queries
        r, h, q, k = np.meshgrid(
            np.arange(n), np.arange(heads), np.arange(queries), np.arange(keys), indexing="ij"
        )
        flat = scores.reshape(-1)
        parts.append(
            pd.DataFrame(
                {
                    "row": r.reshape(-1),
                    "layer": key[len(ATTENTION) :],
                    "head": h.reshape(-1),
                    "query_token": np.asarray(query_names, dtype=object)[q.reshape(-1)],
                    "key_token": np.asarray(names, dtype=object)[k.reshape(-1)],
                    "weight": flat.astype(float),
                    "selected": flat > 0,
                }
            )
        )
    attention = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(
            columns=["row", "layer", "head", "query_token", "key_token", "weight", "selected"]
        )
    )
    return {"predictions": predictions, "routing": routing, "attention": attention}


def attribute_rows(
    model, prepared: PreparedData, rows: pd.DataFrame, steps: int = 32
) -> dict[str, pd.DataFrame]:
    """Per-row attributions, completeness, attention and their agreement for rows of the
    original table (as ``analysis.explain_inputs``; ``row`` is the position in ``rows``,
    ``row_index`` its label in the table, so an edited copy names the row it came from)."""
    from sattn_dash.analysis.attributions.attributions import explain_inputs
    from sattn_dash.analysis.attributions.per_row import row_agreement

    X = prepared.transform(rows)
    frames = explain_inputs(model, prepared, X, row_index=rows.index.to_numpy(), steps=steps)
    frames["agreement"] = row_agreement(frames["attention"], frames["columns"], frames["branches"])
    return frames


def compare_predictions(predictions: pd.DataFrame) -> pd.DataFrame:
    """Two rows of ``explain_rows``' predictions (original, then edited) side by side as
    text: ``output, original, edited``, one row per output. Numbers are rounded for
    reading (probabilities to 4 decimals, others to 5 significant digits); as text, a
    class label and a probability can share a column (Arrow takes one type a column)."""

    def shown(column: str, value) -> str:
        if isinstance(value, float | np.floating):
            return f"{value:.4f}" if "_proba_" in column else f"{value:.5g}"
        return str(value)

    outputs = [c for c in predictions.columns if c != "row"]
    original, edited = (predictions.iloc[i] for i in (0, 1))
    return pd.DataFrame(
        {
            "output": outputs,
            "original": [shown(c, original[c]) for c in outputs],
            "edited": [shown(c, edited[c]) for c in outputs],
        }
    )
