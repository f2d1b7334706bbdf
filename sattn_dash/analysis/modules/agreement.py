"""Does the attention mean anything? Compare it with what the model actually needs.

Attention weights are not automatically importance (Jain & Wallace 2019; Wiegreffe &
Pinter 2019). Here the ranking the combiner's attention gives the branches is set beside
the ranking that ablation (remove a branch, measure the loss of skill) gives, and the
agreement is put in words a user can act on.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from sattn_dash.analysis.modules.distribution import no_branch_preferred

#: Agreement thresholds on Spearman's rho.
STRONG, WEAK = 0.7, 0.3
#: Below this spread, a set of importances ranks nothing (all branches look the same).
FLAT = 0.02
#: An ablation drop below this share of the largest one (or below the floor) is within
#: the noise of one validation split: it counts as no drop, so it ties with the others
#: instead of ranking noise branches against each other.
NEGLIGIBLE_SHARE, NEGLIGIBLE_FLOOR = 0.05, 0.005
#: What each importance measure is measured in, as charts and tables say it.
METHOD_UNITS = {
    "attention": "share of 1 (module probability or mean routing weight)",
    "ablation": "drop in the headline metric when the branch is replaced by its mean",
    "permutation": "drop in the headline metric when the branch's output is shuffled across rows",
}


def importance_rank(values):
    """Rank 1 = the largest; ties share the better rank; a missing value stays missing.
    Takes a Series or a grouped Series (ranks within each group)."""
    return values.rank(ascending=False, method="min").astype("Int64")


def compare_importances(**measures: pd.DataFrame) -> pd.DataFrame:
    """One row per branch, one column (and a rank) per importance measure.

    Each keyword is a measure name and a frame with ``branch`` and ``importance``
    columns, e.g. ``compare_importances(attention=a, ablation=b, permutation=c)``; a frame
    with several rows per branch (one per target) counts their mean. Rank 1 is the most
    important branch.
    """
    table = None
    for name, frame in measures.items():
        part = frame.groupby("branch", sort=False)["importance"].mean().rename(name).reset_index()
        table = part if table is None else table.merge(part, on="branch", how="outer")
    for name in measures:
        table[f"{name}_rank"] = importance_rank(table[name])
    return table.reset_index(drop=True)


def negligible_as_zero(values: np.ndarray, floor: float = NEGLIGIBLE_FLOOR) -> np.ndarray:
    """Importances under ``NEGLIGIBLE_SHARE`` of the largest (or under ``floor``, in the
    metric's units) as 0: too small to tell from the noise of one validation split."""
    if not len(values):
        return values
    tolerance = max(floor, NEGLIGIBLE_SHARE * float(np.nanmax(np.abs(values))))
    return np.where(values < tolerance, 0.0, values)


def _flat(values: np.ndarray) -> bool:
    return bool(np.nanmax(values) - np.nanmin(values) < FLAT)


def tells_branches_apart(frame: pd.DataFrame) -> bool:
    """Whether an importance table (``branch``, ``importance``; several rows per branch
    count their mean) ranks anything: False when every branch gets about the same."""
    values = frame.groupby("branch")["importance"].mean().to_numpy(dtype=float)
    return len(values) >= 2 and not _flat(values)


def faithfulness(attention: pd.DataFrame, ablation: pd.DataFrame) -> pd.DataFrame:
    """Spearman correlation between attention and ablation importance, with a verdict.

    ``attention`` and ``ablation`` have ``branch`` and ``importance`` columns (the output
    of ``module_importance`` and ``ablation_importance``). Ablation drops too small to
    tell from noise count as ties at zero (see ``NEGLIGIBLE_SHARE``). Returns one row: ``spearman_rho``, ``p_value``, ``n_branches``, ``top_by_attention``,
    ``top_by_ablation``, ``agreement`` (strong/partial/none/undetermined) and ``verdict``.
    """
    table = compare_importances(attention=attention, ablation=ablation).dropna()
    a = table["attention"].to_numpy(dtype=float)
    b = negligible_as_zero(table["ablation"].to_numpy(dtype=float))
    n = len(table)
    top_att = table.loc[table["attention"].idxmax(), "branch"] if n else None
    top_abl = table.loc[table["ablation"].idxmax(), "branch"] if n else None
    rho = p = float("nan")
    if n >= 2 and not _flat(a) and not _flat(b):
        rho, p = (float(v) for v in spearmanr(a, b))
    agreement, verdict = _verdict(n, rho, a, b, top_att, top_abl)
    return pd.DataFrame(
        [
            {
                "spearman_rho": rho,
                "p_value": p,
                "n_branches": n,
                "top_by_attention": top_att,
                "top_by_ablation": top_abl,
                "agreement": agreement,
                "verdict": verdict,
            }
        ]
    )


def _verdict(n, rho, a, b, top_att, top_abl) -> tuple[str, str]:
    if n < 2:
        return "undetermined", "There is only one branch, so there is nothing to rank."
    if _flat(b):
        return "undetermined", (
            "Removing any single branch barely changes the validation score, so the "
            "branches are interchangeable (redundant) and no ranking of them means much. "
            "Fewer or more different branches would make the attention informative."
        )
    if _flat(a) or no_branch_preferred(a):
        return "none", (
            f"The attention is nearly uniform, yet removing '{top_abl}' hurts the most: the "
            "attention does not show what the model relies on. Read the ablation and "
            "permutation importance instead, or train longer / lower the temperature."
        )
    same_top = top_att == top_abl
    small = " With this few branches the correlation is a rough guide only." if n < 4 else ""
    if rho >= STRONG and same_top:
        return "strong", (
            f"Attention agrees with ablation (Spearman {rho:.2f}): the branch weighted most, "
            f"'{top_att}', is also the one the model needs most. You can read the attention "
            f"chart as branch importance for this run.{small}"
        )
    if rho >= WEAK or same_top:
        return "partial", (
            f"Attention partly agrees with ablation (Spearman {rho:.2f}; top by attention "
            f"'{top_att}', top by ablation '{top_abl}'). Use the attention as a rough "
            f"guide and check the ablation numbers before dropping a branch.{small}"
        )
    return "none", (
        f"Attention does not track what the model needs (Spearman {rho:.2f}): it weights "
        f"'{top_att}' most, but removing '{top_abl}' hurts the most. Do not read the "
        f"attention weights as importance here; rely on ablation and permutation.{small}"
    )


def methods_long(compared: pd.DataFrame, methods) -> pd.DataFrame:
    """``compare_importances``' wide table as ``branch, importance, rank, method, units``
    for the `methods` given (what ``charts.importance.methods_side_by_side`` takes)."""
    return pd.concat(
        [
            compared[["branch", method, f"{method}_rank"]]
            .rename(columns={method: "importance", f"{method}_rank": "rank"})
            .assign(method=method, units=METHOD_UNITS[method])
            for method in methods
        ],
        ignore_index=True,
    )
