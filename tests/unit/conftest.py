"""Shared fixtures for the library tests. Each part adds its own below; keep others'."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


# --- training (owner: training engineer) -------------------------------------------------
import json  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402


def make_training_table(rows: int = 400, seed: int = 0) -> pd.DataFrame:
    """A small table whose answers are known: ``label`` is 'yes' when x0 + x1 > 0 (a model
    should learn it), ``amount`` is 3*x0 - 2*x2 + 10 (regression); x3 and ``colour`` are
    noise."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 4))
    frame = pd.DataFrame(x, columns=["x0", "x1", "x2", "x3"])
    frame["colour"] = rng.choice(["red", "green", "blue"], size=rows)
    frame["label"] = np.where(x[:, 0] + x[:, 1] > 0, "yes", "no")
    frame["amount"] = 3 * x[:, 0] - 2 * x[:, 2] + 10
    return frame


@pytest.fixture
def training_table() -> pd.DataFrame:
    return make_training_table()


@pytest.fixture
def training_csv(tmp_path, training_table):
    path = tmp_path / "table.csv"
    training_table.to_csv(path, index=False)
    return path


def cli_json(capsys, *argv):
    """Run the command line in-process: its exit code, the one JSON object it printed on
    stdout (``--json``), and its stderr."""
    from sattn_dash.cli import main

    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1, f"stdout must be one JSON object, got: {out!r}"
    return code, json.loads(lines[0]), err


# --- layers (owner: layers engineer) -----------------------------------------------------
@pytest.fixture
def reload_keras_model(tmp_path):
    """Save a model to ``.keras`` and load it back with no custom_objects, so the layers'
    registration is what makes loading work."""

    def reload(model, name="model.keras"):
        import keras

        path = tmp_path / name
        model.save(path)
        return keras.models.load_model(path)

    return reload


# --- modeling (owner: modeling engineer) -------------------------------------------------
MODELING_CASES = {
    "binary": ["label"],
    "multiclass": ["kind"],
    "regression": ["amount"],
    "two_targets": ["kind", "amount"],
}
MODELING_GROUPS = {"signal": ("x0", "x1"), "other": ("x2", "x3", "colour")}


def make_modeling_table(rows: int = 200, seed: int = 0) -> pd.DataFrame:
    """Every feature role a model meets (numeric, one-hot, integer-coded city, boolean)
    and three targets with known answers: ``label`` = x0 + x1 > 0, ``kind`` = which of
    x0, x1, x2 is largest, ``amount`` = 300 x0 - 200 x2 + 5000 (far from 0 on purpose:
    the regression head must rescale)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 4))
    frame = pd.DataFrame(x, columns=["x0", "x1", "x2", "x3"])
    frame["colour"] = rng.choice(["red", "green", "blue"], size=rows)
    frame["city"] = rng.choice([f"city_{i:02d}" for i in range(30)], size=rows)
    frame["member"] = rng.choice([True, False], size=rows)
    frame["label"] = np.where(x[:, 0] + x[:, 1] > 0, "yes", "no")
    frame["kind"] = np.array(["a", "b", "c"])[np.argmax(x[:, :3], axis=1)]
    frame["amount"] = 300 * x[:, 0] - 200 * x[:, 2] + 5000
    return frame


@pytest.fixture(scope="session")
def modeling_table() -> pd.DataFrame:
    return make_modeling_table()


@pytest.fixture(scope="session")
def modeling_data(modeling_table):
    """{case: PreparedData} for binary, multiclass, regression and two-target data."""
    from sattn_dash.tabular import infer_schema, prepare

    others = [t for targets in MODELING_CASES.values() for t in targets]
    data = {}
    for case, targets in MODELING_CASES.items():
        table = modeling_table.drop(columns=[t for t in others if t not in targets])
        schema = infer_schema(table, targets=targets, groups=MODELING_GROUPS)
        data[case] = prepare(table, schema, seed=0)
    return data
