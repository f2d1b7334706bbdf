"""Pure helpers that turn a table into the small tidy frames the Data page profiles.

They pre-aggregate in pandas, so a chart of a million-row column ships a few dozen rows
to the browser and its CSV download holds exactly the numbers the chart shows.
(Pure pandas, no Streamlit.)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MAX_CATEGORIES = 20


def column_page(columns, page: int, size: int) -> list:
    """The columns on page `page` (0-based) of `size` columns each, clipped to the end."""
    start = min(max(page, 0) * size, max(len(columns) - 1, 0) // size * size)
    return list(columns[start : start + size])


def missing_table(df: pd.DataFrame) -> pd.DataFrame:
    """One row per column: missing count and share of rows, most missing first."""
    n = max(len(df), 1)
    missing = df.isna().sum()
    out = pd.DataFrame(
        {
            "column": [str(c) for c in df.columns],
            "missing": missing.to_numpy(dtype=np.int64),
            "missing_share": (missing / n).to_numpy(dtype=float),
            "rows": len(df),
        }
    )
    return out.sort_values(["missing", "column"], ascending=[False, True], ignore_index=True)


def distribution_table(values: pd.Series, numeric: bool, bins: int = 30) -> pd.DataFrame:
    """Counts of one column: histogram bins for numbers, top categories otherwise.

    Columns: ``label``, ``start``, ``end`` (bin edges; NaN for categories), ``count``,
    ``share`` (of non-missing rows). Categories beyond the top ``MAX_CATEGORIES`` are
    summed into one "(other)" row.
    """
    present = values.dropna()
    n = max(len(present), 1)
    if numeric:
        numbers = pd.to_numeric(present, errors="coerce").dropna().astype(float)
        if numbers.empty:
            return pd.DataFrame(columns=["label", "start", "end", "count", "share"])
        counts, edges = np.histogram(numbers, bins=min(bins, max(1, numbers.nunique())))
        return pd.DataFrame(
            {
                "label": [
                    f"{a:.4g} to {b:.4g}" for a, b in zip(edges[:-1], edges[1:], strict=True)
                ],
                "start": edges[:-1],
                "end": edges[1:],
                "count": counts.astype(np.int64),
                "share": counts / n,
            }
        )
    counts = present.astype(str).value_counts()
    top = counts.iloc[:MAX_CATEGORIES]
    labels, numbers = list(top.index), list(top.to_numpy())
    if len(counts) > MAX_CATEGORIES:
        labels.append(f"(other {len(counts) - MAX_CATEGORIES})")
        numbers.append(int(counts.iloc[MAX_CATEGORIES:].sum()))
    numbers = np.asarray(numbers, dtype=np.int64)
    return pd.DataFrame(
        {
            "label": labels,
            "start": np.nan,
            "end": np.nan,
            "count": numbers,
            "share": numbers / n,
        }
    )


def target_balance_table(
    df: pd.DataFrame, targets: list[str], numeric: dict[str, bool]
) -> pd.DataFrame:
    """Class counts (or histogram bins for regression targets), one block per target."""
    parts = []
    for target in targets:
        part = distribution_table(df[target], numeric.get(target, False), bins=20)
        part.insert(0, "target", target)
        parts.append(part)
    if not parts:
        return pd.DataFrame(columns=["target", "label", "start", "end", "count", "share"])
    return pd.concat(parts, ignore_index=True)
