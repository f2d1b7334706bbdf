"""infer_schema: roles with reasons, overrides, targets and tasks, hints, groups, JSON."""

import json

import numpy as np
import pandas as pd
import pytest

from sattn_dash.errors import DataError
from sattn_dash.tabular import Role, Schema, infer_schema

N = 200


@pytest.fixture(scope="module")
def df() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    target_bin = rng.integers(0, 2, N)
    income = rng.normal(50_000, 10_000, N).round(2)
    income[rng.random(N) < 0.6] = np.nan
    score = [str(v) for v in rng.integers(0, 100, N)]
    score[3], score[10] = "?", "n/a"
    return pd.DataFrame(
        {
            "id": np.arange(N),
            "customer_code": [f"C{i:05d}" for i in rng.permutation(N)],
            "age": rng.integers(18, 80, N),
            "income": income,
            "plan": rng.choice(["basic", "plus", "pro"], N),
            "zip": [f"Z{v}" for v in rng.integers(0, 150, N)],
            "smoker": rng.choice(["yes", "no"], N),
            "signup": pd.date_range("2020-01-01", periods=N, freq="D").strftime("%Y-%m-%d"),
            "note": [
                " ".join(rng.choice(["good", "bad", "slow", "kind"], 12)) + f" #{i}"
                for i in range(N)
            ],
            "constant": "x",
            "empty": np.nan,
            "score_text": score,
            "flag": rng.random(N) < 0.3,
            "leak": np.where(target_bin == 1, "A", "B"),
            "target_bin": target_bin,
            "target_multi": rng.integers(0, 5, N),
            "target_reg": rng.normal(size=N),
            "rare": np.where(np.arange(N) < 6, "fraud", "ok"),
        }
    )


def test_roles_and_reasons_in_plain_words(df):
    schema = infer_schema(df)
    expect = {
        "id": (Role.identifier, "0 to 199, one per row, like a row number"),
        "customer_code": (Role.identifier, "different value in every row"),
        "age": (Role.numeric, "numbers"),
        "income": (Role.numeric, "numbers"),
        "plan": (Role.categorical, "one-hot"),
        "zip": (Role.categorical, "integer codes for an embedding"),
        "smoker": (Role.boolean, "'no' = 0, 'yes' = 1"),
        "signup": (Role.datetime, "calendar numbers"),
        "note": (Role.text, "free text"),
        "constant": (Role.constant, "one value ('x')"),
        "empty": (Role.constant, "every value is missing"),
        "score_text": (Role.numeric, "2 values that are not numbers ('?', 'n/a')"),
        "flag": (Role.boolean, "true/false"),
        "target_reg": (Role.numeric, "numbers"),
    }
    for name, (role, words) in expect.items():
        info = schema.column(name)
        assert info.role == role, (name, info)
        assert words in info.reason, (name, info.reason)
    assert "mostly_missing" in schema.column("income").flags
    assert "high_cardinality" in schema.column("zip").flags
    assert "coerced_numeric" in schema.column("score_text").flags
    assert schema.column("income").n_missing == df["income"].isna().sum()
    assert schema.column("plan").n_unique == 3
    for excluded in ("id", "customer_code", "note", "constant", "empty"):
        assert excluded not in schema.feature_columns
    assert schema.feature_columns[:3] == ["age", "income", "plan"]  # table order


def test_pandas_dtypes_map_to_roles():
    df = pd.DataFrame(
        {
            "when": pd.date_range("2021-01-01", periods=30, freq="h", tz="Europe/Oslo"),
            "kind": pd.Categorical(["a", "b", "c"] * 10),
            "ok": [True, False] * 15,
        }
    )
    schema = infer_schema(df)
    assert [c.role for c in schema.columns] == [Role.datetime, Role.categorical, Role.boolean]


def test_roles_can_be_overridden_and_reset(df):
    schema = infer_schema(df)
    changed = schema.with_role("age", "categorical")
    info = changed.column("age")
    assert info.role == Role.categorical and "set_by_user" in info.flags
    assert info.reason.startswith("set by you (detected as numeric")
    assert "high_cardinality" in info.flags  # 62 ages: integer codes
    assert changed.role_overrides == {"age": "categorical"}
    assert changed.with_role("age", None).column("age") == schema.column("age")

    excluded = schema.with_role("leak", Role.excluded)
    assert "leak" not in excluded.feature_columns
    used = schema.with_role("note", "categorical")
    assert "note" in used.feature_columns


@pytest.mark.parametrize(
    "column, role, words",
    [
        ("plan", "numeric", "only 0% of its values are numbers"),
        ("plan", "boolean", "3 different values"),
        ("plan", "datetime", "read as dates"),
    ],
)
def test_impossible_overrides_say_why(df, column, role, words):
    with pytest.raises(DataError, match=words):
        infer_schema(df).with_role(column, role)


def test_tasks_are_detected(df):
    schema = infer_schema(df, targets=["target_bin", "target_multi", "target_reg", "smoker"])
    assert [t.task for t in schema.targets] == ["binary", "multiclass", "regression", "binary"]
    multi = schema.target("target_multi")
    assert multi.classes == (0, 1, 2, 3, 4)
    assert sum(multi.class_counts) == N
    assert schema.target("smoker").classes == ("no", "yes")
    assert schema.target("target_reg").classes == ()
    assert schema.task("target_reg") == "regression"
    assert schema.column("target_bin").role == Role.target
    assert "target_bin" not in schema.feature_columns


def test_many_whole_numbers_are_regression_and_tasks_can_be_overridden(df):
    schema = infer_schema(df, targets="age")
    assert schema.task("age") == "regression"  # 62 distinct whole numbers
    as_classes = schema.with_task("age", "multiclass")
    assert as_classes.task("age") == "multiclass" and len(as_classes.target("age").classes) > 20
    assert as_classes.with_task("age", None).task("age") == "regression"
    multi = infer_schema(df, targets="target_multi").with_task("target_multi", "regression")
    assert multi.task("target_multi") == "regression"


@pytest.mark.parametrize(
    "target, task, words",
    [
        ("target_multi", "binary", "5 different values"),
        ("plan", "regression", "holds text"),
        ("target_bin", "clustering", "Unknown task"),
    ],
)
def test_impossible_tasks_say_why(df, target, task, words):
    with pytest.raises(DataError, match=words):
        infer_schema(df, targets=target, tasks={target: task})


def test_missing_target_values_are_counted(df):
    with_gaps = df.assign(target_multi=df["target_multi"].astype(float).where(df.index % 10 != 0))
    schema = infer_schema(with_gaps, targets="target_multi")
    info = schema.target("target_multi")
    assert info.n_missing_dropped == 20
    assert sum(info.class_counts) == N - 20
    assert info.classes == (0, 1, 2, 3, 4)  # 1.0 etc. read back as whole numbers
    assert any("20 rows have no value" in h.message for h in schema.hints)


def test_hints_a_careful_analyst_would_give(df):
    schema = infer_schema(df, targets=["target_bin", "rare"])
    by_column = {}
    for hint in schema.hints:
        by_column.setdefault(hint.column, []).append(hint)
    leak = by_column["leak"][0]
    assert leak.level == "warning" and "predicts 'target_bin' perfectly" in leak.message
    assert "possible_leakage" in schema.column("leak").flags
    assert "zip" in by_column and "different values" in by_column["zip"][0].message
    share = f"{schema.column('income').missing_fraction:.0%} missing"
    assert share in by_column["income"][0].message
    imbalance = by_column["rare"][0]
    assert imbalance.level == "warning" and "only 3.0%" in imbalance.message
    assert "score_text" in by_column  # read as numbers despite '?'
    assert "age" not in by_column  # plain columns get no advice


def test_numeric_perfect_separation_is_flagged_as_leakage():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 120)
    df = pd.DataFrame({"days_after": y * 10 + rng.random(120), "noise": rng.random(120), "y": y})
    schema = infer_schema(df, targets="y")
    assert "possible_leakage" in schema.column("days_after").flags
    assert "possible_leakage" not in schema.column("noise").flags
    reg = infer_schema(df.assign(y=df["days_after"] * 3 + 1), targets="y")
    assert "possible_leakage" in reg.column("days_after").flags


def test_small_tables_get_a_warning():
    df = pd.DataFrame({"a": [1.0, 2.5, 3.5, 4.0], "y": [0, 1, 0, 1]})
    assert any("Only 4 rows" in h.message for h in infer_schema(df, targets="y").hints)


def test_groups(df):
    groups = {"billing": ["income", "plan"], "person": ["age", "smoker", "id"]}
    schema = infer_schema(df, targets="target_bin", groups=groups)
    assert schema.groups == {"billing": ("income", "plan"), "person": ("age", "smoker", "id")}
    grouped = schema.groups_or_columns()
    assert grouped["billing"] == ("income", "plan")
    assert grouped["person"] == ("age", "smoker")  # the identifier is not a feature
    assert grouped["zip"] == ("zip",)  # ungrouped features are their own group
    assert "id" not in grouped and "target_bin" not in grouped

    more = schema.with_group("dates", ["signup"])
    assert more.groups["dates"] == ("signup",) and more.column("age") == schema.column("age")
    assert "billing" not in more.without_group("billing").groups
    moved = schema.with_targets(["age"])
    assert moved.groups["person"] == ("smoker", "id")  # a new target leaves its group


@pytest.mark.parametrize(
    "groups, words",
    [
        ({"g": ["nope"]}, "no column named 'nope'"),
        ({"g": ["age"], "h": ["age"]}, "in group 'g' and in group 'h'"),
        ({"g": ["target_bin"]}, "which is a target"),
        ({"age": ["plan"]}, "also a column name"),
        ({"g": []}, "has no columns"),
    ],
)
def test_bad_groups_say_what_to_fix(df, groups, words):
    with pytest.raises(DataError, match=words):
        infer_schema(df, targets="target_bin", groups=groups)


def test_unknown_names_suggest_close_ones(df):
    with pytest.raises(DataError, match="Did you mean 'target_bin'"):
        infer_schema(df, targets="target_bn")
    with pytest.raises(DataError, match="no column named"):
        infer_schema(df).column("nope")


def test_frames_that_cannot_be_understood():
    with pytest.raises(DataError, match="must be text"):
        infer_schema(pd.DataFrame({0: [1, 2], 1: [3, 4]}))
    with pytest.raises(DataError, match="repeat"):
        infer_schema(pd.DataFrame([[1, 2]], columns=["a", "a"]))
    with pytest.raises(DataError, match="empty"):
        infer_schema(pd.DataFrame({"a": []}))


def test_json_round_trip_and_table(df):
    schema = infer_schema(df, targets=["target_bin", "target_reg"], groups={"b": ["plan"]})
    schema = schema.with_role("age", "categorical")
    loaded = Schema.from_dict(json.loads(json.dumps(schema.to_dict())))
    assert loaded == schema
    assert loaded.feature_columns == schema.feature_columns
    with pytest.raises(DataError, match="without its table"):
        loaded.with_role("age", None)
    assert loaded.with_group("p", ["smoker"]).groups["p"] == ("smoker",)

    table = schema.to_frame()
    assert list(table.columns) == ["name", "role", "reason", "dtype", "missing", "unique", "flags"]
    assert len(table) == df.shape[1]
    row = table.set_index("name").loc["zip"]
    assert row["role"] == "categorical" and "high_cardinality" in row["flags"]


def test_unknown_roles_and_repeated_targets(df):
    with pytest.raises(DataError, match="no role 'number'.*numeric, categorical"):
        infer_schema(df, roles={"age": "number"})
    with pytest.raises(DataError, match="no role 'number'"):
        infer_schema(df).with_role("age", "number")
    assert infer_schema(df, targets=["target_bin", "target_bin"]).target_names == ["target_bin"]
    with pytest.raises(DataError, match="choose it as a target instead"):
        infer_schema(df, roles={"age": "target"})
    assert infer_schema(df).with_role("age", "target").target_names == ["age"]
