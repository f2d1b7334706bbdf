"""``python -m sattn_dash show RUN --explain-rows N --json``: a tiny run trained through
the CLI, explained row by row, with the completeness check and calibration."""

import pytest

from sattn_dash.cli import main
from tests.unit.conftest import cli_json


@pytest.fixture
def trained(capsys, tmp_path, training_csv):
    ws = tmp_path / "ws"
    code, result, err = cli_json(
        capsys,
        *("train", "--data", training_csv, "--target", "label", "--preset", "ensemble"),
        *("--epochs", 2, "--batch-size", 32, "--workspace", ws, "--json"),
    )
    assert code == 0, err
    return result["run_id"], ws


def test_show_explains_rows_with_completeness_and_calibration(capsys, trained):
    run_id, ws = trained
    code, shown, err = cli_json(
        capsys, "show", run_id, "--explain-rows", 5, "--workspace", ws, "--json"
    )
    assert code == 0, err
    tables = shown["analysis"]["tables"]
    columns = tables["row_attributions"]
    rows = {r["row"] for r in columns}
    assert len(rows) == 5
    sources = {"x0", "x1", "x2", "x3", "colour", "amount"}
    assert {r["column"] for r in columns} == sources  # one-hot colour folded into its column
    assert len(columns) == 5 * len(sources)
    branches = tables["branch_attributions"]
    assert {r["row"] for r in branches} == rows
    assert {r["branch"] for r in branches} == {"linear", "nonlinear", "deep"}

    completeness = tables["completeness"]
    assert len(completeness) == 5 and {r["row"] for r in completeness} == rows
    for row in completeness:  # attributions add up to prediction minus baseline prediction
        assert row["complete"] is True
        assert row["difference"] == pytest.approx(
            row["prediction"] - row["baseline_prediction"], abs=1e-6
        )
        assert abs(row["column_sum"] - row["difference"]) <= row["tolerance"]
    assert {r["column"] for r in tables["explain_baseline"]} >= {"x0", "colour"}
    assert len(tables["row_agreement"]) == 5 and tables["agreement_summary"][0]["rows"] == 5

    reliability = tables["reliability/label"]
    assert sum(b["rows"] for b in reliability) == shown["card"]["rows"]["test"]
    assert all(0 <= b["mean_predicted"] <= 1 for b in reliability if b["rows"])
    thresholds = tables["thresholds/label"]
    assert {t["positive"] for t in thresholds} == {"yes"}
    assert all(0 <= t["accuracy"] <= 1 for t in thresholds)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--explain-rows", "-1"], "--explain-rows: expected a whole number of at least 1"),
        (["--explain-rows", "0"], "--explain-rows: expected a whole number of at least 1"),
        (["--explain-rows", "5", "--no-analysis"], "--no-analysis skips; drop one"),
    ],
)
def test_a_bad_explain_rows_is_a_one_line_user_error(capsys, tmp_path, argv, message):
    ws = tmp_path / "ws"
    code = main(["show", "20250101-120000-abcdef", *argv, "--workspace", str(ws)])
    out, err = capsys.readouterr()
    errors = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and out == ""
    assert len(errors) == 1 and message in errors[0] and "Traceback" not in err
    code, shown, _ = cli_json(
        capsys, "show", "20250101-120000-abcdef", *argv, "--workspace", ws, "--json"
    )
    assert code == 2 and message in shown["error"]
