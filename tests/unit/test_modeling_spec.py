"""ModelSpec: JSON round trip, validation that names the bad field, presets as specs,
and the DOT diagram. Nothing here trains a model."""

import dataclasses
import json
import shutil
import subprocess

import pytest

from sattn_dash.errors import SpecError
from sattn_dash.modeling import (
    PRESETS,
    BlockSpec,
    BranchSpec,
    CombinerSpec,
    HeadSpec,
    ModelSpec,
    combiner,
    combiner_kinds,
    head_name,
    preset_spec,
    spec_to_dot,
)


def small_spec(**changes) -> ModelSpec:
    spec = ModelSpec(
        name="small",
        branches=(
            BranchSpec("a", blocks=(BlockSpec("dense", units=8, activation="relu"),)),
            BranchSpec(
                "b",
                inputs=("signal",),
                blocks=(BlockSpec("dense", units=4), BlockSpec("dropout", rate=0.1)),
            ),
        ),
        combiner=CombinerSpec("sparse_attention", temperature=0.5),
        heads=(HeadSpec("label"),),
    )
    return dataclasses.replace(spec, **changes)


def with_block(block: BlockSpec, index: int = 1) -> ModelSpec:
    spec = small_spec()
    branches = list(spec.branches)
    branches[index] = dataclasses.replace(branches[index], blocks=(block,))
    return dataclasses.replace(spec, branches=tuple(branches))


# --- JSON round trip ---------------------------------------------------------------------


@pytest.mark.parametrize("name", list(PRESETS))
@pytest.mark.parametrize("case", ["binary", "two_targets"])
def test_every_preset_survives_a_json_round_trip(modeling_data, name, case):
    spec = preset_spec(name, modeling_data[case])
    text = spec.to_json()
    again = ModelSpec.from_json(text)
    assert again == spec
    assert again.to_json() == text
    assert json.loads(text)["preset"] == name


def test_defaults_are_written_out_so_a_saved_spec_says_what_was_built():
    block = BlockSpec("feature_attention")
    assert (block.units, block.heads, block.top_k, block.layers) == (16, 2, 4, 1)
    assert block.cls_token is True and block.pooling == "cls"
    assert BlockSpec("feature_attention", cls_token=False).pooling == "mean"
    residual = BlockSpec("residual", units=12)
    assert residual.hidden_units == 12 and residual.layers == 2
    data = BlockSpec("dense", units=3).to_dict()
    assert data == {"kind": "dense", "units": 3, "activation": "linear"}


def test_from_dict_accepts_a_hand_written_spec_with_defaults_left_out():
    spec = ModelSpec.from_dict(
        {
            "name": "by hand",
            "branches": [{"name": "only", "blocks": [{"kind": "dense", "units": 4}]}],
            "heads": [{"target": "label"}],
        }
    )
    assert spec.branches[0].inputs == "all"
    assert spec.combiner == CombinerSpec()
    assert spec.heads == (HeadSpec("label"),)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "x", "branches": [], "heads": [], "colour": 1}, "spec.colour: unknown field"),
        (
            {"name": "x", "branches": [{"name": "a", "blocs": []}], "heads": []},
            "branches[0].blocs: unknown field",
        ),
        (
            {
                "name": "x",
                "branches": [{"name": "a", "blocks": [{"kind": "dense", "unit": 3}]}],
                "heads": [],
            },
            "branches[0].blocks[0].unit: unknown field",
        ),
        ({"name": "x", "branches": "a", "heads": []}, "branches: expected a list"),
        ({"spec_version": 99, "name": "x", "branches": [], "heads": []}, "spec_version"),
        ([1, 2], "expected an object"),
    ],
)
def test_malformed_json_specs_name_the_field(data, message):
    with pytest.raises(SpecError, match=message.replace("[", r"\[").replace("]", r"\]")):
        ModelSpec.from_dict(data)


def test_not_json_at_all_is_a_spec_error():
    with pytest.raises(SpecError, match="not valid JSON"):
        ModelSpec.from_json("{name: ")


# --- validation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "field", "hint"),
    [
        (small_spec(branches=()), "branches", "at least one branch"),
        (
            with_block(BlockSpec("dense", units=4, activation="relux")),
            "branches[1].blocks[0].activation",
            "unknown activation 'relux'; choose one of 'linear', 'relu'",
        ),
        (with_block(BlockSpec("dense", units=0)), "branches[1].blocks[0].units", ">= 1"),
        (with_block(BlockSpec("dense")), "branches[1].blocks[0].units", "needs 'units'"),
        (with_block(BlockSpec("dense", units=2.5)), "branches[1].blocks[0].units", "whole number"),
        (with_block(BlockSpec("dropout", rate=1.0)), "branches[1].blocks[0].rate", "< 1"),
        (
            with_block(BlockSpec("dropout", rate=0.2, units=3)),
            "branches[1].blocks[0].units",
            "does not use",
        ),
        (
            with_block(BlockSpec("conv", units=3)),
            "branches[1].blocks[0].kind",
            "unknown block kind",
        ),
        (
            with_block(BlockSpec("feature_attention", top_k=0)),
            "branches[1].blocks[0].top_k",
            ">= 1",
        ),
        (
            with_block(BlockSpec("feature_attention", cls_token=False, pooling="cls")),
            "branches[1].blocks[0].pooling",
            "needs a CLS token",
        ),
        (
            small_spec(branches=(BranchSpec("a", blocks=()),)),
            "branches[0].blocks",
            "at least one block",
        ),
        (
            small_spec(branches=(BranchSpec("two words", blocks=(BlockSpec("layernorm"),)),)),
            "branches[0].name",
            "letter followed by letters",
        ),
        (
            small_spec(
                branches=(
                    BranchSpec("a", blocks=(BlockSpec("layernorm"),)),
                    BranchSpec("a", blocks=(BlockSpec("batchnorm"),)),
                )
            ),
            "branches[1].name",
            "used by another branch",
        ),
        (
            small_spec(
                branches=(
                    BranchSpec("a_1", blocks=(BlockSpec("layernorm"),)),
                    BranchSpec("a", blocks=(BlockSpec("batchnorm"),)),
                )
            ),
            "branches[1].name",
            "'a_1' is 'a' plus '_<number>'",
        ),
        (small_spec(combiner=CombinerSpec(temperature=0)), "combiner.temperature", "> 0"),
        (small_spec(combiner=CombinerSpec(temperature=-1.0)), "combiner.temperature", "> 0"),
        (
            small_spec(combiner=CombinerSpec(normalizer="max")),
            "combiner.normalizer",
            "unknown normalizer",
        ),
        (small_spec(combiner=CombinerSpec(penalty="l3")), "combiner.penalty", "unknown penalty"),
        (small_spec(combiner=CombinerSpec("sparse_dense", top_k=0)), "combiner.top_k", ">= 1"),
        (
            small_spec(combiner=CombinerSpec("sparse_dense", top_k=3)),
            "combiner.top_k",
            "more than the 2 modules",
        ),
        (
            small_spec(combiner=CombinerSpec("sparse_dense", load_balance_weight=-0.1)),
            "combiner.load_balance_weight",
            ">= 0",
        ),
        (small_spec(combiner=CombinerSpec("voting")), "combiner.kind", "unknown combiner kind"),
        (small_spec(heads=()), "heads", "one head per target"),
        (
            small_spec(heads=(HeadSpec("label", loss_weight=0.0),)),
            "heads",
            "every loss_weight is 0",
        ),
        (
            small_spec(heads=(HeadSpec("label", hidden_units=(8, 0)),)),
            "heads[0].hidden_units[1]",
            ">= 1",
        ),
        (
            small_spec(heads=(HeadSpec("label"), HeadSpec("label"))),
            "heads[1].target",
            "one head per target",
        ),
        (small_spec(optimizer="adagrad2"), "optimizer", "unknown optimizer"),
        (small_spec(learning_rate=0), "learning_rate", "> 0"),
        (small_spec(name=" "), "name", "needs a name"),
    ],
)
def test_invalid_specs_raise_spec_error_naming_the_field(spec, field, hint):
    with pytest.raises(SpecError) as error:
        spec.validate()
    message = str(error.value)
    assert message.startswith(f"{field}:"), message
    assert hint in message


@pytest.mark.parametrize(
    ("change", "field", "hint"),
    [
        (
            {"branches": (BranchSpec("a", inputs=("nope",), blocks=(BlockSpec("layernorm"),)),)},
            "branches[0].inputs[0]",
            "no feature column or group named 'nope'",
        ),
        ({"heads": (HeadSpec("label"), HeadSpec("price"))}, "heads[1].target", "no target 'price'"),
        ({"heads": (HeadSpec("kind"),)}, "heads[0].target", "targets are 'label'"),
    ],
)
def test_spec_is_checked_against_the_data(modeling_data, change, field, hint):
    spec = small_spec(**change)
    spec.validate()  # fine on its own
    for data in (modeling_data["binary"], modeling_data["binary"].schema):
        with pytest.raises(SpecError) as error:
            spec.validate(data)
        assert str(error.value).startswith(f"{field}:")
        assert hint in str(error.value)


def test_every_target_needs_a_head(modeling_data):
    with pytest.raises(SpecError, match="heads: no head for target 'amount'"):
        small_spec(heads=(HeadSpec("kind"),)).validate(modeling_data["two_targets"])


def test_branch_inputs_may_be_groups_columns_or_model_inputs(modeling_data):
    prepared = modeling_data["binary"]
    spec = small_spec(
        branches=(
            BranchSpec("g", inputs=("signal", "city"), blocks=(BlockSpec("layernorm"),)),
            BranchSpec("one_hot", inputs=("colour_red",), blocks=(BlockSpec("layernorm"),)),
        )
    )
    spec.validate(prepared)
    positions = spec.branches[0].feature_positions(prepared)
    assert [prepared.feature_names[p] for p in positions] == ["x0", "x1", "city"]
    assert spec.branches[1].feature_positions(prepared) == [
        prepared.feature_names.index("colour_red")
    ]


def test_every_combiner_says_what_it_is_and_reads_only_spec_fields():
    fields = {f.name for f in dataclasses.fields(CombinerSpec)}
    for kind in combiner_kinds():
        c = combiner(kind)
        assert c.kind == kind and c.title and c.description
        assert set(c.searched) <= set(c.options) <= fields
        small_spec(combiner=CombinerSpec(kind)).validate()  # its defaults are valid
    with pytest.raises(SpecError, match="unknown combiner kind 'voting'"):
        combiner("voting")


def test_group_names_become_valid_distinct_branch_names(modeling_table):
    from sattn_dash.tabular import infer_schema, prepare

    groups = {"x": ("x0",), "x 1": ("x1",), "2nd-group": ("x2",), "x_1": ("x3",)}
    table = modeling_table.drop(columns=["kind", "amount"])
    prepared = prepare(table, infer_schema(table, targets="label", groups=groups))
    spec = preset_spec("per_group", prepared)
    assert spec.branch_names[:4] == ["x", "x1", "g2nd_group", "x12"]
    assert spec.branches[3].inputs == ("x_1",)


def test_head_names_are_valid_keras_names():
    assert head_name("price") == "head_price"
    assert head_name("Miles per/Gallon") == "head_Miles_per_Gallon"


# --- presets -----------------------------------------------------------------------------


def test_presets_cover_the_kmr_examples_and_say_what_they_are_for(modeling_data):
    expected = {
        "three_branch": 0.7,
        "three_paths": 0.5,
        "dropout_ladder": 0.3,
        "ensemble": 0.4,
        "multi_scale": 0.6,
    }
    prepared = modeling_data["two_targets"]
    for name, temperature in expected.items():
        spec = preset_spec(name, prepared)
        assert spec.combiner.kind == "sparse_attention"
        assert spec.combiner.temperature == temperature
    assert {"per_group", "feature_attention"} <= set(PRESETS)
    for preset in PRESETS.values():
        assert preset.title and "\n" not in preset.summary and len(preset.summary) < 200


def test_presets_follow_the_data(modeling_data):
    two = modeling_data["two_targets"]
    ladder = preset_spec("dropout_ladder", two)
    assert [h.target for h in ladder.heads] == ["kind", "amount"]
    assert [h.loss_weight for h in ladder.heads] == [1.0, 0.5]
    assert [b.blocks[1].rate for b in ladder.branches] == [0.1, 0.2, 0.3, 0.4]
    scales = preset_spec("multi_scale", two)
    assert {h.target: h.loss_weight for h in scales.heads} == {"kind": 1.0, "amount": 0.5}
    assert [
        h.loss_weight for h in preset_spec("multi_scale", modeling_data["regression"]).heads
    ] == [1.0]
    groups = preset_spec("per_group", two)
    assert [b.name for b in groups.branches] == ["signal", "other", "city", "member"]
    assert [b.inputs for b in groups.branches] == [("signal",), ("other",), ("city",), ("member",)]
    residual = preset_spec("three_branch", two).branch("residual").blocks[0]
    assert (residual.kind, residual.units, residual.hidden_units) == ("residual", 16, 32)


def test_unknown_preset_lists_the_choices(modeling_data):
    with pytest.raises(
        SpecError, match="no preset named 'nope'; choose one of column_groups, tabm, three_branch"
    ):
        preset_spec("nope", modeling_data["binary"])


# --- diagram -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["three_branch", "feature_attention", "routed_experts", "per_group"]
)
def test_dot_diagram_shows_every_part_and_renders(modeling_data, name):
    prepared = modeling_data["two_targets"]
    spec = preset_spec(name, prepared)
    dot = spec_to_dot(spec, prepared)
    for branch in spec.branches:
        assert f"branch {branch.name}" in dot
    assert "head kind" in dot and "multiclass: softmax" in dot and "regression" in dot
    assert dot == spec_to_dot(spec, prepared)  # deterministic
    assert "    features ->" not in dot  # edges from the input stay outside the clusters
    assert "features" in spec_to_dot(spec)  # also without data
    if shutil.which("dot"):
        svg = subprocess.run(
            ["dot", "-Tsvg"], input=dot, capture_output=True, text=True, check=True
        )
        assert "<svg" in svg.stdout


def test_dot_escapes_quotes_in_names(modeling_data):
    spec = small_spec(name='my "best" model')
    dot = spec_to_dot(spec)
    assert 'digraph "my \\"best\\" model"' in dot
    if shutil.which("dot"):
        subprocess.run(["dot", "-Tsvg"], input=dot, capture_output=True, text=True, check=True)
