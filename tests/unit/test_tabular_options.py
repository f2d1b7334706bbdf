"""prepare's encoding options: numeric scaling (standard, robust, quantile) with
clipping, many-level categoricals as codes or one-hot; fitted on the training split
only, saved with the prepared data, and absent from old files means the old behaviour."""

import json

import numpy as np
import pandas as pd
import pytest

from sattn_dash.errors import DataError, UserError
from sattn_dash.tabular import PrepareOptions, infer_schema, prepare
from sattn_dash.tabular.prepared import META_FILE, PreparedData


def table(rows=300, seed=0):
    """A heavy-tailed column with a few huge outliers, a normal one, a 30-level city."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "income": rng.lognormal(3, 1, rows),
            "x": rng.normal(size=rows),
            "city": rng.choice([f"city {i:02d}" for i in range(30)], size=rows),
        }
    )
    frame.loc[:4, "income"] = 1e7  # outliers
    frame.loc[5:9, "x"] = np.nan
    frame["y"] = np.where(frame["x"].fillna(0) > 0, "a", "b")
    return frame


@pytest.fixture(scope="module")
def data():
    frame = table()
    return frame, infer_schema(frame, targets="y")


def train_rows(frame, prepared):
    return frame.loc[prepared.row_index["train"]]


def test_default_is_the_old_standard_scaling_with_codes(data):
    frame, schema = data
    prepared = prepare(frame, schema, seed=0)
    assert prepared.options == PrepareOptions("standard", None, "codes")
    observed = train_rows(frame, prepared)["x"].dropna()
    scaled = prepared.X_train["x"][train_rows(frame, prepared)["x"].notna()]
    np.testing.assert_allclose(
        scaled, (observed - observed.mean()) / observed.std(ddof=0), atol=1e-5
    )
    assert "city" in prepared.categorical_features


def test_quantile_scaling_maps_train_ranks_to_a_normal_curve(data):
    frame, schema = data
    prepared = prepare(frame, schema, seed=0, options=PrepareOptions(scaling="quantile"))
    income = prepared.X_train["income"]
    assert abs(float(np.median(income))) < 0.1
    assert float(income.max()) <= 5.3  # the outliers are just the top ranks
    order = np.argsort(train_rows(frame, prepared)["income"].to_numpy(), kind="stable")
    assert np.all(np.diff(income.to_numpy()[order]) >= -1e-6)  # monotone


def test_robust_scaling_with_clipping_bounds_outliers(data):
    frame, schema = data
    prepared = prepare(frame, schema, seed=0, options=PrepareOptions(scaling="robust", clip=3.0))
    train = train_rows(frame, prepared)["income"]
    q1, median, q3 = np.percentile(train, [25, 50, 75])
    expected = np.clip((train - median) / (q3 - q1), -3, 3)
    np.testing.assert_allclose(prepared.X_train["income"], expected, rtol=1e-4, atol=1e-5)
    for split in ("train", "val", "test"):
        assert float(prepared.split(split)[0]["income"].abs().max()) <= 3.0


def test_scaling_is_fitted_on_the_training_split_only(data):
    frame, schema = data
    prepared = prepare(frame, schema, seed=0, options=PrepareOptions(scaling="robust"))
    moved = frame.copy()
    test_rows = prepared.row_index["test"]
    moved.loc[test_rows, "income"] *= 1000  # only the test rows change
    again = prepare(moved, schema, seed=0, options=PrepareOptions(scaling="robust"))
    np.testing.assert_allclose(again.X_train, prepared.X_train)


def test_many_levels_as_one_hot(data):
    frame, schema = data
    prepared = prepare(frame, schema, seed=0, options=PrepareOptions(many_levels="one_hot"))
    assert prepared.categorical_features == {}
    city = [f for f, s in prepared.feature_sources.items() if s == "city"]
    seen = train_rows(frame, prepared)["city"].nunique()
    assert len(city) == seen
    np.testing.assert_allclose(prepared.X_train[city].sum(axis=1), 1.0)


def test_options_are_saved_with_the_run_and_old_files_read_as_before(data, tmp_path):
    frame, schema = data
    options = PrepareOptions(scaling="quantile", clip=4.0, many_levels="codes")
    prepared = prepare(frame, schema, seed=0, options=options)
    prepared.save(tmp_path)
    loaded = PreparedData.load(tmp_path)
    assert loaded.options == options
    new = frame.iloc[:20]
    np.testing.assert_allclose(loaded.transform(new), prepared.transform(new))
    meta = json.loads((tmp_path / META_FILE).read_text())
    del meta["options"]  # a run saved before the options existed
    (tmp_path / META_FILE).write_text(json.dumps(meta))
    assert PreparedData.load(tmp_path).options == PrepareOptions()


@pytest.mark.parametrize(
    "values, word",
    [({"scaling": "minmax"}, "scaling"), ({"clip": -1}, "clip"), ({"many_levels": "x"}, "many")],
)
def test_bad_options_say_what_is_wrong(values, word):
    with pytest.raises(DataError, match=word):
        PrepareOptions(**values)
    assert issubclass(DataError, UserError)
