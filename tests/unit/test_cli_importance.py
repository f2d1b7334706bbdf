"""One answer for one question: a run's module importance is the same number in
``train --json``, ``show --json`` (its summary and its analysis table) and the function
the Module importance page calls, for every combiner."""

import json

import pytest

from sattn_dash.analysis.reports.runs import module_importance_for_run
from sattn_dash.cli import main
from sattn_dash.training import RunStore


def _json(capsys, *argv) -> dict:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


# sparse_dense is the combiner whose importance train --json lost; the baselines without
# learned weights (concat, mean) have none, and say so in the same way everywhere.
WEIGHED = ("sparse_attention", "sparse_dense")


@pytest.mark.parametrize("combiner", [*WEIGHED, "concat", "mean"])
def test_train_show_and_the_page_agree_on_module_importance(
    capsys, tmp_path, training_csv, combiner
):
    ws = str(tmp_path / "ws")
    common = ["--workspace", ws, "--json"]
    trained = _json(
        capsys,
        "train",
        "--data",
        str(training_csv),
        "--target",
        "label",
        "--preset",
        "ensemble",
        "--combiner",
        combiner,
        "--epochs",
        "2",
        "--seed",
        "3",
        *common,
    )
    analysis = [] if combiner in WEIGHED else ["--no-analysis"]
    shown = _json(capsys, "show", trained["run_id"], *analysis, *common)
    run = RunStore(ws).load(trained["run_id"])
    assert shown["module_importance"] == trained["module_importance"] == run.module_importance
    if combiner not in WEIGHED:
        assert trained["module_importance"] is None
        return
    importance = trained["module_importance"]
    assert set(importance) == {"linear", "nonlinear", "deep"}
    # Probabilities, or mean routing weights of top-k rows that each sum to 1.
    assert sum(importance.values()) == pytest.approx(1.0, abs=1e-5)
    table = {r["branch"]: r["importance"] for r in shown["analysis"]["tables"]["module_importance"]}
    page = module_importance_for_run(run)
    assert table == importance
    assert dict(zip(page["branch"], page["importance"], strict=True)) == pytest.approx(importance)
