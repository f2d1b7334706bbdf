"""Evidence that can fail: near-uniform weights name no branch, an importance that ranks
nothing says so, and near-uniform attention never reads as agreement."""

from __future__ import annotations

import pandas as pd
import pytest

from sattn_dash.analysis import faithfulness, no_branch_preferred, tells_branches_apart


@pytest.mark.parametrize(
    ("weights", "even"),
    [
        ([0.31, 0.34, 0.35], True),  # what the issue saw, max/min 1.13
        ([0.25, 0.25, 0.25, 0.25], True),
        ([0.2, 0.3, 0.5], False),
        ([0.9, 0.1], False),
        ([0.0, 0.5, 0.5], False),  # sparsemax zeroed a branch: that is a choice
        ([1.0], False),
    ],
)
def test_no_branch_preferred(weights, even):
    assert no_branch_preferred(weights) is even


def frame(values):
    return pd.DataFrame({"branch": [f"b{i}" for i in range(len(values))], "importance": values})


def test_equal_numbers_rank_nothing():
    assert not tells_branches_apart(frame([0.2857, 0.2857, 0.2857]))
    assert tells_branches_apart(frame([0.30, 0.01, 0.0]))
    assert not tells_branches_apart(frame([0.4]))


def test_near_uniform_attention_is_not_read_as_agreement():
    verdict = faithfulness(frame([0.31, 0.34, 0.35]), frame([0.0, 0.05, 0.4])).iloc[0]
    assert verdict["agreement"] == "none"
    assert "nearly uniform" in verdict["verdict"]
