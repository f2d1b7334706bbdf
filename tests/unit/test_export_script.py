"""export_script: the exported build function makes the same model as build_model, and
the whole script trains end to end from a CSV in a fresh Python process."""

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest

from sattn_dash.layers import SparseAttentionWeighting, SparseDenseMultiHeadAttention
from sattn_dash.modeling import (
    BlockSpec,
    BranchSpec,
    CombinerSpec,
    HeadSpec,
    ModelSpec,
    build_model,
    export_script,
    keras_layers,
    parameter_counts,
    preset_spec,
)

ROOT = Path(__file__).resolve().parents[2]


def exported_builder(script: str):
    """The script's ``build_model`` and its settings, run against sattn-dash's own helper
    layers (so nothing is registered twice in this process)."""
    tree = ast.parse(script)
    keep = [
        node
        for node in tree.body
        if isinstance(node, ast.Assign)
        or (isinstance(node, ast.FunctionDef) and node.name == "build_model")
    ]
    namespace = {
        "keras": keras,
        "layers": keras.layers,
        "SparseAttentionWeighting": SparseAttentionWeighting,
        "SparseDenseMultiHeadAttention": SparseDenseMultiHeadAttention,
        **{name: getattr(keras_layers, name) for name in keras_layers.__all__},
    }
    exec(compile(ast.Module(body=keep, type_ignores=[]), "<exported>", "exec"), namespace)
    return namespace["build_model"], namespace


def custom_specs(prepared):
    heads = tuple(HeadSpec(t, hidden_units=(6,)) for t in prepared.tasks)
    blocks = {
        "res": (BlockSpec("residual", units=6, hidden_units=9, layers=3), BlockSpec("layernorm")),
        "norm": (BlockSpec("dense", units=5, activation="elu"), BlockSpec("batchnorm")),
        "tokens": (
            BlockSpec("feature_attention", units=8, top_k=3, cls_token=False, rate=0.0),
            BlockSpec("dropout", rate=0.2),
        ),
    }
    branches = (
        BranchSpec("res", inputs=("signal", "city"), blocks=blocks["res"]),
        BranchSpec("norm", blocks=blocks["norm"]),
        BranchSpec("tokens", inputs=("other", "member", "city"), blocks=blocks["tokens"]),
    )
    combiners = [
        CombinerSpec("mean"),
        CombinerSpec("concat"),
        CombinerSpec("sparse_dense", top_k=2, project_to=7, noisy_gating=False),
        CombinerSpec("sparse_attention", normalizer="sparsemax", penalty="entropy", project_to=4),
    ]
    return [
        ModelSpec(f"custom {c.kind}", branches, c, heads, optimizer="rmsprop") for c in combiners
    ]


@pytest.mark.parametrize("case", ["two_targets", "binary"])
def test_exported_build_function_makes_the_same_model(modeling_data, tmp_path, case):
    prepared = modeling_data[case]
    specs = custom_specs(prepared)
    if case == "two_targets":  # the custom specs cover every block and combiner kind
        specs += [preset_spec(name, prepared) for name in ("three_paths", "feature_attention")]
    X = prepared.X_val.to_numpy()[:16]
    cardinalities = {
        prepared.feature_names.index(f): n for f, n in prepared.categorical_features.items()
    }
    for spec in specs:
        script = export_script(spec, tmp_path / "table.csv", prepared)
        build_exported, settings = exported_builder(script)
        positions = {b.name: b.feature_positions(prepared) for b in spec.branches}
        keras.utils.set_random_seed(0)
        theirs = build_exported(
            len(prepared.feature_names),
            prepared.feature_names,
            positions,
            cardinalities,
            prepared.target_stats,
        )
        keras.utils.set_random_seed(0)
        ours = build_model(spec, prepared)
        # The script always selects columns (a no-op for "all"); everything else matches.
        named = {layer.name for layer in ours.layers}
        assert {layer.name for layer in theirs.layers if layer.name not in named} <= {
            f"branch_{b.name}_select" for b in spec.branches
        }
        assert named <= {layer.name for layer in theirs.layers}
        assert theirs.count_params() == ours.count_params(), spec.name
        mine, exported = ours(X), theirs(X)  # same seed, same layer order: same weights
        for key in mine:
            np.testing.assert_allclose(exported[key], mine[key], rtol=1e-5, atol=1e-5)
        assert settings["LOSS_WEIGHTS"] == {h.target: h.loss_weight for h in spec.heads}


def test_branch_inputs_are_written_as_source_columns(modeling_data, tmp_path):
    prepared = modeling_data["binary"]
    spec = custom_specs(prepared)[0]
    spec = ModelSpec(
        spec.name,
        (
            *spec.branches,
            BranchSpec("one_hot", inputs=("colour_red",), blocks=spec.branches[1].blocks),
        ),
        spec.combiner,
        spec.heads,
    )
    _, settings = exported_builder(export_script(spec, tmp_path / "t.csv", prepared))
    assert settings["BRANCH_COLUMNS"] == {
        "res": ["x0", "x1", "city"],
        "norm": None,
        "tokens": ["x2", "x3", "colour", "city", "member"],  # in table order
        "one_hot": ["colour"],  # a single one-hot column widens to its source column
    }
    assert settings["COLUMNS"] == {
        "x0": "numeric",
        "x1": "numeric",
        "x2": "numeric",
        "x3": "numeric",
        "colour": "one_hot",
        "city": "codes",
        "member": "boolean",
    }
    assert settings["TARGETS"] == {"label": "binary"}
    assert settings["CLASSES"] == {"label": ["no", "yes"]}


def test_exported_script_trains_end_to_end_from_a_csv(modeling_table, tmp_path):
    from sattn_dash.tabular import infer_schema, prepare

    table = modeling_table.drop(columns=["label"]).copy()
    table["joined"] = pd.date_range("2021-01-01", periods=len(table), freq="17h").astype(str)
    table.loc[::9, "x3"] = np.nan  # missing values get an indicator column
    csv = tmp_path / "table.csv"
    table.to_csv(csv, index=False)
    prepared = prepare(pd.read_csv(csv), infer_schema(pd.read_csv(csv), targets=["kind", "amount"]))
    assert any(f.startswith("joined_") for f in prepared.feature_names)
    spec = preset_spec("feature_attention", prepared)
    script = tmp_path / "train_model.py"
    script.write_text(export_script(spec, csv, prepared, epochs=2, batch_size=64))

    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if Path(ruff).exists():  # no undefined names, no syntax errors
        check = subprocess.run(
            [ruff, "check", "--no-cache", "--isolated", "--select", "F,E9", str(script)],
            capture_output=True,
            text=True,
        )
        assert check.returncode == 0, check.stdout

    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    run = subprocess.run(
        [sys.executable, str(script), "--out", str(tmp_path / "run")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert summary["n_features"] == len(prepared.feature_names)
    # same split and roles as prepare(), so the same embedding sizes and parameters
    assert summary["parameters"] == parameter_counts(spec, prepared).iloc[-1]["parameters"]
    assert np.isfinite(summary["test"]["loss"])
    assert {"head_kind_accuracy", "head_amount_mae"} <= set(summary["test"])
    model = keras.saving.load_model(tmp_path / "run" / "model.keras")
    assert set(model.output) == {"head_kind", "head_amount"}
