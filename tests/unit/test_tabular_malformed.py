"""Every file in the malformed corpus either loads (and prepares) or raises DataError at
the expected stage with a message that says what is wrong and what to do."""

import gzip
import re

import numpy as np
import pytest

from sattn_dash.errors import DataError
from sattn_dash.tabular import ReadLimits, infer_schema, prepare, read_info, read_table
from tests.malformed.make_corpus import CASES, FILES, Case, write_wide

STAGES = ("read", "schema", "prepare")


def run_stages(path, case: Case):
    """read_table -> infer_schema -> prepare, noting how far it got."""
    reached = {"stage": "read"}
    df = read_table(path, limits=ReadLimits(**case.limits))
    reached["stage"] = "schema"
    schema = infer_schema(df, targets=case.target)
    reached["stage"] = "prepare"
    prepared = prepare(df, schema, seed=0) if case.target else None
    return df, schema, prepared, reached


def assert_helpful(message: str, words) -> None:
    lowered = message.lower()
    for word in words:
        assert word.lower() in lowered, f"{word!r} not in: {message}"
    sentences = [s for s in re.split(r"(?<=[.?!])\s+", message.strip()) if s]
    assert len(sentences) >= 2, f"says what is wrong but not what to do: {message}"


def test_the_committed_corpus_is_exactly_the_cases():
    on_disk = {p.name for p in FILES.iterdir()}
    assert on_disk == {c.file for c in CASES}


@pytest.mark.parametrize("case", CASES, ids=[c.file for c in CASES])
def test_malformed_file(case: Case):
    path = FILES / case.file
    if case.outcome == "loads":
        df, schema, prepared, _ = run_stages(path, case)
        assert len(df) > 0 and df.shape[1] > 0
        assert all(isinstance(c, str) for c in df.columns) and df.columns.is_unique
        if case.check:
            case.check(df, schema)
        if prepared is not None:
            for split in ("train", "val", "test"):
                X, y = prepared.split(split)
                assert X.dtypes.eq(np.float32).all() and len(X) > 0
                assert np.isfinite(X.to_numpy()).all()
                assert all(len(v) == len(X) for v in y.values())
        return
    reached = {}
    with pytest.raises(DataError) as raised:
        _, _, _, reached = run_stages(path, case)
    stage = _stage_of(raised.traceback)
    assert stage == case.outcome, f"raised at {stage}, expected {case.outcome}: {raised.value}"
    assert_helpful(str(raised.value), case.says)
    assert not reached


def _stage_of(traceback) -> str:
    """Which public function the DataError came out of."""
    functions = [entry.name for entry in traceback]
    for stage, function in zip(STAGES, ("read_table", "infer_schema", "prepare"), strict=True):
        if function in functions:
            return stage
    return "unknown"


def test_ten_thousand_columns_load_and_prepare_by_default(tmp_path):
    """The header alone (about 130 KB) is longer than the format sniffer's first sample."""
    path = write_wide(tmp_path, columns=10_000, rows=40, prefix="feature_")
    assert len(path.read_text().split("\n", 1)[0]) > 64 * 1024
    gz = tmp_path / "wide.csv.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    for source in (path, gz):
        df = read_table(source)
        assert df.shape == (40, 10_000) and df.columns[-1] == "target"
        assert read_info(df).delimiter == ","
    schema = infer_schema(df, targets="target")
    assert len(schema.feature_columns) == 9_999
    assert prepare(df, schema, seed=0).X_train.shape[1] == 9_999


def test_more_columns_than_the_limit_are_refused_with_the_way_out(tmp_path):
    path = write_wide(tmp_path, columns=25_000)
    with pytest.raises(DataError) as raised:
        read_table(path)
    assert_helpful(str(raised.value), ("25,000 columns", "limit of 20,000", "max_columns"))
    assert read_table(path, limits=ReadLimits(max_columns=30_000)).shape == (3, 25_000)


def test_a_wide_table_within_the_limit_prepares(tmp_path):
    path = write_wide(tmp_path, columns=600, rows=40)
    df = read_table(path)
    prepared = prepare(df, infer_schema(df, targets="target"))
    assert prepared.X_train.shape[1] == 599
