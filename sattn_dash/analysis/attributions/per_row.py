"""Row by row: does what the model attends to rank like what moved its prediction?

For each explained row, Spearman's rank correlation between its attention (the
combiner's weights or routing over branches; a feature-attention layer's weights folded
to source columns) and the size of its attributions on the same items. Over a split the
distribution of that correlation says whether the attention can be read row by row; a
branch that gets weight but contributes nothing pulls it down. Pure pandas/NumPy/SciPy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from sattn_dash.analysis.modules.agreement import STRONG, WEAK

#: The share of rows whose top item by attention must also be top by attribution for a
#: "strong" verdict.
TOP_SHARE = 0.5


def row_agreement(
    attention: pd.DataFrame, columns: pd.DataFrame, branches: pd.DataFrame
) -> pd.DataFrame:
    """One row per (explained row, target, comparison): ``row, row_index, target,
    comparison, branch, items, spearman_rho, top_by_attention, top_by_attribution,
    top_agrees``. Attention over branches is compared with branch attributions, attention
    over feature tokens with column attributions. ``spearman_rho`` is NaN where one side
    is flat (it ranks nothing) or fewer than two items are shared."""
    parts = []
    for (comparison, owner), block in attention.groupby(["comparison", "branch"], sort=False):
        over_branches = comparison in ("routing", "combiner weights")
        source, unit = (branches, "branch") if over_branches else (columns, "column")
        wide = block.pivot_table(index=["row", "row_index"], columns="item", values="attention")
        for target, by_target in source.groupby("target", sort=False):
            size = by_target.pivot_table(
                index=["row", "row_index"], columns=unit, values="attribution", aggfunc="sum"
            ).abs()
            items = [i for i in wide.columns if i in size.columns]
            rows = wide.index.intersection(size.index)
            a = wide.loc[rows, items].to_numpy(dtype=float)
            b = size.loc[rows, items].to_numpy(dtype=float)
            parts.append(
                pd.DataFrame(
                    {
                        "row": rows.get_level_values("row"),
                        "row_index": rows.get_level_values("row_index"),
                        "target": target,
                        "comparison": comparison,
                        "branch": owner,
                        "items": len(items),
                        "spearman_rho": spearman_rows(a, b),
                        "top_by_attention": _top(a, items),
                        "top_by_attribution": _top(b, items),
                    }
                )
            )
    columns_out = [
        "row", "row_index", "target", "comparison", "branch", "items", "spearman_rho",
        "top_by_attention", "top_by_attribution", "top_agrees",
    ]  # fmt: skip
    if not parts:
        return pd.DataFrame(columns=columns_out)
    frame = pd.concat(parts, ignore_index=True)
    frame["top_agrees"] = frame["top_by_attention"] == frame["top_by_attribution"]
    return frame[columns_out]


def spearman_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman's rho of each row of ``a`` with the same row of ``b`` (ties averaged)."""
    if a.shape[1] < 2:
        return np.full(len(a), np.nan)
    ra = rankdata(a, axis=1) - (a.shape[1] + 1) / 2
    rb = rankdata(b, axis=1) - (b.shape[1] + 1) / 2
    spread = np.sqrt((ra**2).sum(1) * (rb**2).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(spread > 0, (ra * rb).sum(1) / np.where(spread > 0, spread, 1), np.nan)


def _top(values: np.ndarray, items: list) -> np.ndarray:
    if not len(items):
        return np.full(len(values), None, dtype=object)
    flat = np.ptp(values, axis=1) <= 0 if values.size else np.zeros(len(values), bool)
    top = np.asarray(items, dtype=object)[values.argmax(axis=1)]
    return np.where(flat, None, top)


def agreement_summary(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per (target, comparison): ``rows``, ``rows_ranked`` (rho defined),
    ``median_rho, q25_rho, q75_rho, share_strong`` (rho >= STRONG), ``share_none``
    (rho < WEAK), ``share_top_agrees``, ``agreement`` (strong | partial | none |
    undetermined) and ``verdict`` in words."""
    out = []
    for (target, comparison, owner), block in rows.groupby(
        ["target", "comparison", "branch"], sort=False
    ):
        rho = block["spearman_rho"].dropna().to_numpy(dtype=float)
        record = {
            "target": target,
            "comparison": comparison,
            "branch": owner,
            "rows": len(block),
            "rows_ranked": len(rho),
            "median_rho": float(np.median(rho)) if len(rho) else np.nan,
            "q25_rho": float(np.quantile(rho, 0.25)) if len(rho) else np.nan,
            "q75_rho": float(np.quantile(rho, 0.75)) if len(rho) else np.nan,
            "share_strong": float((rho >= STRONG).mean()) if len(rho) else np.nan,
            "share_none": float((rho < WEAK).mean()) if len(rho) else np.nan,
            "share_top_agrees": float(block["top_agrees"].mean()) if len(block) else np.nan,
        }
        record["agreement"], record["verdict"] = _verdict(record)
        out.append(record)
    return pd.DataFrame(out)


def _verdict(r: dict) -> tuple[str, str]:
    what = _what(r["comparison"])
    if not r["rows_ranked"]:
        return "undetermined", (
            f"No row could be ranked: {what} or the attributions are flat on every row."
        )
    median, top = r["median_rho"], r["share_top_agrees"]
    numbers = (
        f"median Spearman {median:.2f} over {r['rows_ranked']:,} rows; the top item agrees "
        f"on {top:.0%} of them"
    )
    if median >= STRONG and top >= TOP_SHARE:
        return "strong", (
            f"Row by row, {what} ranks like the attributions ({numbers}): read it as what "
            "drives each prediction."
        )
    if median >= WEAK:
        return "partial", (
            f"Row by row, {what} partly follows the attributions ({numbers}): a rough guide; "
            "check the attributions of the rows you care about."
        )
    return "none", (
        f"Row by row, {what} does not rank like the attributions ({numbers}): something "
        "gets weight without moving the prediction (or the reverse). Do not read it as "
        "importance; read the attributions."
    )


def _what(comparison: str) -> str:
    if comparison == "routing":
        return "the router's weight per branch"
    if comparison == "combiner weights":
        return "the combiner's weight per branch"
    return f"the attention of {comparison}"


def incompleteness_cause(combiner: str | None) -> str:
    """Why some explained rows miss completeness, as this run's combiner can cause it:
    only a top-k router (``sparse_dense``) has choices that flip along the path (a jump
    no gradient sees); otherwise the output bends more sharply than the integration
    steps can follow."""
    if combiner == "sparse_dense":
        return (
            "The others cross a point where the router's top-k choice flips: a jump the "
            "gradients cannot see."
        )
    return (
        "The others bend too sharply along the path from the baseline for the integration "
        "steps used (up to the most the explainer tries): read their attributions as "
        "approximate."
    )
