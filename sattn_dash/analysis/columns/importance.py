"""Which columns matter? Two independent measures per source column, and their agreement.

A one-hot or embedded column, its missing flag and its calendar parts count as the one
column the user sees (``PreparedData.feature_sources``). For every model, whatever its
combiner:

- **permutation**: the loss of skill when the column's model inputs are shuffled
  together across the validation rows (``modules.permutation``, ``level="column"``),
  mean and standard deviation over repeated shuffles;
- **attribution**: the mean absolute integrated-gradient attribution of the column over
  explained rows (``attributions``; the same rows the Predictions page explains);
- **agreement**: Spearman's rank correlation of the two over the columns, per target.
  A permutation drop too small to tell from the noise of one validation split, or an
  attribution under a twentieth of the largest, counts as a tie at zero
  (``agreement.negligible_as_zero``), so noise columns do not rank one another.

One measure asks what the model needs (break the column and score again), the other
what moved its predictions (follow the gradient from a typical row); when both name the
same columns, that is evidence, not one method's artefact.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from sattn_dash.analysis.modules.agreement import (
    STRONG,
    WEAK,
    importance_rank,
    negligible_as_zero,
)

if TYPE_CHECKING:
    from sattn_dash.tabular.prepared import PreparedData

COLUMNS = [
    "target",
    "column",
    "permutation",
    "permutation_std",
    "attribution",
    "permutation_rank",
    "attribution_rank",
    "metric",
]
AGREEMENT_COLUMNS = [
    "target",
    "spearman_rho",
    "n_columns",
    "top_by_permutation",
    "top_by_attribution",
    "agreement",
    "verdict",
]


def column_importance_table(permutation: pd.DataFrame, attributions: pd.DataFrame) -> pd.DataFrame:
    """One row per (target, source column): ``permutation`` (mean loss of skill when
    shuffled), ``permutation_std``, ``attribution`` (mean |attribution| over the explained
    rows), both ranks (1 = matters most) and the ``metric`` permutation is measured in.

    ``permutation`` is ``permutation_importance_by(..., level="column")``; ``attributions``
    the ``columns`` table of ``explain_rows`` (``row, target, column, attribution``)."""
    shuffled = permutation.rename(
        columns={"importance": "permutation", "importance_std": "permutation_std"}
    )[["target", "column", "permutation", "permutation_std", "metric"]]
    size = (
        attributions.assign(attribution=attributions["attribution"].abs())
        .groupby(["target", "column"], sort=False)["attribution"]
        .mean()
        .reset_index()
    )
    table = shuffled.merge(size, on=["target", "column"], how="outer")
    by_target = table.groupby("target", sort=False)
    table["permutation_rank"] = importance_rank(by_target["permutation"])
    table["attribution_rank"] = importance_rank(by_target["attribution"])
    table = table.sort_values(["target", "permutation_rank", "attribution_rank"], kind="stable")
    return table[COLUMNS].reset_index(drop=True)


def column_agreement(table: pd.DataFrame) -> pd.DataFrame:
    """Per target, how far the two rankings of ``column_importance_table`` agree:
    ``spearman_rho`` (NaN when either measure ranks nothing), ``n_columns``, the top
    column by each measure, ``agreement`` (strong/partial/none/undetermined) and a
    ``verdict`` in words."""
    rows = []
    for target, part in table.dropna(subset=["permutation", "attribution"]).groupby(
        "target", sort=False
    ):
        shuffled = negligible_as_zero(part["permutation"].to_numpy(dtype=float))
        sizes = negligible_as_zero(part["attribution"].to_numpy(dtype=float), floor=0.0)
        columns = part["column"].to_numpy(dtype=object)
        top_p = columns[int(np.argmax(shuffled))] if shuffled.max() > 0 else None
        top_a = columns[int(np.argmax(sizes))] if sizes.max() > 0 else None
        rho = float("nan")
        if len(part) >= 2 and np.ptp(shuffled) > 0 and np.ptp(sizes) > 0:
            rho = float(spearmanr(shuffled, sizes)[0])
        agreement, verdict = _verdict(len(part), rho, top_p, top_a)
        rows.append(
            {
                "target": target,
                "spearman_rho": rho,
                "n_columns": len(part),
                "top_by_permutation": top_p,
                "top_by_attribution": top_a,
                "agreement": agreement,
                "verdict": verdict,
            }
        )
    return pd.DataFrame(rows, columns=AGREEMENT_COLUMNS)


def agreement_rho(agreement: pd.DataFrame) -> float | None:
    """One number for a run: the mean of the targets' ``spearman_rho`` (the one rho of a
    single target); None when no target ranks anything."""
    values = agreement["spearman_rho"].dropna()
    return float(values.mean()) if len(values) else None


def _verdict(n: int, rho: float, top_p, top_a) -> tuple[str, str]:
    if n < 2:
        return "undetermined", "There is only one column, so there is nothing to rank."
    if top_p is None:
        return "undetermined", (
            "Shuffling any single column barely changes the validation score: no column "
            "stands out, or the model spreads what it knows over columns that stand in "
            "for one another."
        )
    if np.isnan(rho):
        return "undetermined", (
            f"Only '{top_p}' changes the validation score when shuffled; the attributions "
            "rank nothing to compare it with."
        )
    same = top_p == top_a
    tops = (
        f"'{top_p}' matters most by both"
        if same
        else f"'{top_p}' by permutation, '{top_a}' by attribution"
    )
    if rho >= STRONG:
        return "strong", (
            f"Shuffling the columns and tracing the gradients rank them alike "
            f"(Spearman {rho:.2f}; {tops}): read this ranking as the columns the model uses."
        )
    if rho >= WEAK or same:
        return "partial", (
            f"The two measures partly agree (Spearman {rho:.2f}; {tops}). Trust the top "
            "of the ranking more than its order further down."
        )
    return "none", (
        f"The two measures rank the columns differently (Spearman {rho:.2f}; {tops}): "
        "columns that stand in for one another, or interactions, share the credit "
        "unevenly. Check a column by training without it before dropping it."
    )


def column_importance(
    model,
    prepared: PreparedData,
    split: str = "val",
    n_repeats: int = 5,
    rows: int = 200,
    steps: int = 32,
    seed: int = 0,
    max_rows: int | None = 10_000,
    attributions: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """``column_importance_table`` of a trained model: permutation on up to ``max_rows``
    rows of ``split`` (``n_repeats`` shuffles), attributions of ``rows`` rows of it at
    ``steps`` steps, or the given ``attributions`` (``explain_rows``' ``columns``)."""
    from sattn_dash.analysis.modules.permutation import permutation_importance_by

    shuffled = permutation_importance_by(
        model, prepared, "column", split, n_repeats, seed, max_rows=max_rows
    )
    if attributions is None:
        from sattn_dash.analysis.attributions.attributions import explain_rows

        attributions = explain_rows(model, prepared, split, rows, steps, seed)["columns"]
    return column_importance_table(shuffled, attributions)
