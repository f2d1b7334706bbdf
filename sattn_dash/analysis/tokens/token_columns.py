"""Token attention read per source column: one-hot codes folded back into their column.

A feature-attention branch sees one token per model input column, so a categorical with
69 values is 69 tokens, and a heatmap of them is unreadable. Here the weights a query
gives the tokens of one source column are summed (so each query still sums to 1), the
queries of one source column are averaged (the ``[CLS]`` query, its own column, stays as
it is), and past the ``top`` columns that get the most attention the rest are folded into
one "other (k columns)" entry. Pure pandas: no TensorFlow.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

CLS = "[CLS]"
TOP_COLUMNS = 12  # source columns shown before the rest are folded


def other_label(folded: int) -> str:
    return f"other ({folded} column{'s' if folded != 1 else ''})"


def _groups(frame: pd.DataFrame, sources: Mapping[str, str], top: int) -> dict[str, str]:
    """{source column: what it is shown as}: itself, or the folded entry."""
    column = frame["key_token"].map(lambda t: sources.get(t, t))
    received = frame.assign(column=column).groupby("column", sort=False)["weight"].sum()
    ranked = [c for c in received.sort_values(ascending=False, kind="stable").index if c != CLS]
    kept, rest = ranked[:top], ranked[top:]
    if len(rest) <= 1:  # folding one column into "other" would only hide its name
        kept, rest = ranked, []
    shown = {c: c for c in kept}
    shown.update({c: other_label(len(rest)) for c in rest})
    if CLS in received.index:
        shown[CLS] = CLS
    return shown


def _order(shown: dict[str, str]) -> dict[str, int]:
    """Display order: [CLS] first, then by attention received, the folded entry last."""
    labels = list(dict.fromkeys(shown.values()))
    labels = [CLS] * (CLS in labels) + [g for g in labels if g != CLS]
    return {label: i for i, label in enumerate(labels)}


def _one_map(block: pd.DataFrame, sources: Mapping[str, str], top: int) -> pd.DataFrame:
    """``attention_by_column`` for the rows of one (row, layer)."""
    shown = _groups(block, sources, top)
    order = _order(shown)
    block = block.assign(
        key_column=block["key_token"].map(lambda t: shown[sources.get(t, t)]),
        query_column=block["query_token"].map(lambda t: shown.get(sources.get(t, t), t)),
    )
    ids = ["row", "row_index", "layer", "branch", "head"]
    # Keys: a query's weights on the tokens of one column add up (it still sums to 1).
    per_query = block.groupby([*ids, "query_token", "query_column", "key_column"], sort=False)
    summed = per_query.agg(weight=("weight", "sum"), key_tokens=("key_token", "size"))
    # Queries: the tokens of one column average (one query, [CLS], stays as it is).
    grouped = summed.reset_index().groupby([*ids, "query_column", "key_column"], sort=False)
    result = grouped.agg(
        weight=("weight", "mean"),
        key_tokens=("key_tokens", "first"),
        query_tokens=("query_token", "nunique"),
    ).reset_index()
    result["key"] = result["key_column"].map(order)
    result["query"] = result["query_column"].map(order).fillna(-1).astype(int)
    return result


def attention_by_column(
    frame: pd.DataFrame, sources: Mapping[str, str], top: int = TOP_COLUMNS
) -> pd.DataFrame:
    """``token_attention`` rows aggregated to source columns, per row, layer and head.

    ``sources`` maps a token to its source column (``PreparedData.feature_sources``);
    tokens it does not name (``[CLS]``, a router's branches) are their own column. The
    ``top`` columns receiving the most attention in a row and layer (over its heads and
    queries) are kept; the rest become one "other (k columns)" entry on both axes.
    Columns: ``row, row_index, layer, branch, head, query, query_column, key,
    key_column, weight, selected, key_tokens, query_tokens``; ``query``/``key`` give the
    display order and ``*_tokens`` how many tokens each entry holds.
    """
    if top < 1:
        raise ValueError(f"top must be at least 1, got {top}")
    parts = [_one_map(block, sources, top) for _, block in frame.groupby(["row", "layer"])]
    columns = [
        "row",
        "row_index",
        "layer",
        "branch",
        "head",
        "query",
        "query_column",
        "key",
        "key_column",
        "weight",
        "selected",
        "key_tokens",
        "query_tokens",
    ]
    if not parts:
        return pd.DataFrame(columns=columns)
    result = pd.concat(parts, ignore_index=True)
    result["selected"] = result["weight"] > 0
    return result[columns].sort_values(["row", "layer", "head", "query", "key"], ignore_index=True)
