"""Test-split metrics against values worked out by hand."""

import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from sattn_dash.training.evaluation import classification_metrics, regression_metrics


def test_binary_metrics_by_hand():
    y = np.array([0, 0, 1, 1])
    p = np.array([0.1, 0.6, 0.4, 0.9])  # probability of class 1
    m = classification_metrics(y, p)
    assert m["n"] == 4
    assert m["accuracy"] == 0.5  # predictions 0, 1, 0, 1
    assert m["balanced_accuracy"] == 0.5
    assert m["roc_auc"] == 0.75  # 3 of the 4 (positive, negative) pairs ordered right
    expected_loss = -np.mean(np.log([0.9, 0.4, 0.4, 0.9]))
    assert m["log_loss"] == pytest.approx(expected_loss)
    assert m["confusion_matrix"] == [[1, 1], [1, 1]]


def test_binary_probabilities_as_a_column():
    y = np.array([0, 1, 1])
    m1 = classification_metrics(y, np.array([[0.2], [0.7], [0.9]]))
    m2 = classification_metrics(y, np.array([0.2, 0.7, 0.9]))
    assert m1 == m2 and m1["accuracy"] == 1.0 and m1["roc_auc"] == 1.0


def test_multiclass_one_vs_rest_by_hand():
    y = np.array([0, 1, 2, 2])
    p = np.array(
        [
            [0.8, 0.1, 0.1],
            [0.2, 0.5, 0.3],
            [0.1, 0.6, 0.3],  # wrong: class 1 wins
            [0.1, 0.2, 0.7],
        ]
    )
    m = classification_metrics(y, p)
    assert m["accuracy"] == 0.75
    assert m["balanced_accuracy"] == pytest.approx((1 + 1 + 0.5) / 3)
    # One-vs-rest AUC per class: class 0 -> 1, class 1 -> 2/3 (0.5 beats 0.1 and 0.2,
    # loses to 0.6), class 2 -> 3.5/4 (0.3 ties 0.3); macro mean:
    assert m["roc_auc"] == pytest.approx((1 + 2 / 3 + 0.875) / 3)
    assert m["roc_auc"] == pytest.approx(roc_auc_score(y, p, multi_class="ovr"))
    assert m["confusion_matrix"] == [[1, 0, 0], [0, 1, 0], [0, 1, 1]]
    assert m["log_loss"] == pytest.approx(-np.mean(np.log([0.8, 0.5, 0.3, 0.7])))


def test_a_class_missing_from_the_split_is_handled():
    # Class 2 exists in the model but not in this split: AUC over the classes present.
    y = np.array([0, 0, 1, 1])
    p = np.array([[0.7, 0.2, 0.1], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.1, 0.8, 0.1]])
    m = classification_metrics(y, p)
    assert m["accuracy"] == 1.0
    assert m["roc_auc"] == 1.0
    assert len(m["confusion_matrix"]) == 3  # every class of the model has a row
    assert math.isfinite(m["log_loss"])


def test_one_class_only_gives_undefined_auc_not_an_error():
    m = classification_metrics(np.array([1, 1, 1]), np.array([0.9, 0.8, 0.4]))
    assert math.isnan(m["roc_auc"])
    assert m["accuracy"] == pytest.approx(2 / 3)


def test_regression_metrics_by_hand():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    pred = np.array([1.0, 2.0, 3.0, 6.0])
    m = regression_metrics(y, pred)
    assert m["rmse"] == pytest.approx(1.0)  # sqrt(4 / 4)
    assert m["mae"] == pytest.approx(0.5)
    assert m["r2"] == pytest.approx(1 - 4 / 5)


def test_not_finite_predictions_give_no_metrics():
    assert "rmse" not in regression_metrics(np.ones(3), np.array([1.0, np.nan, 1.0]))
    assert "accuracy" not in classification_metrics(np.ones(2), np.array([np.nan, 0.5]))
