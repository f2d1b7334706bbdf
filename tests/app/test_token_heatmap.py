"""The Token attention page on a table with a many-level one-hot column: the per-row
heatmap shows source columns, the top N of them, the rest folded, sized to the page."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sattn_dash.charts.attention import HEAD_TITLE, heads_per_line
from sattn_dash.ui.shared import pages
from tests.app.conftest import APP, TIMEOUT
from tests.app.helpers import chart_data, chart_titled, no_exception

ROLES = [f"Role {i}" for i in range(30)]
NUMBERS = 12


def many_levels_table(rows: int = 300, seed: int = 0) -> pd.DataFrame:
    """A 30-level JobRole (one-hot below), a department and 12 numbers; who leaves
    depends on the role."""
    rng = np.random.default_rng(seed)
    role = rng.integers(0, len(ROLES), rows)
    frame = pd.DataFrame({f"x{i}": rng.normal(size=rows) for i in range(NUMBERS)})
    frame["JobRole"] = np.asarray(ROLES, dtype=object)[role]
    frame["Department"] = rng.choice(["Sales", "R&D", "HR"], rows)
    frame["left"] = np.where(role % 2 == 0, "yes", "no")
    return frame


@pytest.fixture(scope="module")
def one_hot_workspace(tmp_path_factory):
    """A workspace with one feature-attention run on ``many_levels_table``, every
    categorical one-hot encoded."""
    from sattn_dash.tabular import infer_schema
    from sattn_dash.training import RunStore, TrainingConfig, TrainingSession

    path = tmp_path_factory.mktemp("one_hot") / "workspace"
    df = many_levels_table()
    schema = infer_schema(df, targets=["left"])
    config = TrainingConfig(epochs=1, seed=0, many_levels="one_hot")
    session = TrainingSession(df, schema, "feature_attention", config, RunStore(path))
    status = session.start().wait(600)
    assert status.state == "finished", status
    return path, session.run_id, len(session.prepared.feature_names)


def test_the_heatmap_shows_the_top_source_columns_and_folds_the_rest(
    one_hot_workspace, monkeypatch
):
    from streamlit.testing.v1 import AppTest

    path, run_id, features = one_hot_workspace
    monkeypatch.setenv("SATTN_DASH_WORKSPACE", str(path))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    at.switch_page(pages.ATTENTION)
    at.query_params["run"] = run_id
    at.run()
    no_exception(at)
    assert features >= len(ROLES) + NUMBERS  # JobRole really is one token per role
    chart = chart_titled(at, HEAD_TITLE)
    heads = chart_data(chart)
    keys = set(heads["key_column"])
    # 14 source columns: the 12 most attended, [CLS], and the other 2 folded into one.
    assert len(keys) == 12 + 2
    assert "[CLS]" in keys and "other (2 columns)" in keys
    assert not any(k.startswith("JobRole_") for k in keys)
    assert set(heads["query_column"]) == keys
    sums = heads.groupby(["head", "query_column"])["weight"].sum()
    assert np.allclose(sums, 1.0, atol=1e-4)
    # Panels sit side by side only as far as they fit the page.
    panel = chart["spec"]["spec"]["width"]
    assert chart["spec"]["columns"] == min(heads["head"].nunique(), heads_per_line(panel))
    assert panel <= 680

    at.number_input(key=f"attention.rows.top_columns.{heads['layer'].iloc[0]}").set_value(3).run()
    no_exception(at)
    heads = chart_data(chart_titled(at, HEAD_TITLE))
    assert "other (11 columns)" in set(heads["key_column"])
    assert heads["key_column"].nunique() == 3 + 2
    tokens = heads[heads["query_column"] == "[CLS]"].groupby("key_column")["key_tokens"].first()
    assert tokens.sum() == 1 + features  # every token is in exactly one entry
