"""Which columns go together: the groups a model's branches stand for.

The user's groups when the schema names some (each column outside them its own). Else groups found from the training rows,
so a model can still name what matters on a table nobody annotated: the numeric columns
clustered by how strongly they go together (average linkage on 1 - |Spearman|, at most
``MAX_NUMERIC_GROUPS`` clusters), and the categorical and 0/1 columns as one more group.
A found group of several columns is named ``group1``, ``group2``...: columns that go
together need not share a theme, and a name led by one of them would point a user at a
column that may carry no signal (the page lists each group's columns).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sattn_dash.tabular.prepared import PreparedData

MAX_NUMERIC_GROUPS = 3
CORRELATION_ROWS = 20_000  # enough rows to rank columns by how they go together


def column_groups(prepared: PreparedData) -> dict[str, list[str]]:
    """``{group: its columns}``: the user's groups (each other column its own), else
    groups found from the table."""
    schema = prepared.schema
    if schema.groups:
        return prepared.groups_with_features()
    X = prepared.X_train.iloc[:CORRELATION_ROWS]
    numeric = [
        c
        for c in schema.feature_columns
        if c in X.columns and c not in prepared.categorical_features and X[c].nunique() > 2
    ]
    rest = [c for c in schema.feature_columns if c not in numeric]
    clusters = _clusters(X[numeric]) if len(numeric) > 2 else ([numeric] if numeric else [])
    found = {
        columns[0] if len(columns) == 1 else f"group{i}": columns
        for i, columns in enumerate(clusters, start=1)
    }
    if rest:
        found[rest[0] if len(rest) == 1 else "categorical"] = rest
    return found


def _clusters(X) -> list[list[str]]:
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    distance = np.clip(1 - X.corr(method="spearman").abs().fillna(0.0).to_numpy(), 0, None)
    np.fill_diagonal(distance, 0)
    tree = linkage(squareform(distance, checks=False), "average")
    labels = fcluster(tree, MAX_NUMERIC_GROUPS, criterion="maxclust")
    columns = list(X.columns)
    return [
        [c for c, k in zip(columns, labels, strict=True) if k == label]
        for label in sorted(set(labels))
    ]
