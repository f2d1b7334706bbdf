"""The sample tables: each loads through read_table, has the task it claims, prepares,
and is documented; the synthetic one carries its signal in the group it names."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from sattn_dash.errors import DataError
from sattn_dash.tabular import SAMPLES, infer_schema, load_sample, prepare
from sattn_dash.tabular.samples import DATA_DIR


@pytest.mark.parametrize("name", list(SAMPLES))
def test_sample_loads_infers_its_task_and_prepares(name):
    info = SAMPLES[name]
    df = load_sample(name)
    assert info.path.exists() and info.path.stat().st_size < 3_000_000
    schema = infer_schema(df, targets=info.targets, groups=info.groups)
    assert schema.task(info.targets[0]) == info.task
    prepared = prepare(df, schema, seed=0)
    assert np.isfinite(prepared.X_train.to_numpy()).all()
    assert info.title and info.description and info.source and info.licence


def test_the_samples_cover_the_kinds_of_data_we_promise():
    real = {n: s for n, s in SAMPLES.items() if n != "synthetic_groups"}
    assert len(real) >= 4
    assert {s.task for s in real.values()} == {"binary", "multiclass", "regression"}
    sizes = {n: load_sample(n) for n in real}
    assert any(len(df) >= 20_000 for df in sizes.values())
    messy = [
        n
        for n, df in sizes.items()
        if df.isna().any().any()
        and any(c.role.value == "categorical" for c in infer_schema(df).columns)
    ]
    assert messy, "no sample with both missing values and categorical columns"


def test_readme_gives_source_and_licence_for_every_file():
    readme = " ".join((DATA_DIR / "README.md").read_text().split())
    for info in SAMPLES.values():
        assert info.path.name in readme, info.path.name
        assert info.licence in readme, info.licence
    assert "make_synthetic.py" in readme and "build_samples.py" in readme


def test_unknown_sample_names_are_a_data_error():
    with pytest.raises(DataError, match="no sample named 'penguin'.*'penguins'"):
        load_sample("penguin")


def test_synthetic_table_is_reproducible_from_its_script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_synthetic", DATA_DIR / "make_synthetic.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    made, _ = module.make()
    committed = load_sample("synthetic_groups")
    pd.testing.assert_frame_equal(made, committed, check_dtype=False)
    grouped = [c for members in SAMPLES["synthetic_groups"].groups.values() for c in members]
    assert sorted(grouped) == sorted(made.columns.drop("churned"))  # every column in one group


def test_synthetic_signal_lives_in_the_usage_group_only():
    info = SAMPLES["synthetic_groups"]
    df = load_sample("synthetic_groups")
    prepared = prepare(df, infer_schema(df, targets=info.targets, groups=info.groups), seed=0)
    aucs = {}
    for group in info.groups:
        columns = prepared.features_for([group])
        model = LogisticRegression(max_iter=500).fit(
            prepared.X_train.iloc[:, columns], prepared.y_train["churned"]
        )
        scores = model.predict_proba(prepared.X_test.iloc[:, columns])[:, 1]
        aucs[group] = roc_auc_score(prepared.y_test["churned"], scores)
    assert aucs["usage"] > 0.8, aucs
    assert all(abs(auc - 0.5) < 0.07 for g, auc in aucs.items() if g != "usage"), aucs
