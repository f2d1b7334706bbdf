"""Analysis parts that need no model: distributions, entropy, faithfulness verdicts."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sattn_dash.analysis.export import to_csv_bytes
from sattn_dash.analysis.modules.agreement import compare_importances, faithfulness
from sattn_dash.analysis.modules.distribution import (
    entropy,
    module_distribution,
    softmax,
    sparsemax,
    spread,
    temperature_distributions,
)
from sattn_dash.analysis.scoring import score, worsening
from sattn_dash.errors import SpecError

ROOT = Path(__file__).resolve().parents[2]


def _frame(values, names=("a", "b", "c", "d")):
    return pd.DataFrame({"branch": list(names[: len(values)]), "importance": values})


def test_softmax_matches_definition_and_sums_to_one():
    w = np.array([1.0, 2.0, 0.5])
    expected = np.exp(w) / np.exp(w).sum()
    np.testing.assert_allclose(softmax(w), expected)


def test_sparsemax_is_the_simplex_projection():
    # A known case: [2, 1, -1] projects to [1, 0, 0]; [0.5, 0.3, 0.1] keeps all three.
    np.testing.assert_allclose(sparsemax(np.array([2.0, 1.0, -1.0])), [1.0, 0.0, 0.0])
    p = sparsemax(np.array([0.5, 0.3, 0.1]))
    np.testing.assert_allclose(p, [0.5333333, 0.3333333, 0.1333333], rtol=1e-6)
    rng = np.random.default_rng(0)
    for _ in range(20):
        z = rng.normal(size=5)
        q = sparsemax(z)
        assert q.min() >= 0 and q.sum() == pytest.approx(1.0)
        # The projection minimises the distance to z over the simplex: compare with a
        # perturbed point on the simplex.
        other = softmax(z)
        assert np.sum((q - z) ** 2) <= np.sum((other - z) ** 2) + 1e-12


def test_lower_temperature_sharpens_and_higher_flattens():
    w = [1.0, 1.5, 0.2]
    cold, warm, hot = (module_distribution(w, t) for t in (0.1, 1.0, 100.0))
    assert cold.max() > warm.max() > hot.max()
    assert entropy(cold) < entropy(warm) < entropy(hot)
    assert spread(hot)["normalized_entropy"] == pytest.approx(1.0, abs=1e-3)
    assert spread(hot)["effective_branches"] == pytest.approx(3.0, abs=1e-2)


def test_temperature_table_has_one_row_per_temperature_and_branch():
    table = temperature_distributions([0.0, 1.0], [0.5, 1.0, 2.0], ["x", "y"], "sparsemax")
    assert len(table) == 6
    sums = table.groupby("temperature")["probability"].sum()
    np.testing.assert_allclose(sums.to_numpy(), 1.0)
    # sparsemax at a low temperature puts every weight on one branch
    low = table[table["temperature"] == 0.5].set_index("branch")["probability"]
    assert low["y"] == 1.0 and low["x"] == 0.0


def test_bad_temperature_and_normalizer_say_what_to_do():
    with pytest.raises(SpecError, match="above 0"):
        module_distribution([1.0, 2.0], 0.0)
    with pytest.raises(SpecError, match="softmax"):
        module_distribution([1.0, 2.0], 1.0, "cosine")


def test_faithfulness_strong_agreement():
    out = faithfulness(_frame([0.6, 0.3, 0.1, 0.0]), _frame([0.2, 0.1, 0.05, 0.0]))
    row = out.iloc[0]
    assert row["spearman_rho"] == pytest.approx(1.0)
    assert row["agreement"] == "strong"
    assert "read the attention" in row["verdict"] and "'a'" in row["verdict"]


def test_noise_sized_ablation_drops_tie_instead_of_ranking_noise():
    # One branch carries the model; the others' drops are noise around zero. Ranking the
    # noise branches against the attention would call a faithful attention "partial".
    out = faithfulness(_frame([0.55, 0.15, 0.156, 0.14]), _frame([0.31, -0.0003, -0.0009, -0.0007]))
    row = out.iloc[0]
    assert row["agreement"] == "strong" and row["spearman_rho"] > 0.7


def test_faithfulness_disagreement_tells_user_not_to_trust_attention():
    out = faithfulness(_frame([0.6, 0.3, 0.1, 0.0]), _frame([0.0, 0.05, 0.1, 0.2]))
    row = out.iloc[0]
    assert row["spearman_rho"] == pytest.approx(-1.0)
    assert row["agreement"] == "none"
    assert "Do not read the attention" in row["verdict"]
    assert row["top_by_attention"] == "a" and row["top_by_ablation"] == "d"


def test_faithfulness_redundant_branches_are_undetermined():
    out = faithfulness(_frame([0.7, 0.2, 0.1]), _frame([0.001, 0.0, 0.002]))
    row = out.iloc[0]
    assert row["agreement"] == "undetermined" and np.isnan(row["spearman_rho"])
    assert "redundant" in row["verdict"]


def test_faithfulness_uniform_attention_is_not_importance():
    out = faithfulness(_frame([0.34, 0.33, 0.33]), _frame([0.3, 0.0, 0.01]))
    assert out.iloc[0]["agreement"] == "none"
    assert "nearly uniform" in out.iloc[0]["verdict"]


def test_compare_importances_ranks_each_measure():
    table = compare_importances(
        attention=_frame([0.1, 0.9]), ablation=_frame([0.5, 0.2]), permutation=_frame([1, 2])
    )
    assert list(table["attention_rank"]) == [2, 1]
    assert list(table["ablation_rank"]) == [1, 2]
    assert set(table.columns) >= {"permutation", "permutation_rank"}


def test_scores_and_worsening_point_the_right_way():
    y = np.array([0, 1, 1, 0])
    perfect = score("binary", y, np.array([0.1, 0.9, 0.8, 0.2]))
    assert perfect["accuracy"] == 1.0 and perfect["roc_auc"] == 1.0
    multi = score("multiclass", np.array([0, 1, 2]), np.eye(3))
    assert multi["accuracy"] == 1.0 and multi["roc_auc"] == 1.0
    assert "confusion_matrix" not in multi and "n" not in multi
    reg = score("regression", np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0]))
    assert reg["r2"] == 1.0 and reg["rmse"] == 0.0
    assert worsening("roc_auc", 0.9, 0.7) == pytest.approx(0.2)
    assert worsening("rmse", 1.0, 1.5) == pytest.approx(0.5)


def test_csv_export_round_trips():
    table = _frame([0.5, 0.25])
    data = to_csv_bytes(table)
    assert isinstance(data, bytes)
    back = pd.read_csv(__import__("io").BytesIO(data))
    pd.testing.assert_frame_equal(back, table)


def test_table_only_analysis_does_not_import_tensorflow():
    code = (
        "import sys, sattn_dash.analysis as a\n"
        "a.faithfulness, a.compare_importances, a.sklearn_baselines, a.baselines_report\n"
        "a.to_csv_bytes, a.temperature_distributions, a.format_report\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
