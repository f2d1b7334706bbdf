"""Analysis of real trained models on the synthetic table whose answer is known.

``synthetic_groups``: churn depends on the ``usage`` column group only. With one branch
per group, every importance (attention, ablation, permutation) must put the usage
branch first; with identical branches, none may prefer one.
"""

import keras
import numpy as np
import pytest

from sattn_dash.analysis import (
    ablation_importance,
    cls_attention,
    dataset_attention,
    faithfulness,
    module_importance,
    permutation_importance_by,
    routing_by_class,
    routing_co_selection,
    temperature_distribution,
    temperature_what_if,
    token_attention,
)
from sattn_dash.errors import SpecError
from sattn_dash.modeling import (
    BlockSpec,
    BranchSpec,
    CombinerSpec,
    HeadSpec,
    ModelSpec,
    build_model,
    head_name,
)
from sattn_dash.tabular import SAMPLES, infer_schema, load_sample, prepare
from sattn_dash.training import evaluate

INFORMATIVE = "usage"
GROUPS = SAMPLES["synthetic_groups"].groups
TARGET = "churned"


@pytest.fixture(scope="module")
def prepared():
    df = load_sample("synthetic_groups")
    return prepare(df, infer_schema(df, targets=TARGET, groups=GROUPS), seed=0)


def _dense(units=8):
    return BlockSpec("dense", units=units, activation="relu")


def _train(spec, prepared, epochs, tie_branches=False):
    keras.utils.set_random_seed(0)
    model = build_model(spec, prepared)
    if tie_branches:  # every branch starts from the first one's weights
        names = [b.name for b in spec.branches]
        first = model.get_layer(f"branch_{names[0]}_0_dense").get_weights()
        for name in names[1:]:
            model.get_layer(f"branch_{name}_0_dense").set_weights(first)
    X, y = prepared.split("train")
    model.fit(
        np.asarray(X, dtype=np.float32),
        {head_name(TARGET): y[TARGET]},
        epochs=epochs,
        batch_size=64,
        verbose=0,
    )
    return model


def _spec(branches, combiner):
    return ModelSpec(
        name="test",
        branches=tuple(branches),
        combiner=combiner,
        heads=(HeadSpec(TARGET),),
        learning_rate=0.01,
    )


@pytest.fixture(scope="module")
def per_group(prepared):
    """Sparse attention weighting over one dense branch per column group."""
    branches = [BranchSpec(g, inputs=(g,), blocks=(_dense(),)) for g in GROUPS]
    return _train(_spec(branches, CombinerSpec("sparse_attention")), prepared, epochs=8)


@pytest.fixture(scope="module")
def identical(prepared):
    """Three branches with the same input, blocks and starting weights."""
    branches = [BranchSpec(f"copy{i}", inputs="all", blocks=(_dense(),)) for i in range(3)]
    spec = _spec(branches, CombinerSpec("sparse_attention"))
    return _train(spec, prepared, epochs=3, tie_branches=True)


@pytest.fixture(scope="module")
def routed(prepared):
    """A sparse_dense router over one branch per group; profile uses feature attention."""
    attention = BlockSpec(
        "feature_attention", units=8, heads=2, key_dim=8, top_k=3, layers=1, cls_token=True
    )
    branches = [
        BranchSpec(g, inputs=(g,), blocks=(attention,) if g == "profile" else (_dense(),))
        for g in GROUPS
    ]
    spec = _spec(branches, CombinerSpec("sparse_dense", top_k=2, num_heads=2, key_dim=8))
    return _train(spec, prepared, epochs=6)


def _first(frame, key="branch", target=None):
    if target is not None:
        frame = frame[frame["target"] == target]
    return frame.sort_values("importance", ascending=False)[key].iloc[0]


def test_every_importance_ranks_the_informative_branch_first(per_group, prepared):
    attention = module_importance(per_group, prepared)
    ablation = ablation_importance(per_group, prepared, mode="mean")
    by_branch = permutation_importance_by(per_group, prepared, level="branch", n_repeats=3)
    by_group = permutation_importance_by(per_group, prepared, level="group", n_repeats=3)

    assert _first(attention) == INFORMATIVE
    assert attention["probability"].sum() == pytest.approx(1.0, abs=1e-5)
    assert _first(ablation) == INFORMATIVE
    assert _first(by_branch) == INFORMATIVE
    assert _first(by_group, key="group") == INFORMATIVE
    # a clear margin: the usage branch costs far more skill than any noise branch
    drops = ablation.set_index("branch")["importance"]
    assert drops[INFORMATIVE] > 0.1 > drops.drop(INFORMATIVE).max()
    assert set(by_group["group"]) == set(GROUPS)

    verdict = faithfulness(attention, ablation).iloc[0]
    assert verdict["top_by_attention"] == verdict["top_by_ablation"] == INFORMATIVE
    assert verdict["agreement"] == "strong"


def test_module_importance_reports_the_combiner_settings(per_group, prepared):
    frame = module_importance(per_group, prepared)
    layer = per_group.get_layer("combiner")
    expected = layer.module_probabilities()
    np.testing.assert_allclose(frame["probability"], expected, rtol=1e-6)
    np.testing.assert_allclose(frame["raw_weight"], layer.attention_weights.numpy())
    assert set(frame["temperature"]) == {1.0} and set(frame["normalizer"]) == {"softmax"}
    assert list(frame["rank"].sort_values()) == [1, 2, 3, 4]


def test_ablation_baseline_is_the_models_own_score(per_group, prepared):
    # a class target's ablation is scored in log loss (it moves when ROC AUC cannot)
    frame = ablation_importance(per_group, prepared, mode="zeros")
    own = evaluate(per_group, prepared, "val")[TARGET]["log_loss"]
    assert set(frame["metric"]) == {"log_loss"}
    assert frame["baseline"].iloc[0] == pytest.approx(own, abs=1e-6)
    assert set(frame["mode"]) == {"zeros"} and _first(frame) == INFORMATIVE


def test_temperature_what_if_rescores_without_changing_the_model(per_group, prepared):
    layer = per_group.get_layer("combiner")
    before = [w.copy() for w in per_group.get_weights()]
    X_val = np.asarray(prepared.X_val, dtype=np.float32)
    predictions = per_group.predict_on_batch(X_val)[head_name(TARGET)]

    frame = temperature_what_if(per_group, prepared, [0.1, 0.5, 4.0])
    ablation_importance(per_group, prepared)

    assert layer.temperature_value == 1.0
    for a, b in zip(before, per_group.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(predictions, per_group.predict_on_batch(X_val)[head_name(TARGET)])

    assert list(frame["temperature"]) == [0.1, 0.5, 1.0, 4.0]
    trained = frame[frame["trained"]].iloc[0]
    assert trained["worsening"] == 0.0
    assert trained["value"] == pytest.approx(
        evaluate(per_group, prepared, "val")[TARGET]["roc_auc"]
    )
    # colder is sharper: more weight on the top branch, fewer effective branches
    assert frame["top_probability"].is_monotonic_decreasing
    assert frame["effective_branches"].is_monotonic_increasing
    # a very high temperature averages the noise branches in and costs skill
    assert frame.set_index("temperature").loc[4.0, "worsening"] > 0


def test_temperature_distribution_matches_the_layer(per_group):
    table = temperature_distribution(per_group, [0.5, 2.0])
    trained = table[table["trained"]]
    np.testing.assert_allclose(
        trained["probability"], per_group.get_layer("combiner").module_probabilities(), rtol=1e-5
    )
    assert set(table["temperature"]) == {0.5, 1.0, 2.0}


def test_identical_branches_get_near_uniform_importance(identical, prepared):
    attention = module_importance(identical, prepared)
    ablation = ablation_importance(identical, prepared)
    by_branch = permutation_importance_by(identical, prepared, level="branch", n_repeats=2)

    np.testing.assert_allclose(attention["probability"], 1 / 3, atol=1e-3)
    assert np.ptp(ablation["importance"]) < 1e-3
    assert np.ptp(by_branch["importance"]) < 1e-3
    verdict = faithfulness(attention, ablation).iloc[0]
    assert verdict["agreement"] in ("undetermined", "none")
    assert np.isnan(verdict["spearman_rho"])


def test_routing_importance_ranks_the_informative_branch_first(routed, prepared):
    frame = module_importance(routed, prepared)
    assert _first(frame) == INFORMATIVE
    assert frame["selection_frequency"].between(0, 1).all()
    assert frame["mean_routing_weight"].sum() == pytest.approx(1.0, abs=1e-4)
    ablation = ablation_importance(routed, prepared)
    assert _first(ablation) == INFORMATIVE


def test_routing_by_class_covers_overall_true_and_predicted(routed, prepared):
    frame = routing_by_class(routed, prepared)
    assert set(frame["grouping"]) == {"overall", "true class", "predicted class"}
    overall = frame[frame["grouping"] == "overall"].set_index("branch")
    importance = module_importance(routed, prepared).set_index("branch")
    np.testing.assert_allclose(
        overall["mean_routing_weight"], importance.loc[overall.index, "mean_routing_weight"]
    )
    true = frame[frame["grouping"] == "true class"]
    assert set(true["class"]) == {0, 1}
    assert true.groupby("class")["rows"].first().sum() == len(prepared.X_val)


def test_co_selection_is_symmetric_with_selection_frequency_on_the_diagonal(routed, prepared):
    frame = routing_co_selection(routed, prepared)
    matrix = frame.pivot(index="branch", columns="other_branch", values="co_selection")
    np.testing.assert_allclose(matrix.to_numpy(), matrix.to_numpy().T)
    frequency = module_importance(routed, prepared).set_index("branch")["selection_frequency"]
    np.testing.assert_allclose(np.diag(matrix.loc[frequency.index, frequency.index]), frequency)
    # each row is routed to at least top_k=2 branches (the heads may pick different ones)
    assert np.diag(matrix).sum() >= 2 - 1e-9


def test_token_weights_sum_to_one_over_selected_keys_and_are_zero_elsewhere(routed, prepared):
    frame = token_attention(routed, prepared, rows=[0, 5, 9])
    assert set(frame["layer"]) == {"combiner", "branch_profile_0_attention0"}
    assert set(frame["row"]) == {0, 5, 9}
    per_query = frame.groupby(["row", "layer", "head", "query"])
    selected_sum = per_query.apply(lambda q: q.loc[q["selected"], "weight"].sum())
    np.testing.assert_allclose(selected_sum, 1.0, atol=1e-5)
    assert (frame.loc[~frame["selected"], "weight"] == 0).all()
    counts = per_query["selected"].sum().reset_index()
    assert set(counts.loc[counts["layer"] == "combiner", "selected"]) == {2}
    assert set(counts.loc[counts["layer"] != "combiner", "selected"]) == {3}

    combiner = frame[frame["layer"] == "combiner"]
    assert list(dict.fromkeys(combiner["key_token"])) == list(GROUPS)
    features = frame[frame["layer"] != "combiner"]
    assert features["key_token"].iloc[0] == "[CLS]"
    assert set(features["branch"]) == {"profile"}
    assert set(features["key_token"]) - {"[CLS]"} == set(prepared.groups_with_features()["profile"])
    assert frame["row_index"].isin(prepared.row_index["val"]).all()


def test_token_attention_names_bad_rows(routed, prepared):
    with pytest.raises(SpecError, match="between 0 and"):
        token_attention(routed, prepared, rows=[len(prepared.X_val)])


def test_dataset_attention_means_form_a_distribution(routed, prepared):
    frame = dataset_attention(routed, prepared, max_rows=300)
    overall = frame[frame["grouping"] == "overall"]
    np.testing.assert_allclose(overall.groupby("layer")["mean_attention"].sum(), 1.0, atol=1e-5)
    assert frame["selection_frequency"].between(0, 1).all()
    assert {"true class", "predicted class"} <= set(frame["grouping"])


def test_cls_attention_per_source_column_next_to_permutation(routed, prepared):
    permutation = permutation_importance_by(routed, prepared, level="column", n_repeats=2)
    frame = cls_attention(routed, prepared, max_rows=300, permutation=permutation)
    assert set(frame["branch"]) == {"profile"}
    assert set(frame["column"]) == set(GROUPS["profile"])
    assert 0 < frame["cls_attention"].sum() <= 1 + 1e-6
    assert frame["permutation_importance"].notna().all()
    assert set(frame["cls_rank"]) <= {1, 2, 3}


def test_attention_tables_say_what_a_model_lacks(per_group, prepared):
    with pytest.raises(SpecError, match="sparse_dense"):
        routing_by_class(per_group, prepared)
    with pytest.raises(SpecError, match="no token attention"):
        token_attention(per_group, prepared, rows=[0])
