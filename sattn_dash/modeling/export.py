"""``export_script``: a spec as a standalone, readable Python training script.

The script needs keras, pandas, scikit-learn and ``sattn_dash.layers`` only: it reads the
CSV, preprocesses it with a plain scikit-learn ``ColumnTransformer`` (one pipeline per
source column, the same roles sattn-dash chose), builds the same Keras model with the same
layer names, trains it and saves ``model.keras`` and ``metrics.json``. The few helper
layers the model uses are copied into the script from ``sattn_dash.modeling.keras_layers``
so it runs without sattn-dash's other parts.
"""

from __future__ import annotations

import inspect
import textwrap
from pathlib import Path

from sattn_dash.modeling import keras_layers
from sattn_dash.modeling.build import OPTIMIZER_CLASSES, branch_prefix
from sattn_dash.modeling.spec import BlockSpec, BranchSpec, ModelSpec, head_name

_PREPROCESSING = '''
def label_text(value):
    """A value as the text sattn-dash compares labels by: 3.0 -> "3", True -> "True"."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def to_text(frame):
    frame = pd.DataFrame(frame)
    return frame.apply(lambda c: c.map(lambda v: np.nan if pd.isna(v) else label_text(v))).astype(object)


def to_numbers(frame):
    return pd.DataFrame(frame).apply(pd.to_numeric, errors="coerce")


CALENDAR = ("year", "month", "day", "weekday", "hour")


def calendar(frame):
    """Each date column as year, month, day, weekday and hour numbers."""
    frame, out = pd.DataFrame(frame), {}
    for column in frame.columns:
        dates = pd.to_datetime(frame[column], errors="coerce")
        parts = (dates.dt.year, dates.dt.month, dates.dt.day, dates.dt.day_of_week, dates.dt.hour)
        for name, values in zip(CALENDAR, parts):
            out[f"{column}_{name}"] = values.astype("float64")
    return pd.DataFrame(out, index=frame.index)


def calendar_names(transformer, columns):
    return [f"{c}_{p}" for c in columns for p in CALENDAR]


def column_pipeline(kind):
    """The preprocessing of one source column, by the role sattn-dash gave it."""
    if kind == "numeric":
        return make_pipeline(
            FunctionTransformer(to_numbers, feature_names_out="one-to-one"),
            SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
            StandardScaler(),
        )
    if kind == "one_hot":
        return make_pipeline(
            FunctionTransformer(to_text, feature_names_out="one-to-one"),
            SimpleImputer(strategy="constant", fill_value="(missing)", keep_empty_features=True),
            OneHotEncoder(handle_unknown="ignore", sparse_output=False),
        )
    if kind == "codes":  # integer codes 1..n for an embedding, 0 = unseen or missing
        return make_pipeline(
            FunctionTransformer(to_text, feature_names_out="one-to-one"),
            OrdinalEncoder(
                handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-1
            ),
            FunctionTransformer(lambda codes: codes + 1, feature_names_out="one-to-one"),
        )
    if kind == "boolean":
        return make_pipeline(
            FunctionTransformer(to_text, feature_names_out="one-to-one"),
            OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan),
            SimpleImputer(strategy="most_frequent", add_indicator=True, keep_empty_features=True),
        )
    return make_pipeline(  # datetime: the calendar numbers that vary in training
        FunctionTransformer(calendar, feature_names_out=calendar_names),
        VarianceThreshold(),
        SimpleImputer(strategy="median", keep_empty_features=True),
        StandardScaler(),
    )


def make_preprocessing():
    return ColumnTransformer(
        [(column, column_pipeline(kind), [column]) for column, kind in COLUMNS.items()],
        remainder="drop",
    )


def encode_targets(frame):
    """{target: array} with NaN where a row has no usable value."""
    y = {}
    for target, task in TARGETS.items():
        if task == "regression":
            y[target] = pd.to_numeric(frame[target], errors="coerce").to_numpy("float64")
        else:
            codes = {label_text(c): i for i, c in enumerate(CLASSES[target])}
            y[target] = frame[target].map(
                lambda v: np.nan if pd.isna(v) else codes.get(label_text(v), np.nan)
            ).to_numpy("float64")
    return y
'''

_MAIN = '''
def losses_and_metrics(target_stats):
    losses, weights, metrics = {}, {}, {}
    for target, task in TARGETS.items():
        name = HEADS[target]
        weights[name] = LOSS_WEIGHTS[target]
        if task == "binary":
            losses[name] = "binary_crossentropy"
            metrics[name] = [keras.metrics.BinaryAccuracy(name="accuracy"), keras.metrics.AUC(name="auc")]
        elif task == "multiclass":
            losses[name] = "sparse_categorical_crossentropy"
            metrics[name] = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
        else:
            # MSE in the target's units, weighed on the standardised scale.
            losses[name] = "mse"
            weights[name] /= target_stats[target][1] ** 2
            metrics[name] = [keras.metrics.MeanAbsoluteError(name="mae"), keras.metrics.RootMeanSquaredError(name="rmse")]
    return losses, weights, metrics


def split_rows(y_all, seed):
    """Train, validation and test rows, stratified on the first classification target
    when its classes allow (as sattn-dash splits)."""
    rows = np.arange(len(next(iter(y_all.values()))))
    first = next((t for t, task in TARGETS.items() if task != "regression"), None)
    strata = None if first is None else y_all[first].astype("int64")
    val_share = VAL_SIZE / (1 - TEST_SIZE)
    if strata is not None:
        try:
            rest, test = train_test_split(rows, test_size=TEST_SIZE, random_state=seed, stratify=strata)
            train, val = train_test_split(rest, test_size=val_share, random_state=seed, stratify=strata[rest])
            return train, val, test
        except ValueError:  # a class too small to share between the splits
            pass
    rest, test = train_test_split(rows, test_size=TEST_SIZE, random_state=seed)
    train, val = train_test_split(rest, test_size=val_share, random_state=seed)
    return train, val, test


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=DATA_FILE, help="CSV file with the columns below")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", default="exported_run", help="folder for model.keras and metrics.json")
    args = parser.parse_args()
    keras.utils.set_random_seed(args.seed)

    frame = pd.read_csv(args.data)
    y_all = encode_targets(frame)
    usable = np.logical_and.reduce([~np.isnan(v) for v in y_all.values()])
    frame = frame.loc[usable].reset_index(drop=True)
    y_all = {t: v[usable] for t, v in y_all.items()}
    train, val, test = split_rows(y_all, args.seed)

    preprocessing = make_preprocessing().fit(frame.iloc[train])
    X = {s: preprocessing.transform(frame.iloc[r]).astype("float32") for s, r in
         (("train", train), ("val", val), ("test", test))}
    feature_names = list(preprocessing.get_feature_names_out())
    # Model input positions of each source column, and the embedding sizes of coded ones.
    spans = {c: list(range(s.start, s.stop)) for c, s in preprocessing.output_indices_.items() if c in COLUMNS}
    cardinalities = {}
    for column, kind in COLUMNS.items():
        if kind == "codes":
            categories = preprocessing.named_transformers_[column][1].categories_[0]
            known = sum(not (isinstance(c, float) and np.isnan(c)) for c in categories)
            cardinalities[spans[column][0]] = known + 1
    positions = {
        branch: sorted(p for c in (columns or COLUMNS) for p in spans[c])
        for branch, columns in BRANCH_COLUMNS.items()
    }

    def targets_of(split_rows):
        out = {}
        for target, task in TARGETS.items():
            values = y_all[target][split_rows]
            out[HEADS[target]] = values.astype("int64" if task == "multiclass" else "float32")
        return out

    y = {"train": targets_of(train), "val": targets_of(val), "test": targets_of(test)}
    target_stats = {}
    for target, task in TARGETS.items():
        if task == "regression":
            values = y_all[target][train]
            target_stats[target] = (float(values.mean()), float(values.std()) or 1.0)

    model = build_model(len(feature_names), feature_names, positions, cardinalities, target_stats)
    losses, weights, metrics = losses_and_metrics(target_stats)
    model.compile(
        optimizer=keras.optimizers.{optimizer}(learning_rate=LEARNING_RATE),
        loss=losses,
        loss_weights=weights,
        metrics=metrics,
    )
    model.summary()
    model.fit(
        X["train"], y["train"],
        validation_data=(X["val"], y["val"]),
        epochs=args.epochs,
        batch_size=args.batch_size,
        callbacks=[keras.callbacks.EarlyStopping(patience=5, restore_best_weights=True)],
        verbose=2,
    )
    results = model.evaluate(X["test"], y["test"], batch_size=args.batch_size, verbose=0, return_dict=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "model.keras")
    summary = {
        "n_features": len(feature_names),
        "parameters": int(model.count_params()),
        "test": {k: float(v) for k, v in results.items()},
    }
    (out / "metrics.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
'''


def _column_kinds(prepared) -> dict[str, str]:
    """Source column -> how the script preprocesses it (as sattn-dash's prepare did)."""
    coded = {prepared.feature_sources[f] for f in prepared.categorical_features}
    kinds = {}
    for column in prepared.schema.feature_columns:
        role = prepared.schema.column(column).role.value
        if role == "categorical":
            kinds[column] = "codes" if column in coded else "one_hot"
        else:
            kinds[column] = role
    return kinds


def _branch_columns(branch: BranchSpec, prepared) -> list[str] | None:
    """The source columns a branch reads (None: all); groups and single model input
    columns are widened to their source columns."""
    if branch.inputs == "all":
        return None
    positions = branch.feature_positions(prepared)
    sources = {prepared.feature_sources[prepared.feature_names[p]] for p in positions}
    return [c for c in prepared.schema.feature_columns if c in sources]


def _block_code(block: BlockSpec, name: str, first: bool, branch: str) -> list[str]:
    """Lines (inside build_model, 4 spaces deep) that apply one block to ``x``."""
    if block.kind == "dense":
        return [
            f'x = layers.Dense({block.units}, activation="{block.activation}", name="{name}_dense")(x)'
        ]
    if block.kind == "dropout":
        return [f'x = layers.Dropout({block.rate!r}, name="{name}_dropout")(x)']
    if block.kind == "batchnorm":
        return [f'x = layers.BatchNormalization(name="{name}_batchnorm")(x)']
    if block.kind == "layernorm":
        return [f'x = layers.LayerNormalization(name="{name}_layernorm")(x)']
    if block.kind == "residual":
        lines = ["h = x"]
        for j in range(block.layers):
            units = block.units if j == block.layers - 1 else block.hidden_units
            lines.append(
                f'h = layers.Dense({units}, activation="{block.activation}", name="{name}_residual_dense{j}")(h)'
            )
        lines += [
            f"skip = x if x.shape[-1] == {block.units} else layers.Dense("
            f'{block.units}, use_bias=False, name="{name}_residual_project")(x)',
            f'x = layers.Add(name="{name}_residual_add")([h, skip])',
        ]
        return lines
    categorical = f'codes("{branch}")' if first else "{}"
    names = f'names("{branch}")' if first else "None"
    d = block.units
    lines = [
        f"tokens = FeatureTokenizer({d}, categorical={categorical}, cls_token={block.cls_token}, "
        f'feature_names={names}, name="{name}_tokenizer")(x)',
        f"for j in range({block.layers}):",
        "    attention, _ = SparseDenseMultiHeadAttention(",
        f"        num_heads={block.heads}, key_dim={block.key_dim}, top_k=min({block.top_k}, tokens.shape[1]),",
        f'        dropout={block.rate!r}, name=f"{name}_attention{{j}}",',
        "    )(tokens, tokens, return_attention_scores=True)",
        f'    tokens = layers.Add(name=f"{name}_attention{{j}}_add")([tokens, attention])',
        f'    tokens = layers.LayerNormalization(name=f"{name}_attention{{j}}_norm")(tokens)',
        f'    hidden = layers.Dense({2 * d}, activation="relu", name=f"{name}_ffn{{j}}_up")(tokens)',
        f'    hidden = layers.Dense({d}, name=f"{name}_ffn{{j}}_down")(hidden)',
    ]
    if block.rate:
        lines.append(
            f'    hidden = layers.Dropout({block.rate!r}, name=f"{name}_ffn{{j}}_dropout")(hidden)'
        )
    lines += [
        f'    tokens = layers.Add(name=f"{name}_ffn{{j}}_add")([tokens, hidden])',
        f'    tokens = layers.LayerNormalization(name=f"{name}_ffn{{j}}_norm")(tokens)',
        f'x = TokenPool("{block.pooling}", name="{name}_pool")(tokens)',
    ]
    return lines


def _combiner_code(spec: ModelSpec) -> list[str]:
    c = spec.combiner
    if c.kind == "concat":
        return [
            'combined = (layers.Concatenate(name="combiner")(branches) if len(branches) > 1 '
            'else layers.Identity(name="combiner")(branches[0]))'
        ]
    lines = ["widths = [int(b.shape[-1]) for b in branches]"]
    if c.project_to:
        lines.append(f"common = project_to = {c.project_to}")
    else:
        lines += [
            "common = max(widths)",
            "project_to = common if len(set(widths)) > 1 else None  # project only when widths differ",
        ]
    if c.kind == "sparse_attention":
        return lines + [
            "combined = SparseAttentionWeighting(",
            f"    num_modules={len(spec.branches)}, temperature={c.temperature!r}, "
            f"normalizer={c.normalizer!r}, project_to=project_to,",
            f'    penalty={c.penalty!r}, penalty_weight={c.penalty_weight!r}, name="combiner",',
            ")(branches)",
        ]
    if c.kind == "sparse_dense":
        return lines + [
            "combined, routing, scores = BranchRouter(",
            f"    num_branches={len(spec.branches)}, top_k={c.top_k}, num_heads={c.num_heads}, "
            f"key_dim={c.key_dim}, token_dim=common,",
            f"    noisy_gating={c.noisy_gating}, load_balance_weight={c.load_balance_weight!r}, "
            'name="combiner",',
            ")([features, *branches], return_routing=True)",
        ]
    return lines + [
        "if project_to:",
        "    branches = [",
        '        layers.Dense(common, name=f"combiner_project_{name}")(b)',
        "        for name, b in zip(BRANCH_COLUMNS, branches)",
        "    ]",
        'combined = (layers.Average(name="combiner")(branches) if len(branches) > 1 '
        'else layers.Identity(name="combiner")(branches[0]))',
    ]


def _head_code(head, task: str) -> list[str]:
    name = head_name(head.target)
    lines = ["h = combined"]
    for j, units in enumerate(head.hidden_units):
        lines.append(f'h = layers.Dense({units}, activation="relu", name="{name}_hidden{j}")(h)')
    if task == "binary":
        lines.append(
            f'outputs["{name}"] = layers.Dense(1, activation="sigmoid", dtype="float32", name="{name}")(h)'
        )
    elif task == "multiclass":
        lines.append(
            f'outputs["{name}"] = layers.Dense(len(CLASSES[{head.target!r}]), activation="softmax", '
            f'dtype="float32", name="{name}")(h)'
        )
    else:
        lines += [
            f'h = layers.Dense(1, dtype="float32", name="{name}_standardized")(h)',
            f'outputs["{name}"] = TargetRescale(*target_stats[{head.target!r}], dtype="float32", name="{name}")(h)',
        ]
    return lines


def _build_code(spec: ModelSpec, prepared) -> str:
    body = [
        "def names(branch):",
        "    return [feature_names[p] for p in positions[branch]]",
        "",
        "def codes(branch):  # embedding sizes of the branch's integer-coded columns",
        "    return {j: cardinalities[p] for j, p in enumerate(positions[branch]) if p in cardinalities}",
        "",
        'features = keras.Input(shape=(n_features,), name="features")',
        "branches = []",
    ]
    for branch in spec.branches:
        prefix = branch_prefix(branch.name)
        body += [
            "",
            f"# branch {branch.name!r}",
            f'x = ColumnSelect(positions["{branch.name}"], feature_names=names("{branch.name}"), '
            f'name="{prefix}_select")(features)',
        ]
        for i, block in enumerate(branch.blocks):
            body += _block_code(block, f"{prefix}_{i}", i == 0, branch.name)
        body.append(f'branches.append(layers.Identity(name="{prefix}_output")(x))')
    body += ["", "# combiner"] + _combiner_code(spec)
    body += ["", "# one head per target", "outputs = {}"]
    for head in spec.heads:
        body += _head_code(head, prepared.tasks[head.target])
    body.append(f"return keras.Model(features, outputs, name={_safe_name(spec.name)!r})")
    return (
        "def build_model(n_features, feature_names, positions, cardinalities, target_stats):\n"
        f'    """The {spec.name} architecture, layer for layer as sattn-dash builds it."""\n'
        + textwrap.indent("\n".join(body), "    ")
        + "\n"
    )


def _safe_name(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "_-" else "_" for c in name).strip("_")
    return cleaned or "model"


def _helper_layers(spec: ModelSpec) -> list[type]:
    needed = [keras_layers.ColumnSelect]
    blocks = {b.kind for branch in spec.branches for b in branch.blocks}
    if "feature_attention" in blocks:
        needed += [keras_layers.FeatureTokenizer, keras_layers.TokenPool]
    if spec.combiner.kind == "sparse_dense":
        needed.append(keras_layers.BranchRouter)
    return needed + [keras_layers.TargetRescale]


def export_script(
    spec: ModelSpec,
    data_file,
    prepared,
    *,
    epochs: int = 20,
    batch_size: int = 64,
    seed: int | None = None,
) -> str:
    """A Python script that rebuilds and trains ``spec`` on ``data_file`` (a CSV).

    ``prepared`` is the data the spec was made for: it supplies each column's role, the
    column groups, the targets, their tasks and class labels, and (by default) the seed
    and split sizes.
    """
    seed = prepared.seed if seed is None else seed
    spec.validate(prepared)
    branch_columns = {b.name: _branch_columns(b, prepared) for b in spec.branches}
    helpers = "\n\n".join(inspect.getsource(cls) for cls in _helper_layers(spec))
    config = "\n".join(
        [
            f"DATA_FILE = {str(Path(data_file))!r}",
            f"TARGETS = {dict(prepared.tasks)!r}",
            f"CLASSES = {dict(prepared.classes)!r}",
            f"HEADS = { ({t: head_name(t) for t in prepared.tasks})!r}",
            f"LOSS_WEIGHTS = { ({h.target: h.loss_weight for h in spec.heads})!r}",
            "# how each source column is preprocessed (the role sattn-dash gave it)",
            f"COLUMNS = {_column_kinds(prepared)!r}",
            "# source columns of each branch (None: every column)",
            f"BRANCH_COLUMNS = {branch_columns!r}",
            f"EPOCHS, BATCH_SIZE, SEED = {epochs}, {batch_size}, {seed}",
            f"TEST_SIZE, VAL_SIZE = {prepared.test_size!r}, {prepared.val_size!r}",
            f"LEARNING_RATE = {spec.learning_rate!r}",
        ]
    )
    spec_lines = textwrap.indent(spec.to_json(), "#   ", lambda line: True)
    header = f'''"""Train an architecture exported from sattn-dash on a CSV file.

Usage: python this_script.py [--data FILE.csv] [--epochs N] [--batch-size N] [--seed N]
       [--out FOLDER]
Needs keras, tensorflow, pandas, scikit-learn and the sattn_dash package (for its
layers: SparseAttentionWeighting, SparseDenseMultiHeadAttention).
"""

# The spec this script was made from:
{spec_lines}

import argparse
import json
from pathlib import Path

import keras
import numpy as np
import pandas as pd
from keras import layers, ops
from sklearn.compose import ColumnTransformer
from sklearn.feature_selection import VarianceThreshold
from sklearn.impute import SimpleImputer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler

from sattn_dash.layers import SparseAttentionWeighting, SparseDenseMultiHeadAttention
'''
    main = _MAIN.replace("{optimizer}", OPTIMIZER_CLASSES[spec.optimizer].__name__)
    parts = [config, helpers, _PREPROCESSING, _build_code(spec, prepared), main]
    return header.rstrip() + "\n\n\n" + "\n\n\n".join(p.strip() for p in parts) + "\n"
