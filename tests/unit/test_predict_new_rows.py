"""Scoring new rows with a stored run (``analysis.new_rows``): the same numbers as the
run's own test predictions, every reader ``train`` has, streaming, ids, intervals,
metrics, a clear ``DataError`` for each malformed file, and ``sattn-dash predict``."""

from __future__ import annotations

import gzip
import io
import json

import numpy as np
import pandas as pd
import pytest

from sattn_dash.analysis.new_rows.predictor import HEAD_ROWS, Predictor, score_table
from sattn_dash.errors import DataError
from tests.unit.conftest import make_modeling_table

TARGETS = ["kind", "amount"]


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return make_modeling_table(rows=160).drop(columns=["label"])


@pytest.fixture(scope="module")
def run(two_target_run):
    """A run with a class target and a number target (``tests/conftest.py``)."""
    return two_target_run


@pytest.fixture(scope="module")
def predictor(run) -> Predictor:
    return Predictor.from_run(run)


@pytest.fixture(scope="module")
def new_rows(table) -> pd.DataFrame:
    """Unseen rows: new categories, gaps, an id, an extra column, no targets."""
    rows = make_modeling_table(rows=50, seed=7).drop(columns=["label", *TARGETS])
    rows.loc[0, "colour"] = "ultraviolet"  # never seen in training
    rows.loc[1, "city"] = "atlantis"
    rows.loc[2, "x0"] = np.nan
    rows.insert(0, "customer", [f"c{i:03d}" for i in range(len(rows))])
    rows["notes"] = "ignored"
    return rows


def test_scores_match_the_runs_stored_test_predictions(run, predictor, table):
    stored = run.predictions
    rows = table.loc[stored["row"]]
    scored = predictor.score(rows)
    assert list(scored["row"]) == list(range(len(rows)))
    probabilities = [c for c in stored if c.startswith("kind_proba_")]
    np.testing.assert_allclose(scored[probabilities], stored[probabilities], atol=1e-5)
    np.testing.assert_allclose(scored["amount_pred"], stored["amount_pred"], rtol=1e-5)
    assert (scored["kind_pred"] == stored["kind_pred"]).all()
    width = predictor.half_widths["amount"]
    assert 0 < width < np.inf
    np.testing.assert_allclose(scored["amount_upper"] - scored["amount_lower"], 2 * width)
    assert list(scored.columns[:6]) == [
        "row", "kind_pred", "kind_proba_a", "kind_proba_b", "kind_proba_c", "amount_pred",
    ]  # fmt: skip


def test_outputs_are_exactly_those_of_keras_predict(predictor, new_rows):
    """``predict_outputs`` slices the rows itself (``predict_on_batch``) to skip the
    tf.data pipeline of ``model.predict``: the numbers must not move by one bit, over
    several slices and a short last one."""
    from sattn_dash.modeling import head_name
    from sattn_dash.training.evaluation import PREDICT_BATCH, predict_outputs

    rows = new_rows.sample(2 * PREDICT_BATCH + 5, replace=True, random_state=0)
    X = predictor.prepared.transform(rows).to_numpy(dtype=np.float32)
    ours = predict_outputs(predictor.model, X, TARGETS)
    theirs = predictor.model.predict(X, batch_size=PREDICT_BATCH, verbose=0)
    for target in TARGETS:
        np.testing.assert_array_equal(ours[target], np.asarray(theirs[head_name(target)]))


def test_unseen_values_missing_values_and_extra_columns(predictor, new_rows):
    scored = predictor.score(new_rows, keep="customer")
    assert list(scored["customer"]) == list(new_rows["customer"])
    assert "notes" not in scored and len(scored) == len(new_rows)
    probabilities = scored.filter(like="kind_proba_").to_numpy()
    assert np.isfinite(probabilities).all() and np.allclose(probabilities.sum(1), 1, atol=1e-5)
    assert np.isfinite(scored["amount_pred"]).all()


def test_text_in_a_number_column_is_read_as_missing(predictor, new_rows):
    """Wrong types are handled as training handles them: a value that is not a number
    is missing, so it scores exactly as an empty cell does."""
    typo = new_rows.astype({"x1": object})
    typo.loc[5, "x1"] = "twelve"
    empty = new_rows.copy()
    empty.loc[5, "x1"] = np.nan
    pd.testing.assert_frame_equal(predictor.score(typo), predictor.score(empty))


def test_missing_columns_are_named(predictor, new_rows):
    with pytest.raises(DataError, match=r"lacks 2 column\(s\).*x2, city"):
        predictor.score(new_rows.drop(columns=["x2", "city"]))
    with pytest.raises(DataError, match="no column 'account'"):
        predictor.score(new_rows, keep="account")


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".parquet", ".xlsx", ".json"])
def test_every_reader_and_both_outputs(tmp_path, predictor, new_rows, suffix):
    source = tmp_path / f"new{suffix}"
    if suffix == ".csv.gz":
        source.write_bytes(gzip.compress(new_rows.to_csv(index=False).encode()))
    elif suffix == ".parquet":
        new_rows.to_parquet(source)
    elif suffix == ".xlsx":
        new_rows.to_excel(source, index=False)
    elif suffix == ".json":
        new_rows.to_json(source, orient="records")
    else:
        new_rows.to_csv(source, index=False)
    want = predictor.score(new_rows, keep="customer")
    out = tmp_path / ("scored.parquet" if suffix == ".parquet" else "scored.csv")
    scored = score_table(predictor, str(source), out=out, keep="customer")
    got = pd.read_parquet(out) if out.suffix == ".parquet" else pd.read_csv(out)
    assert scored.rows == len(new_rows) and scored.out == out
    assert scored.streamed == (suffix == ".parquet")
    np.testing.assert_allclose(got["amount_pred"], want["amount_pred"], rtol=1e-5)
    assert list(got["customer"]) == list(want["customer"])
    assert len(scored.head) == HEAD_ROWS
    assert not list(tmp_path.glob(".*tmp*"))  # written aside, then renamed


def test_an_uploaded_file_object_scores_in_memory(predictor, new_rows):
    """What the Predictions page hands over: a file object with a name."""
    upload = io.BytesIO(new_rows.to_csv(index=False).encode())
    upload.name = "new.csv"
    scored = score_table(predictor, upload, keep="customer")
    assert len(scored.predictions) == len(new_rows) and not scored.streamed
    pd.testing.assert_frame_equal(scored.predictions, predictor.score(new_rows, keep="customer"))
    broken = io.BytesIO(b"PAR1 not really parquet")
    broken.name = "broken.parquet"
    with pytest.raises(DataError):
        score_table(predictor, broken)


def test_a_folder_streams_in_batches_with_progress_and_metrics(tmp_path, predictor, table):
    folder = tmp_path / "parts"
    folder.mkdir()
    for i, start in enumerate((0, 60, 110)):
        part = table.iloc[start : start + (60 if start == 0 else 50)]
        part.to_parquet(folder / f"part-{i}.parquet")
    seen = []
    out = io.StringIO()
    scored = score_table(
        predictor, str(folder), out=out, progress=lambda n, t: seen.append((n, t)), batch_rows=25
    )
    assert seen[-1] == (len(table), len(table)) and len(seen) >= 3
    printed = pd.read_csv(io.StringIO(out.getvalue()))
    assert list(printed["row"]) == list(range(len(table)))
    np.testing.assert_allclose(
        printed["amount_pred"], predictor.score(table)["amount_pred"], rtol=1e-5
    )
    assert set(scored.metrics) == set(TARGETS)
    assert scored.metrics["amount"]["n"] == len(table)
    assert 0 <= scored.metrics["kind"]["accuracy"] <= 1


def test_malformed_files_say_what_is_wrong(tmp_path, predictor, new_rows):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError):
        score_table(predictor, str(empty))
    damaged = tmp_path / "damaged.parquet"
    new_rows.to_parquet(damaged)
    damaged.write_bytes(damaged.read_bytes()[: damaged.stat().st_size // 2])
    with pytest.raises(DataError, match="damaged.parquet"):
        score_table(predictor, str(damaged))
    header_only = tmp_path / "header.parquet"
    new_rows.iloc[:0].to_parquet(header_only)
    with pytest.raises(DataError, match="no rows"):
        score_table(predictor, str(header_only))
    lacking = tmp_path / "lacking.csv"
    new_rows.drop(columns=["member"]).to_csv(lacking, index=False)
    with pytest.raises(DataError, match="member"):
        score_table(predictor, str(lacking), out=tmp_path / "never.csv")
    assert not (tmp_path / "never.csv").exists()
    with pytest.raises(DataError, match=r"\.csv or \.parquet"):
        score_table(predictor, str(lacking), out=tmp_path / "scored.xlsx")


# --- the command line: sattn-dash predict ----------------------------------------------


def _cli(capsys, *argv):
    from sattn_dash.cli import main

    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_predict_to_stdout_a_file_and_json(capsys, tmp_path, run, predictor, new_rows):
    workspace = run.path.parents[1]
    source = tmp_path / "new.csv"
    new_rows.to_csv(source, index=False)
    code, out, err = _cli(capsys, "predict", run.run_id, "--data", source, "--keep", "customer",
                          "--workspace", workspace)  # fmt: skip
    assert code == 0, err
    printed = pd.read_csv(io.StringIO(out))
    want = predictor.score(new_rows, keep="customer")
    assert list(printed.columns) == list(want.columns)
    np.testing.assert_allclose(printed["amount_pred"], want["amount_pred"], rtol=1e-5)
    assert "scored 50 / 50 rows" in err and "scored 50 rows" in err
    out_file = tmp_path / "scored.parquet"
    code, out, err = _cli(capsys, "predict", run.run_id, "--data", source, "--out", out_file,
                          "--workspace", workspace, "--json")  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    assert data["rows"] == 50 and data["out"] == str(out_file) and "predictions" not in data
    assert len(pd.read_parquet(out_file)) == 50
    code, out, _ = _cli(capsys, "predict", run.run_id, "--data", source, "--json",
                        "--workspace", workspace)  # fmt: skip
    assert len(json.loads(out)["predictions"]) == 50


def test_cli_predict_user_errors_exit_2_with_one_line(capsys, tmp_path, run, new_rows):
    workspace = run.path.parents[1]
    lacking = tmp_path / "lacking.csv"
    new_rows.drop(columns=["x3"]).to_csv(lacking, index=False)
    code, out, err = _cli(
        capsys, "predict", run.run_id, "--data", lacking, "--workspace", workspace
    )
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "x3" in err
    code, _, err = _cli(capsys, "predict", "20990101-000000-abcdef", "--data", lacking,
                        "--workspace", workspace)  # fmt: skip
    assert code == 2 and err.startswith("error:")


def test_cli_report_and_export_refuse_bad_outputs(capsys, tmp_path, run):
    workspace = run.path.parents[1]
    code, _, err = _cli(capsys, "report", run.run_id, "--out", tmp_path / "run.pdf",
                        "--workspace", workspace)  # fmt: skip
    assert code == 2 and ".html" in err
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "x").write_text("x")
    code, _, err = _cli(capsys, "export", run.run_id, "--format", "mlflow", "--out",
                        tmp_path / "taken", "--workspace", workspace)  # fmt: skip
    assert code == 2 and "already exists" in err
