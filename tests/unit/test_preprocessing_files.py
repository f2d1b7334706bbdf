"""A run's preprocessing is stored in skops' format and loading it runs no code: a
planted pickle or a skops file naming a foreign callable is refused by name, and runs
saved as joblib pickles before keep loading, with a note once."""

from __future__ import annotations

import logging
import os
import pickle
import shutil
from pathlib import Path

import pytest
import skops.io
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import FunctionTransformer

from sattn_dash.errors import RunError
from sattn_dash.tabular import PreparedData, infer_schema, prepare
from sattn_dash.tabular.prepared import (
    LEGACY_TRANSFORMER_FILE,
    TRANSFORMER_FILE,
    load_transformer,
)
from sattn_dash.training import RunStore
from tests.unit.conftest import make_training_table

OLD = Path(__file__).resolve().parents[1] / "fixtures" / "workspace_v1"
RUN_ID = "20261206-175959-84c2c6"


@pytest.fixture(scope="module")
def prepared():
    df = make_training_table(120)
    return prepare(df, infer_schema(df, targets=["label"]), seed=0)


class Planted:
    """What an attacker writes: unpickling it runs a command."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_the_transformer_round_trips_through_skops(tmp_path, prepared):
    prepared.save(tmp_path / "prepared")
    assert (tmp_path / "prepared" / TRANSFORMER_FILE).read_bytes()[:2] == b"PK"  # a zip
    again = PreparedData.load(tmp_path / "prepared")
    frame = make_training_table(20).drop(columns=["label"])
    assert again.transform(frame).equals(prepared.transform(frame))


def test_a_planted_pickle_is_refused_without_running(tmp_path, prepared):
    folder = tmp_path / "run" / "prepared"
    prepared.save(folder)
    (folder / TRANSFORMER_FILE).unlink()
    marker = tmp_path / "pwned"
    with open(folder / LEGACY_TRANSFORMER_FILE, "wb") as handle:
        pickle.dump(Planted(marker), handle)
    with pytest.raises(RunError, match=r"transformer.joblib asks to run posix.system.*delete"):
        load_transformer(folder / TRANSFORMER_FILE)
    assert not marker.exists()


def test_a_skops_file_naming_a_foreign_function_is_refused(tmp_path):
    foreign = ColumnTransformer([("x", FunctionTransformer(shutil.rmtree), ["a"])])
    (tmp_path / TRANSFORMER_FILE).write_bytes(skops.io.dumps(foreign))
    with pytest.raises(RunError, match=r"shutil.rmtree.* no preprocessing sattn-dash writes"):
        load_transformer(tmp_path / TRANSFORMER_FILE)


def test_an_old_run_loads_its_pickle_once_then_skops(tmp_path, caplog):
    workspace = tmp_path / "ws"
    shutil.copytree(OLD, workspace)
    folder = workspace / "runs" / RUN_ID / "prepared"
    assert (folder / LEGACY_TRANSFORMER_FILE).exists()
    store = RunStore(workspace)
    with caplog.at_level(logging.WARNING, logger="sattn_dash.tabular.prepared"):
        first = store.load(RUN_ID).prepared
    notes = [r.getMessage() for r in caplog.records if "pickle" in r.getMessage()]
    assert len(notes) == 1 and "will not come back" in notes[0]
    assert (folder / TRANSFORMER_FILE).exists() and not (folder / LEGACY_TRANSFORMER_FILE).exists()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="sattn_dash.tabular.prepared"):
        second = store.load(RUN_ID).prepared
    assert not [r for r in caplog.records if "pickle" in r.getMessage()]
    assert second.feature_names == first.feature_names
