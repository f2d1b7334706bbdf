"""prepare: seeded stratified splits, preprocessing fitted on train only, feature maps,
unseen categories, save/load."""

import json

import numpy as np
import pandas as pd
import pytest

from sattn_dash.errors import DataError, RunError, SpecError
from sattn_dash.tabular import PreparedData, data_hash, infer_schema, prepare

N = 400


@pytest.fixture(scope="module")
def df() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    age = rng.integers(18, 80, N).astype(float)
    age[rng.random(N) < 0.1] = np.nan
    return pd.DataFrame(
        {
            "id": np.arange(N),
            "age": age,
            "balance": rng.normal(1000, 300, N).round(2),
            "plan": rng.choice(["basic", "plus", "pro"], N, p=[0.5, 0.3, 0.2]),
            "zip": [f"Z{v}" for v in rng.integers(0, 60, N)],
            "smoker": rng.choice(["yes", "no", None], N, p=[0.3, 0.6, 0.1]),
            "signup": pd.date_range("2020-01-01 08:00", periods=N, freq="37h"),
            "churn": np.where(rng.random(N) < 0.25, "yes", "no"),
            "segment": rng.choice(["a", "b", "c", "d"], N),
            "spend": rng.gamma(2.0, 50.0, N).round(2),
        }
    )


@pytest.fixture(scope="module")
def schema(df):
    return infer_schema(df, targets=["churn", "spend"], groups={"money": ["balance", "plan"]})


@pytest.fixture(scope="module")
def prepared(df, schema) -> PreparedData:
    return prepare(df, schema, seed=0)


def test_splits_are_disjoint_complete_and_sized(prepared):
    index = prepared.row_index
    sizes = {s: len(index[s]) for s in ("train", "val", "test")}
    assert sizes == {"train": 240, "val": 80, "test": 80}
    every = np.concatenate(list(index.values()))
    assert len(set(every)) == N
    for split in ("train", "val", "test"):
        X, y = prepared.split(split)
        assert list(X.index) == list(index[split])
        assert X.dtypes.eq(np.float32).all() and np.isfinite(X.to_numpy()).all()
        assert list(X.columns) == prepared.feature_names
        assert {k: len(v) for k, v in y.items()} == {"churn": len(X), "spend": len(X)}


def test_split_is_stratified_on_the_first_classification_target(df, prepared):
    overall = (df["churn"] == "yes").mean()
    for split in ("train", "val", "test"):
        share = prepared.split(split)[1]["churn"].mean()
        assert abs(share - overall) < 0.02, (split, share, overall)


def test_split_is_seeded(df, schema, prepared):
    again = prepare(df, schema, seed=0)
    other = prepare(df, schema, seed=1)
    assert np.array_equal(again.row_index["test"], prepared.row_index["test"])
    assert not np.array_equal(other.row_index["test"], prepared.row_index["test"])
    pd.testing.assert_frame_equal(again.X_val, prepared.X_val)


def test_targets_are_encoded_by_task(df, prepared):
    y = prepared.y_train
    assert y["churn"].dtype == np.float32 and set(np.unique(y["churn"])) == {0.0, 1.0}
    assert prepared.classes["churn"] == ["no", "yes"]
    rows = prepared.row_index["train"]
    assert np.array_equal(y["churn"], (df.loc[rows, "churn"] == "yes").to_numpy(np.float32))
    assert y["spend"].dtype == np.float32
    assert np.allclose(y["spend"], df.loc[rows, "spend"].to_numpy(np.float32))
    mean, std = prepared.target_stats["spend"]
    assert mean == pytest.approx(float(np.mean(y["spend"])), rel=1e-5)
    assert std == pytest.approx(float(np.std(y["spend"])), rel=1e-5)
    assert prepared.tasks == {"churn": "binary", "spend": "regression"}


def test_multiclass_codes_follow_the_class_order(df):
    schema = infer_schema(df, targets="segment")
    prepared = prepare(df, schema, seed=0)
    y = prepared.y_test["segment"]
    assert y.dtype == np.int64 and set(np.unique(y)) == {0, 1, 2, 3}
    labels = np.array(prepared.classes["segment"])[y]
    assert (labels == df.loc[prepared.row_index["test"], "segment"].to_numpy()).all()


def test_preprocessing_is_fitted_on_the_training_split_only(df, schema):
    # extreme balances outside the training rows must not move the fitted scaler
    prepared = prepare(df, schema, seed=0)
    held_out = np.concatenate([prepared.row_index["val"], prepared.row_index["test"]])
    shifted = df.copy()
    shifted.loc[held_out, "balance"] = 1e9
    again = prepare(shifted, schema, seed=0)
    pd.testing.assert_frame_equal(again.X_train, prepared.X_train)
    numeric = again.transformer.named_transformers_["numeric"]
    train = df.loc[prepared.row_index["train"]]
    columns = list(numeric.feature_names_in_)
    scale = numeric.named_steps["scale"]
    assert scale.mean_[columns.index("balance")] == pytest.approx(train["balance"].mean())
    age = columns.index("age")
    scaled_median = (train["age"].median() - scale.mean_[age]) / scale.scale_[age]
    assert numeric.named_steps["impute"].statistics_[age] == pytest.approx(scaled_median)
    assert prepared.X_train["balance"].mean() == pytest.approx(0, abs=1e-5)
    assert again.X_test["balance"].min() > 1e5  # transformed with the train statistics


def test_feature_names_and_sources(prepared):
    names, sources = prepared.feature_names, prepared.feature_sources
    assert set(sources) == set(names)
    assert sources["missingindicator_age"] == "age"
    assert {f for f, s in sources.items() if s == "plan"} == {"plan_basic", "plan_plus", "plan_pro"}
    assert {f for f, s in sources.items() if s == "signup"} == {
        "signup_year",
        "signup_month",
        "signup_day",
        "signup_weekday",
        "signup_hour",
    }
    assert sources["smoker"] == "smoker" and sources["missingindicator_smoker"] == "smoker"
    assert set(sources.values()) == {"age", "balance", "plan", "zip", "smoker", "signup", "segment"}


def test_high_cardinality_columns_get_integer_codes(df, prepared):
    assert prepared.categorical_features == {"zip": 61}  # 60 values + 0 for unknown
    codes = prepared.X_train["zip"].to_numpy()
    assert codes.min() >= 1 and codes.max() <= 60 and np.all(codes == codes.round())


def test_new_rows_with_unseen_categories_and_bad_values(df, prepared):
    new = df.head(3).copy()
    new["plan"] = ["enterprise", None, "basic"]
    new["zip"] = ["Z-unknown", None, df["zip"].iloc[0]]
    new["smoker"] = ["maybe", None, "yes"]
    new["age"] = [np.inf, np.nan, 33]
    new["signup"] = ["not a date", None, "2021-05-01"]
    out = prepared.transform(new.drop(columns=["churn", "spend", "id"]))
    assert list(out.columns) == prepared.feature_names and len(out) == 3
    assert out.dtypes.eq(np.float32).all() and np.isfinite(out.to_numpy()).all()
    assert out["plan_basic"].tolist() == [0.0, 0.0, 1.0]
    assert out[["plan_plus", "plan_pro"]].iloc[0].sum() == 0  # unseen: no known plan
    assert out["zip"].tolist()[:2] == [0.0, 0.0]
    assert out["zip"].iloc[2] >= 1
    assert out["missingindicator_age"].tolist() == [1.0, 1.0, 0.0]
    with pytest.raises(DataError, match="lack columns the model needs: age"):
        prepared.transform(new.drop(columns=["age"]))


def test_groups_and_branch_inputs(prepared):
    groups = prepared.groups_with_features()
    assert list(groups)[:1] == ["money"]
    assert groups["money"] == ["balance", "plan_basic", "plan_plus", "plan_pro"]
    assert groups["age"] == ["age", "missingindicator_age"]
    assert "id" not in groups
    names = prepared.feature_names
    assert prepared.features_for("all") == list(range(len(names)))
    money = prepared.features_for(["money"])
    assert [names[i] for i in money] == sorted(groups["money"], key=names.index)
    both = prepared.features_for(["money", "age", "zip"])
    assert [names[i] for i in both] == [
        n for n in names if prepared.feature_sources[n] in ("balance", "plan", "age", "zip")
    ]
    assert prepared.features_for("plan_pro") == [names.index("plan_pro")]
    with pytest.raises(SpecError, match="role is identifier"):
        prepared.features_for(["id"])
    with pytest.raises(SpecError, match="neither a group nor a column"):
        prepared.features_for(["nope"])


def test_rows_without_a_target_are_dropped_and_noted(df):
    gappy = df.assign(spend=df["spend"].where(df.index % 8 != 0))
    prepared = prepare(gappy, infer_schema(gappy, targets=["spend"]), seed=0)
    assert sum(len(v) for v in prepared.row_index.values()) == N - 50
    assert "50 rows without a value for every target were left out." in prepared.notes


def test_classes_too_small_to_stratify_fall_back_to_a_random_split(df):
    tiny = df.assign(segment=np.where(df.index == 5, "unique", df["segment"]))
    prepared = prepare(tiny, infer_schema(tiny, targets="segment"), seed=0)
    assert any(
        "random, not stratified on 'segment'" in n and "'unique' has only 1" in n
        for n in prepared.notes
    )
    assert sum(len(v) for v in prepared.row_index.values()) == N


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"test_size": 0}, "between 0 and 1"),
        ({"val_size": 1.5}, "between 0 and 1"),
        ({"test_size": 0.5, "val_size": 0.45}, "too little to train"),
    ],
)
def test_split_sizes_are_checked(df, schema, kwargs, words):
    with pytest.raises(DataError, match=words):
        prepare(df, schema, **kwargs)


def test_prepare_needs_a_target_and_the_schema_columns(df, schema):
    with pytest.raises(DataError, match="No target is chosen"):
        prepare(df, infer_schema(df))
    with pytest.raises(DataError, match="lacks columns the schema uses: balance"):
        prepare(df.drop(columns="balance"), schema)


def test_data_hash_is_stable_and_sensitive(df, prepared):
    assert prepared.data_hash == data_hash(df) == data_hash(df.copy())
    assert len(prepared.data_hash) == 64
    changed = df.copy()
    changed.loc[7, "balance"] += 0.01
    assert data_hash(changed) != data_hash(df)
    assert data_hash(df.rename(columns={"age": "years"})) != data_hash(df)


def test_save_and_load_round_trip(tmp_path, df, prepared):
    prepared.save(tmp_path / "run")
    files = sorted(p.name for p in (tmp_path / "run").iterdir())
    assert files == ["arrays.npz", "prepared.json", "transformer.skops"]
    json.loads((tmp_path / "run" / "prepared.json").read_text())  # plain JSON
    loaded = PreparedData.load(tmp_path / "run")
    for split in ("train", "val", "test"):
        X, y = loaded.split(split)
        pd.testing.assert_frame_equal(X, prepared.split(split)[0])
        for target, values in prepared.split(split)[1].items():
            assert np.array_equal(y[target], values) and y[target].dtype == values.dtype
        assert np.array_equal(loaded.row_index[split], prepared.row_index[split])
    for field in (
        "feature_names",
        "feature_sources",
        "categorical_features",
        "tasks",
        "classes",
        "seed",
        "data_hash",
        "notes",
        "test_size",
        "val_size",
    ):
        assert getattr(loaded, field) == getattr(prepared, field), field
    assert loaded.target_stats.keys() == prepared.target_stats.keys()
    assert loaded.target_stats["spend"] == pytest.approx(prepared.target_stats["spend"])
    assert loaded.schema == prepared.schema
    assert loaded.groups_with_features() == prepared.groups_with_features()
    new = df.head(5).drop(columns=["churn", "spend"])
    pd.testing.assert_frame_equal(loaded.transform(new), prepared.transform(new))


def test_string_row_labels_survive_saving(tmp_path, df, schema):
    labelled = df.set_axis([f"row{i}" for i in range(N)])
    prepared = prepare(labelled, schema, seed=0)
    prepared.save(tmp_path)
    loaded = PreparedData.load(tmp_path)
    assert list(loaded.X_test.index) == list(prepared.X_test.index)


def test_loading_a_damaged_run_is_a_run_error(tmp_path, prepared):
    prepared.save(tmp_path)
    (tmp_path / "arrays.npz").write_bytes(b"not an archive")
    with pytest.raises(RunError, match="missing or damaged"):
        PreparedData.load(tmp_path)
    with pytest.raises(RunError, match="missing or damaged"):
        PreparedData.load(tmp_path / "nothing here")


def test_pandas_extension_dtypes_are_understood_and_prepared():
    rng = np.random.default_rng(0)
    n = 60
    df = pd.DataFrame(
        {
            "ints": pd.array(
                [None if i % 7 == 0 else int(v) for i, v in enumerate(rng.integers(0, 50, n))],
                dtype="Int64",
            ),
            "floats": pd.array(
                [None if i % 5 == 0 else float(v) for i, v in enumerate(rng.normal(size=n))],
                dtype="Float64",
            ),
            "flags": pd.array(
                [None if i % 6 == 0 else bool(v) for i, v in enumerate(rng.integers(0, 2, n))],
                dtype="boolean",
            ),
            "grade": pd.Categorical(rng.choice([1, 2, 3], n)),
            "words": pd.array(rng.choice(["x", "y", "z"], n), dtype="string[python]"),
            "mixed": pd.Series([1, "a", 2.5, None] * 15, dtype=object),
            "y": pd.array(rng.integers(0, 2, n), dtype="Int64"),
        }
    )
    schema = infer_schema(df, targets="y")
    roles = {c.name: c.role.value for c in schema.columns}
    assert roles == {
        "ints": "numeric",
        "floats": "numeric",
        "flags": "boolean",
        "grade": "categorical",
        "words": "categorical",
        "mixed": "categorical",
        "y": "target",
    }
    assert schema.target("y").classes == (0, 1)
    prepared = prepare(df, schema.with_role("grade", "numeric"), seed=0)
    assert np.isfinite(prepared.X_train.to_numpy()).all()
    assert {"ints", "missingindicator_ints", "flags", "grade", "mixed_a"} <= set(
        prepared.feature_names
    )


def test_clashing_model_column_names_fall_back_to_role_prefixes():
    rng = np.random.default_rng(2)
    df = pd.DataFrame(
        {
            "plan": rng.choice(["x", "y", "z"], 60),
            "plan_x": rng.normal(size=60),
            "y": rng.integers(0, 2, 60),
        }
    )
    prepared = prepare(df, infer_schema(df, targets="y"), seed=0)
    assert "numeric__plan_x" in prepared.feature_names
    assert "categorical__plan_x" in prepared.feature_names
    assert prepared.feature_sources["categorical__plan_x"] == "plan"
    assert prepared.feature_sources["numeric__plan_x"] == "plan_x"
