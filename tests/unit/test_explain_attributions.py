"""Per-row attributions and their agreement with attention, on data whose answer is known.

The table's label depends on x0 and x1 only; four numeric columns, a one-hot colour and
an integer-coded city (an embedding input) are noise. A model trained on it must put
most of each row's attribution on x0 and x1, and every row's attributions must add
up to its prediction minus the baseline's. A model whose combiner weights a branch that
outputs nothing must be flagged by the row-by-row agreement check.
"""

import keras
import numpy as np
import pandas as pd
import pytest

from sattn_dash.analysis import (
    agreement_summary,
    baseline_frame,
    explain_inputs,
    explain_rows,
    row_agreement,
)
from sattn_dash.analysis.attributions.per_row import spearman_rows
from sattn_dash.errors import SpecError
from sattn_dash.modeling import (
    BlockSpec,
    BranchSpec,
    CombinerSpec,
    HeadSpec,
    ModelSpec,
    build_model,
    head_name,
)
from sattn_dash.tabular import infer_schema, prepare

SIGNAL = {"x0", "x1"}
GROUPS = {"signal": ("x0", "x1"), "noise": ("x2", "x3"), "dead": ("x4", "x5")}


def _table(rows=3000, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 6))
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(6)])
    frame["colour"] = rng.choice(["red", "green", "blue"], size=rows)
    frame["city"] = rng.choice([f"city_{i:02d}" for i in range(30)], size=rows)
    frame["label"] = np.where(x[:, 0] + x[:, 1] > 0, "yes", "no")
    return frame


@pytest.fixture(scope="module")
def prepared():
    df = _table()
    return prepare(df, infer_schema(df, targets="label", groups=GROUPS), seed=0)


def _dense(units):
    return BlockSpec("dense", units=units, activation="relu")


def _fit(spec, prepared, epochs=15):
    keras.utils.set_random_seed(0)
    model = build_model(spec, prepared)
    X, y = prepared.split("train")
    model.fit(
        np.asarray(X, np.float32), {head_name("label"): y["label"]}, epochs=epochs,
        batch_size=64, verbose=0,
    )  # fmt: skip
    return model


@pytest.fixture(scope="module")
def model(prepared):
    spec = ModelSpec(
        name="two views",
        branches=(
            BranchSpec("deep", inputs="all", blocks=(_dense(16), _dense(8))),
            BranchSpec("wide", inputs="all", blocks=(_dense(8),)),
        ),
        combiner=CombinerSpec("sparse_attention"),
        heads=(HeadSpec("label"),),
        learning_rate=0.01,
    )
    return _fit(spec, prepared)


@pytest.fixture(scope="module")
def explained(model, prepared):
    return explain_rows(model, prepared, split="val", max_rows=200, steps=32, seed=0)


def test_baseline_is_the_typical_training_row(prepared):
    frame = baseline_frame(prepared).set_index("feature")
    X = prepared.X_train
    assert frame.loc["x0", "value"] == pytest.approx(np.median(X["x0"]))
    assert frame.loc["x0", "rule"] == "training median"
    colour = frame[frame["column"] == "colour"]
    assert colour["value"].sum() == 1.0  # one whole category, a row that can exist
    assert set(colour["rule"]) == {"most frequent category"}
    assert frame.loc["city", "rule"] == "most frequent value"
    assert frame.loc["city", "value"] == X["city"].mode().iloc[0]


def test_the_two_columns_the_target_depends_on_dominate(explained, prepared):
    columns = explained["columns"]
    assert set(columns["column"]) == set(prepared.schema.feature_columns)  # folded
    share = columns[columns["column"].isin(SIGNAL)].groupby("row")["share"].sum()
    assert len(share) == 200
    # More than half of every row's attribution (in size) on x0 and x1, for >= 95% of rows
    assert (share > 0.5).mean() >= 0.95, share.describe()


def test_attributions_add_up_to_the_prediction_minus_the_baseline(explained):
    done = explained["completeness"]
    assert done["complete"].all(), done.loc[~done["complete"]]
    moved = done["difference"].abs() >= 0.05
    assert (done.loc[moved, "column_gap"] <= 0.01 * done.loc[moved, "difference"].abs()).all()
    assert (done.loc[moved, "branch_gap"] <= 0.01 * done.loc[moved, "difference"].abs()).all()
    sums = explained["columns"].groupby("row")["attribution"].sum()
    assert np.allclose(sums.loc[done["row"]].to_numpy(), done["column_sum"].to_numpy())


def test_category_codes_get_their_jump_and_the_path_stays_complete(model, prepared):
    X, _ = prepared.split("val")
    X = np.asarray(X, np.float32)[:5].copy()
    city = prepared.feature_names.index("city")
    X[:, city] = (X[:, city] % 29) + 1  # another known city on every row
    frames = explain_inputs(model, prepared, X, steps=32)
    assert frames["completeness"]["complete"].all()
    codes = frames["columns"][frames["columns"]["column"] == "city"]
    assert len(codes) == 5


def test_branches_are_attributed_and_attention_is_kept_per_row(explained):
    branches = explained["branches"]
    assert set(branches["branch"]) == {"deep", "wide"}
    attention = explained["attention"]
    assert set(attention["comparison"]) == {"combiner weights"}
    assert attention.groupby("row")["attention"].sum().round(5).eq(1.0).all()


def test_a_branch_weighted_most_but_contributing_nothing_is_flagged(prepared):
    spec = ModelSpec(
        name="misleading",
        branches=tuple(BranchSpec(g, inputs=(g,), blocks=(_dense(8),)) for g in GROUPS),
        combiner=CombinerSpec("sparse_attention"),
        heads=(HeadSpec("label"),),
        learning_rate=0.01,
    )
    model = _fit(spec, prepared, epochs=10)
    dense = model.get_layer("branch_dead_0_dense")
    dense.set_weights([np.zeros_like(w) for w in dense.get_weights()])  # outputs nothing
    model.get_layer("combiner").attention_weights.assign([1.0, 0.0, 3.0])  # yet weighted most
    frames = explain_rows(model, prepared, split="val", max_rows=100, steps=16)
    rows = row_agreement(frames["attention"], frames["columns"], frames["branches"])
    dead = frames["branches"][frames["branches"]["branch"] == "dead"]["attribution"]
    assert np.abs(dead).max() < 1e-6
    summary = agreement_summary(rows).set_index("comparison").loc["combiner weights"]
    assert summary["agreement"] == "none", summary["verdict"]
    assert summary["share_top_agrees"] == 0.0
    assert "does not rank like the attributions" in summary["verdict"]


def test_spearman_per_row_matches_scipy_and_flat_rows_are_undefined():
    from scipy.stats import spearmanr

    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(20, 5)), rng.normal(size=(20, 5))
    b[3] = b[3].round(0)  # ties
    expected = [spearmanr(x, y).statistic for x, y in zip(a, b, strict=True)]
    assert np.allclose(spearman_rows(a, b), expected)
    assert np.isnan(spearman_rows(np.ones((1, 5)), a[:1])).all()


def test_bad_settings_say_what_to_change(model, prepared):
    with pytest.raises(SpecError, match="steps"):
        explain_rows(model, prepared, steps=1)
    with pytest.raises(SpecError, match="at least 1"):
        explain_rows(model, prepared, max_rows=0)
