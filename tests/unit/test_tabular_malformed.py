"""Every file in the malformed corpus either loads (and prepares) or raises DataError at
the expected stage with a message that says what is wrong and what to do."""

import re

import numpy as np
import pytest

from sattn_dash.errors import DataError
from sattn_dash.tabular import ReadLimits, infer_schema, prepare, read_table
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


def test_five_thousand_columns_are_refused_by_default_and_read_when_allowed(tmp_path):
    path = write_wide(tmp_path, columns=5000)
    with pytest.raises(DataError) as raised:
        read_table(path)
    assert_helpful(str(raised.value), ("5,000 columns", "limit", "max_columns"))

    df = read_table(path, limits=ReadLimits(max_columns=6000))
    assert df.shape == (3, 5000)


def test_a_wide_table_within_the_limit_prepares(tmp_path):
    path = write_wide(tmp_path, columns=600, rows=40)
    df = read_table(path)
    prepared = prepare(df, infer_schema(df, targets="target"))
    assert prepared.X_train.shape[1] == 599
