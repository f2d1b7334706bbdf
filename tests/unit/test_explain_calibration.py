"""Calibration and prediction intervals on tasks whose probabilities are known."""

import keras
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import precision_score, recall_score

from sattn_dash.analysis import (
    conformal_intervals,
    expected_calibration_error,
    reliability,
    threshold_table,
)
from sattn_dash.analysis.calibration.calibration import conformal_half_width, confusion_at
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
from sattn_dash.training.evaluation import predict_outputs


def numpy_ece(y, p, bins=10):
    """The reference: equal-width bins on the probability of class 1, (lo, hi] with the
    first bin closed, weighted |observed - mean predicted|."""
    edges = np.linspace(0, 1, bins + 1)
    total = 0.0
    for b in range(bins):
        lo, hi = edges[b], edges[b + 1]
        inside = (p > lo) & (p <= hi) if b else (p >= lo) & (p <= hi)
        if inside.any():
            total += inside.mean() * abs(y[inside].mean() - p[inside].mean())
    return total


@pytest.mark.parametrize("bend", [1.0, 2.0])
def test_ece_matches_a_numpy_reference_on_known_probabilities(bend):
    rng = np.random.default_rng(0)
    p = rng.uniform(size=20_000)
    y = (rng.uniform(size=p.size) < p**bend).astype(int)  # truth: P(y = 1) = p ** bend
    table = reliability(y, p, bins=10)
    ece = expected_calibration_error(table)
    assert ece == pytest.approx(numpy_ece(y, p), abs=1e-12)
    assert table["rows"].sum() == p.size
    expected = 0.0 if bend == 1 else 1 / 6  # E|p - p^2| for p ~ U(0, 1)
    assert ece == pytest.approx(expected, abs=0.015)


def test_several_classes_use_the_top_class_and_its_accuracy():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(5000, 3)) * 2
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    y = np.array([rng.choice(3, p=row) for row in p])  # calibrated by construction
    table = reliability(y, p, bins=10)
    assert table["mean_predicted"].min() >= 1 / 3 - 1e-9
    assert expected_calibration_error(table) < 0.03


def test_thresholds_follow_scikit_learn():
    rng = np.random.default_rng(2)
    p = rng.uniform(size=500)
    y = rng.uniform(size=500) < p
    table = threshold_table(y, p).set_index("threshold")
    for t in (0.2, 0.5, 0.8):
        row = table.loc[t]
        predicted = p >= t
        assert row["precision"] == pytest.approx(precision_score(y, predicted))
        assert row["recall"] == pytest.approx(recall_score(y, predicted))
        assert row[["tp", "fp", "fn", "tn"]].sum() == 500
    assert np.isnan(table.loc[1.0, "precision"]) or table.loc[1.0, "tp"] > 0
    cells = confusion_at(table.loc[0.5], "yes", "no")
    assert cells["rows"].sum() == 500
    assert (
        cells.set_index(["true", "predicted"]).loc[("yes", "yes"), "rows"] == table.loc[0.5, "tp"]
    )


def test_bad_settings_say_what_to_change():
    with pytest.raises(SpecError, match="bins"):
        reliability([0, 1], [0.2, 0.8], bins=1)
    with pytest.raises(SpecError, match="Coverage"):
        conformal_half_width([1.0], [1.0], coverage=90)
    assert conformal_half_width([1.0, 2.0], [1.0, 2.0], coverage=0.9) == np.inf


def _regression_table(rows, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 3))
    frame = pd.DataFrame(x, columns=["x0", "x1", "x2"])
    frame["y"] = 2 * x[:, 0] - x[:, 1] + rng.normal(scale=1.0 + 0.5 * np.abs(x[:, 2]), size=rows)
    return frame


def test_conformal_intervals_cover_the_stated_share_of_a_fresh_test_split():
    df = _regression_table(4000, seed=0)
    prepared = prepare(df, infer_schema(df, targets="y"), seed=0, test_size=0.1, val_size=0.3)
    spec = ModelSpec(
        name="regression",
        branches=(BranchSpec("mlp", inputs="all", blocks=(BlockSpec("dense", units=16),)),),
        combiner=CombinerSpec("concat"),
        heads=(HeadSpec("y"),),
        learning_rate=0.01,
    )
    keras.utils.set_random_seed(0)
    model = build_model(spec, prepared)
    X, y = prepared.split("train")
    model.fit(np.asarray(X, np.float32), {head_name("y"): y["y"]}, epochs=10, verbose=0)
    X_cal, y_cal = prepared.split("val")  # never fitted on: the calibration split
    fresh = _regression_table(6000, seed=1)
    predicted_cal = predict_outputs(model, X_cal, ["y"], once=True)["y"]
    predicted = predict_outputs(model, prepared.transform(fresh), ["y"], once=True)["y"]
    for coverage in (0.8, 0.9):
        frame = conformal_intervals(y_cal["y"], predicted_cal, predicted, fresh["y"], coverage)
        assert frame["covered"].mean() == pytest.approx(coverage, abs=0.03)
        assert frame["calibration_rows"].iloc[0] == 1200
        assert (frame["upper"] - frame["lower"]).round(6).nunique() == 1


def test_the_full_confusion_matrix_counts_every_class_pair_like_scikit_learn():
    from sklearn.metrics import confusion_matrix as sk_confusion

    from sattn_dash.analysis.calibration.calibration import class_confusion

    rng = np.random.default_rng(4)
    y = rng.integers(0, 4, size=300)
    p = rng.dirichlet(np.ones(4), size=300)
    labels = ["a", "b", "c", "d"]
    frame = class_confusion(y, p, labels)
    assert list(frame.columns) == ["true", "predicted", "rows", "share"]
    assert len(frame) == 16  # every pair, zeros included
    counts = frame.pivot(index="true", columns="predicted", values="rows").loc[labels, labels]
    np.testing.assert_array_equal(counts.to_numpy(), sk_confusion(y, p.argmax(axis=1)))
    shares = frame.groupby("true")["share"].sum()
    np.testing.assert_allclose(shares.to_numpy(), 1.0)  # a share of its true class's rows
