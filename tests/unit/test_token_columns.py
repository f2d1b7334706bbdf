"""Token attention folded into source columns: sums kept, [CLS] kept, the rest folded."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sattn_dash.analysis.tokens.token_columns import CLS, attention_by_column
from sattn_dash.charts.attention import head_heatmaps, heads_per_line

SOURCES = {
    "age": "age",
    "JobRole_Sales": "JobRole",
    "JobRole_Lab": "JobRole",
    "JobRole_HR": "JobRole",
    "Dept_A": "Dept",
    "Dept_B": "Dept",
    "income": "income",
}
TOKENS = [CLS, *SOURCES]


def attention(heads: int = 2, seed: int = 0, keep: int = 4) -> pd.DataFrame:
    """Self-attention rows shaped like ``token_attention``: each query's top-``keep``
    keys share its 1, the others get exactly 0."""
    rng = np.random.default_rng(seed)
    rows = []
    for head in range(heads):
        for q, query in enumerate(TOKENS):
            scores = rng.random(len(TOKENS))
            scores[np.argsort(scores)[:-keep]] = 0
            scores /= scores.sum()
            for k, key in enumerate(TOKENS):
                rows.append(
                    {
                        "row": 3,
                        "row_index": 17,
                        "layer": "branch_all_attention_0",
                        "branch": "all",
                        "head": head,
                        "query": q,
                        "query_token": query,
                        "key": k,
                        "key_token": key,
                        "weight": scores[k],
                        "selected": scores[k] > 0,
                    }
                )
    return pd.DataFrame(rows)


def by_cell(frame: pd.DataFrame) -> pd.Series:
    return frame.set_index(["head", "query_column", "key_column"])["weight"]


def test_columns_are_named_from_their_sources_and_cls_stays_its_own():
    grouped = attention_by_column(attention(), SOURCES, top=12)
    assert set(grouped["key_column"]) == {CLS, "age", "JobRole", "Dept", "income"}
    assert set(grouped["query_column"]) == set(grouped["key_column"])
    assert grouped.loc[grouped["key_column"] == "JobRole", "key_tokens"].eq(3).all()
    assert grouped.loc[grouped["query_column"] == "Dept", "query_tokens"].eq(2).all()
    # [CLS] comes first on both axes.
    assert grouped.loc[grouped["key_column"] == CLS, "key"].eq(0).all()
    assert grouped.loc[grouped["query_column"] == CLS, "query"].eq(0).all()


def test_each_query_still_sums_to_one_over_its_keys():
    grouped = attention_by_column(attention(), SOURCES, top=2)
    sums = grouped.groupby(["head", "query_column"])["weight"].sum()
    assert np.allclose(sums, 1.0)
    assert (grouped.loc[~grouped["selected"], "weight"] == 0).all()


def test_keys_sum_within_a_column_and_the_cls_query_is_kept_as_is():
    frame = attention()
    grouped = by_cell(attention_by_column(frame, SOURCES))
    cls = frame[frame["query_token"] == CLS]
    for head in (0, 1):
        row = cls[cls["head"] == head]
        job = row.loc[row["key_token"].str.startswith("JobRole"), "weight"].sum()
        assert grouped[(head, CLS, "JobRole")] == pytest.approx(job)
        own = row.loc[row["key_token"] == CLS, "weight"].item()
        assert grouped[(head, CLS, CLS)] == pytest.approx(own)


def test_queries_of_one_column_are_averaged():
    frame = attention()
    grouped = by_cell(attention_by_column(frame, SOURCES))
    dept = frame[frame["query_token"].str.startswith("Dept") & (frame["head"] == 1)]
    per_query = dept[dept["key_token"] == "age"].set_index("query_token")["weight"]
    assert grouped[(1, "Dept", "age")] == pytest.approx(per_query.mean())


def test_past_the_top_columns_the_rest_fold_exactly_into_other():
    frame = attention()
    grouped = attention_by_column(frame, SOURCES, top=2)
    full = attention_by_column(frame, SOURCES, top=12)
    received = full[full["key_column"] != CLS].groupby("key_column")["weight"].sum()
    kept = list(received.sort_values(ascending=False).index[:2])
    folded = [c for c in received.index if c not in kept]
    label = "other (2 columns)"
    assert set(grouped["key_column"]) == {CLS, *kept, label}
    assert grouped.loc[grouped["key_column"] == label, "key"].eq(3).all()  # last
    # The folded entry's weight is the sum of what its columns got, query by query.
    cls_full, cls_folded = by_cell(full).loc[:, CLS, :], by_cell(grouped).loc[:, CLS, :]
    for head in (0, 1):
        expected = sum(cls_full[(head, c)] for c in folded)
        assert cls_folded[(head, label)] == pytest.approx(expected)
    # Folded queries are averaged over all their tokens.
    tokens = [t for t, s in SOURCES.items() if s in folded]
    keys = frame[frame["query_token"].isin(tokens) & (frame["head"] == 0)]
    age_or_cls = keys[keys["key_token"] == CLS]["weight"].mean()
    assert by_cell(grouped)[(0, label, CLS)] == pytest.approx(age_or_cls)


def test_one_column_left_over_is_shown_not_folded():
    grouped = attention_by_column(attention(), SOURCES, top=3)
    assert not grouped["key_column"].str.startswith("other").any()
    assert grouped["key_column"].nunique() == 5


def test_tokens_without_a_source_are_their_own_entry():
    router = attention().assign(query_token="[row]")
    router = router[router["query"] == 0]
    grouped = attention_by_column(router, {}, top=12)
    assert set(grouped["key_column"]) == set(TOKENS)
    assert set(grouped["query_column"]) == {"[row]"}


def test_top_must_be_positive():
    with pytest.raises(ValueError, match="at least 1"):
        attention_by_column(attention(), SOURCES, top=0)


def test_heads_wrap_to_fit_the_page():
    grouped = attention_by_column(attention(heads=4), SOURCES)
    spec = head_heatmaps(grouped).to_dict()
    panel = spec["spec"]["width"]
    assert spec["columns"] == heads_per_line(panel) < 4
    assert heads_per_line(10_000) == 1
