"""Per-row attributions: how much each of the user's columns, and each branch, moved one
prediction away from the prediction for a fixed, typical row.

Integrated gradients over the model input (``analysis.attributions.gradients``), from one documented
baseline row to each explained row:

- the **baseline** is the training split's typical row: the median of every numeric
  model input, the most frequent value of 0/1 inputs (booleans, missing flags) and of
  integer category codes, and the most frequent category of a one-hot column (its whole
  one-hot pattern, so the baseline is a row that can exist);
- model inputs are **folded into their source column**: one-hot codes, missing flags and
  calendar parts add up to the column they came from;
- integer category codes (embedding lookups) have no gradient, so along the path the
  output is blended from the model with the baseline's codes (weight ``1 - alpha``) to
  the model with the row's codes (weight ``alpha``). The codes' share is the jump
  between the two, averaged over the whole path (each code alone, plus an equal split
  of what the codes do only together), and the gradients of the blend carry the rest.
  Switching codes at the baseline alone would overstate them: the baseline often sits
  where the output is steepest;
- **branches** get integrated gradients over the combiner's inputs (each branch output,
  from its value at the baseline row to its value at this row), with the part that goes
  through a router's per-row query reported as ``ROUTING_QUERY``;
- **completeness**: attributions add up to ``prediction - baseline prediction``; the
  gap is reported per row against a tolerance (``RTOL`` of the difference, at least
  ``ATOL`` of the output's scale), and rows over it are redone with twice the steps up
  to ``MAX_STEPS``. A top-k choice that flips along the path is a jump no gradient sees:
  such rows stay over the tolerance and say so.

What is explained per target: the probability of class 1 (binary), of the predicted
class (multiclass), or the prediction in the target's units (regression).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import tensorflow as tf

from sattn_dash.analysis.attributions.gradients import (
    MAX_POINTS,
    gradient_function,
    integrated_gradients,
    quadrature,
)
from sattn_dash.analysis.model_view import ModelView, sample_rows
from sattn_dash.analysis.modules.agreement import importance_rank
from sattn_dash.errors import SpecError
from sattn_dash.modeling import head_name, named_sums
from sattn_dash.tabular import Role
from sattn_dash.training.importance import branch_importance

if TYPE_CHECKING:
    from sattn_dash.tabular.prepared import PreparedData

DEFAULT_STEPS = 32
MAX_STEPS = 256
RTOL, ATOL = 0.01, 0.001
#: A gap that changes by less than this share when the steps double is a jump.
JUMP_STEADY = 0.1
ROUTING_QUERY = "(routing query)"
ATTENTION = "attention/"

Progress = Callable[[float, str], None]


def baseline_frame(prepared: PreparedData) -> pd.DataFrame:
    """The baseline row: one row per model input with ``feature, column, rule, value``."""
    X = prepared.X_train
    rows = []
    for column, features in _sources(prepared).items():
        role = prepared.schema.column(column).role if column in prepared.schema.names else None
        if len(features) > 1 and role == Role.categorical:
            pattern = X[features].round(6).value_counts().idxmax()
            values = dict(zip(features, np.atleast_1d(pattern), strict=True))
            rows += [(f, column, "most frequent category", values[f]) for f in features]
            continue
        for feature in features:
            values = X[feature].to_numpy(dtype=float)
            if feature in prepared.categorical_features or np.isin(values, (0.0, 1.0)).all():
                rule, value = "most frequent value", pd.Series(values).mode().iloc[0]
            else:
                rule, value = "training median", np.median(values)
            rows.append((feature, column, rule, value))
    frame = pd.DataFrame(rows, columns=["feature", "column", "rule", "value"])
    order = {f: i for i, f in enumerate(prepared.feature_names)}
    return frame.sort_values("feature", key=lambda s: s.map(order), ignore_index=True)


def _sources(prepared: PreparedData) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for feature in prepared.feature_names:
        found.setdefault(prepared.feature_sources[feature], []).append(feature)
    return found


class RowExplainer:
    """Integrated gradients of one trained model against the training baseline."""

    def __init__(self, model, prepared: PreparedData):
        self.view = ModelView(model, prepared)
        self.model = model
        self.prepared = prepared
        self.baseline = baseline_frame(prepared)["value"].to_numpy(dtype=np.float32)
        self.discrete = [
            i for i, f in enumerate(prepared.feature_names) if f in prepared.categorical_features
        ]
        self.sources = np.asarray(
            [prepared.feature_sources[f] for f in prepared.feature_names], dtype=object
        )
        self.columns = list(dict.fromkeys(self.sources))
        #: the branches a row is explained by: the names the user gave
        self.names = self.view.named_modules()
        self._gradients: dict[tuple[str, str], Callable] = {}

    # -- what is explained -----------------------------------------------------------
    def selection(self, outputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The output index explained per target and row (the predicted class)."""
        chosen = {}
        for target, out in outputs.items():
            out = np.asarray(out).reshape(len(out), -1)
            multiclass = self.prepared.tasks[target] == "multiclass"
            chosen[target] = out.argmax(axis=1) if multiclass else np.zeros(len(out), int)
        return chosen

    def output_label(self, target: str, index: int) -> str:
        task = self.prepared.tasks[target]
        if task == "regression":
            return f"{target} (predicted value)"
        classes = self.prepared.classes[target]
        return f"P({target} = {classes[1 if task == 'binary' else index]})"

    def scale(self, target: str) -> float:
        if self.prepared.tasks[target] != "regression":
            return 1.0
        return float(self.prepared.target_stats[target][1]) or 1.0

    def _scalars(self, outputs: dict[str, np.ndarray], chosen) -> dict[str, np.ndarray]:
        return {
            t: np.asarray(out).reshape(len(out), -1)[np.arange(len(out)), chosen[t]]
            for t, out in outputs.items()
        }

    def _gradient(self, through: str, target: str) -> Callable:
        """The traced gradient of ``target``'s explained output, through the whole model
        (``"inputs"``) or from the branch outputs on (``"branches"``)."""
        key = (through, target)
        if key not in self._gradients:
            model = self.model if through == "inputs" else self.view.downstream
            name = head_name(target)

            def output(inputs, select):
                out = model(inputs if len(inputs) > 1 else inputs[0], training=False)
                out = out[name] if isinstance(out, dict) else out
                out = tf.reshape(tf.cast(out, tf.float32), (tf.shape(out)[0], -1))
                return tf.gather(out, select, axis=1, batch_dims=1)

            self._gradients[key] = gradient_function(output)
        return self._gradients[key]

    # -- the attributions --------------------------------------------------------------
    def attribute(self, X: np.ndarray, steps: int, on_chunk=None) -> dict:
        """Column and branch attributions of rows ``X`` (model inputs) for every target."""
        X = np.asarray(X, dtype=np.float32)
        n = len(X)
        base = np.broadcast_to(self.baseline, X.shape).copy()
        outputs = self.view.outputs(X)
        chosen = self.selection(outputs)
        predicted = self._scalars(outputs, chosen)
        at_base = self._scalars(self.view.outputs(base), chosen)
        # The path's two ends with the other end's codes: the blend's two halves.
        with_base_codes, with_row_codes = X.copy(), base.copy()
        with_base_codes[:, self.discrete] = base[:, self.discrete]
        with_row_codes[:, self.discrete] = X[:, self.discrete]
        jumps = self._code_jumps(X, base, chosen, steps)
        explained = self.view.explain(X, ("branch_outputs",))["branch_outputs"]
        at_base_branches = self.view.explain(base[:1], ("branch_outputs",))["branch_outputs"]
        base_branches = [np.repeat(b, n, axis=0) for b in at_base_branches]
        result = {}
        for target in self.view.targets:
            gradient = self._gradient("inputs", target)
            if self.discrete:
                first, second = _halves(on_chunk, n)
                (down,) = integrated_gradients(
                    gradient, [base], [with_base_codes], chosen[target], steps, first, "down"
                )
                (up,) = integrated_gradients(
                    gradient, [with_row_codes], [X], chosen[target], steps, second, "up"
                )
                inputs = down + up
                inputs[:, self.discrete] = jumps[target]
            else:
                (inputs,) = integrated_gradients(
                    gradient, [base], [X], chosen[target], steps, on_chunk
                )
            features, *branches = integrated_gradients(
                self._gradient("branches", target),
                [base, *base_branches],
                [X, *explained],
                chosen[target],
                steps,
            )
            by_module = dict(zip(self.view.branches, (b.sum(1) for b in branches), strict=True))
            named = named_sums(self.names, by_module).values()
            result[target] = {
                "columns": self._fold(inputs),
                "branches": np.stack([features.sum(1), *named], axis=1),
                "prediction": predicted[target],
                "baseline": at_base[target],
                "chosen": chosen[target],
            }
        return result

    def _code_jumps(self, X, base, chosen, steps) -> dict[str, np.ndarray]:
        """Per target, ``(rows, codes)``: the output's jump when the codes switch from the
        baseline's to the row's, averaged along the path (the gradients' quadrature):
        each code's switch alone plus an equal share of what the switched codes do only
        together; they add up to the joint switch."""
        n, k = len(X), len(self.discrete)
        jumps = {t: np.zeros((n, k), np.float32) for t in self.view.targets}
        switched = X[:, self.discrete] != base[:, self.discrete]
        moved = np.flatnonzero(switched.any(1))
        if not moved.size:
            return jumps
        alphas, weights = quadrature(steps)
        chunk = max(1, MAX_POINTS // (len(alphas) * (k + 2)))
        for begin in range(0, moved.size, chunk):
            rows = moved[begin : begin + chunk]
            x, b = X[rows], base[rows]
            path = b[None] + alphas[:, None, None] * (x - b)[None]  # (steps, rows, inputs)
            path[:, :, self.discrete] = b[:, self.discrete]
            variants = np.repeat(path[None], k + 2, axis=0)  # base codes, all, each alone
            variants[1][:, :, self.discrete] = x[:, self.discrete]
            for j, position in enumerate(self.discrete):
                variants[2 + j][:, :, position] = x[:, position]
            picked = {t: np.tile(c[rows], (k + 2) * len(alphas)) for t, c in chosen.items()}
            outputs = self.view.outputs(variants.reshape(-1, X.shape[1]))
            for target, out in self._scalars(outputs, picked).items():
                out = out.reshape(k + 2, len(alphas), len(rows))
                averaged = np.tensordot(weights, out[1:] - out[0], axes=(0, 1))  # (k+1, rows)
                each = np.where(switched[rows], averaged[1:].T, 0.0)
                rest = averaged[0] - each.sum(1)
                share = switched[rows] / np.maximum(switched[rows].sum(1, keepdims=True), 1)
                jumps[target][rows] = each + rest[:, None] * share
        return jumps

    def _fold(self, inputs: np.ndarray) -> np.ndarray:
        """``(rows, model inputs)`` -> ``(rows, source columns)`` by summing."""
        return np.stack([inputs[:, self.sources == c].sum(1) for c in self.columns], axis=1)

    @property
    def branch_labels(self) -> list[str]:
        return [ROUTING_QUERY, *self.names]

    # -- attention of the same rows -------------------------------------------------
    def attention(self, X: np.ndarray) -> pd.DataFrame:
        """What each row attends to, on the items attributions are folded to: ``row,
        comparison, branch, item, attention``. The combiner's weights or routing over
        branches; every attention layer's weights over its feature tokens (the [CLS]
        query's when there is one, else the mean over queries; heads averaged; tokens
        of one source column added up)."""
        view = self.view
        n = len(X)
        parts = []
        if view.is_weighting:
            named = branch_importance(self.model, self.prepared)
            weights = np.tile(list(named.values()), (n, 1))
            parts.append(_long(weights, "combiner weights", "combiner", list(named)))
        explained = view.explain(X, None) if view.is_router or view.token_names else {}
        if view.is_router:
            routing = np.asarray(explained["routing"])
            parts.append(_long(routing, "routing", "combiner", view.branches))
        for key, names in view.token_names.items():
            if key == f"{ATTENTION}combiner":
                continue
            scores = np.asarray(explained[key], dtype=np.float64)
            has_cls = names[0] == "[CLS]" and scores.shape[2] == len(names)
            weights = scores[:, :, 0, :] if has_cls else scores.mean(axis=2)
            weights = weights.mean(axis=1)  # (rows, keys)
            keys = np.asarray(
                [self.prepared.feature_sources.get(k, k) for k in names], dtype=object
            )
            items = [k for k in dict.fromkeys(keys) if k != "[CLS]"]
            folded = np.stack([weights[:, keys == item].sum(1) for item in items], axis=1)
            layer = key[len(ATTENTION) :]
            parts.append(_long(folded, layer, self._owner(layer), items))
        if parts:
            return pd.concat(parts, ignore_index=True)
        # No attention at all (a mean or concat combiner): empty, with the row positions
        # still whole numbers, since callers index arrays by them.
        empty = {"row": "int64", "comparison": object, "branch": object, "item": object}
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in empty.items()}).assign(
            attention=pd.Series(dtype="float64")
        )

    def _owner(self, layer: str) -> str:
        owners = [b for b in self.view.branches if layer.startswith(f"branch_{b}_")]
        return max(owners, key=len) if owners else layer


_EXPLAINERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def row_explainer(model, prepared: PreparedData) -> RowExplainer:
    """The ``RowExplainer`` of a model and its data, kept while the model lives, so its
    traced gradients serve every later call (a what-if edit re-explains one row)."""
    per_model = _EXPLAINERS.setdefault(model, {})
    if id(prepared) not in per_model:
        per_model.clear()
        per_model[id(prepared)] = RowExplainer(model, prepared)
    return per_model[id(prepared)]


def _halves(on_chunk, n: int):
    """``on_chunk`` for a pass over the rows done in two halves: each reports half."""
    if on_chunk is None:
        return None, None
    return (lambda done: on_chunk(done // 2)), (lambda done: on_chunk((n + done) // 2))


def _long(matrix: np.ndarray, comparison: str, branch: str, items: list[str]) -> pd.DataFrame:
    n, m = matrix.shape
    return pd.DataFrame(
        {
            "row": np.repeat(np.arange(n), m),
            "comparison": comparison,
            "branch": branch,
            "item": np.tile(np.asarray(items, dtype=object), n),
            "attention": np.asarray(matrix, dtype=float).reshape(-1),
        }
    )


def explain_inputs(
    model,
    prepared: PreparedData,
    X,
    row_index=None,
    steps: int = DEFAULT_STEPS,
    progress: Progress | None = None,
) -> dict[str, pd.DataFrame]:
    """Attributions, completeness and attention of rows ``X`` (model inputs, as
    ``PreparedData.transform`` gives them). Returns tidy frames keyed ``columns``,
    ``branches`` (``row, row_index, target, output, <unit>, attribution, share, rank``),
    ``completeness`` (per row and target: ``prediction, baseline_prediction,
    difference, column_sum, column_gap, branch_sum, branch_gap, tolerance, steps,
    complete``) and ``attention`` (``row, row_index, comparison, branch, item,
    attention``). ``row`` is the position in ``X``."""
    if not isinstance(steps, int) or not 4 <= steps <= MAX_STEPS:
        raise SpecError(f"steps must be a whole number from 4 to {MAX_STEPS}, got {steps!r}.")
    explainer = row_explainer(model, prepared)
    X = np.asarray(X, dtype=np.float32)
    n = len(X)
    row_index = np.arange(n) if row_index is None else np.asarray(row_index)
    notify = progress or (lambda share, message: None)
    targets = explainer.view.targets

    def on_chunk(done: int) -> None:
        notify(0.9 * done / max(n, 1), f"{done:,} of {n:,} rows")

    result = explainer.attribute(X, steps, on_chunk)
    used = np.full(n, steps)
    todo, worst = _incomplete(explainer, result)
    while todo.size and used[todo[0]] * 2 <= MAX_STEPS:
        more = int(used[todo[0]] * 2)
        notify(0.9, f"{todo.size:,} rows again with {more} steps")
        redo = explainer.attribute(X[todo], more)
        for target in targets:
            for key in ("columns", "branches"):
                result[target][key][todo] = redo[target][key]
        used[todo] = more
        over, gap = _incomplete(explainer, redo)
        moved = np.abs(gap - worst[todo]) > JUMP_STEADY * worst[todo]
        worst[todo] = gap
        # A gap that more steps leave where it was is a jump (a top-k choice flipping
        # along the path), not quadrature error: no number of steps closes it.
        todo = todo[over[moved[over]]]
    notify(0.95, "attention of the same rows")
    attention = explainer.attention(X)
    attention.insert(1, "row_index", row_index[attention["row"].to_numpy()])
    frames = _frames(explainer, result, row_index, used)
    frames["attention"] = attention
    notify(1.0, "done")
    return frames


def _gaps(explainer, parts) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    out = {}
    for target, p in parts.items():
        difference = p["prediction"] - p["baseline"]
        tolerance = np.maximum(RTOL * np.abs(difference), ATOL * explainer.scale(target))
        out[target] = (
            np.abs(p["columns"].sum(1) - difference),
            np.abs(p["branches"].sum(1) - difference),
            tolerance,
        )
    return out


def _incomplete(explainer, parts) -> tuple[np.ndarray, np.ndarray]:
    """Positions of rows over the tolerance, and each row's worst gap (in tolerances)."""
    worst = np.zeros(len(next(iter(parts.values()))["prediction"]))
    for column_gap, branch_gap, tolerance in _gaps(explainer, parts).values():
        worst = np.maximum(worst, np.maximum(column_gap, branch_gap) / tolerance)
    return np.flatnonzero(worst > 1), worst


def _frames(explainer, result, row_index, used) -> dict[str, pd.DataFrame]:
    columns, branches, complete = [], [], []
    gaps = _gaps(explainer, result)
    labels = explainer.branch_labels
    keep = slice(None) if explainer.view.is_router else slice(1, None)
    for target, p in result.items():
        n = len(p["prediction"])
        output = np.asarray([explainer.output_label(target, c) for c in p["chosen"]], object)
        common = {"target": target}
        columns.append(_attribution_long(p["columns"], explainer.columns, "column", output, common))
        branches.append(
            _attribution_long(p["branches"][:, keep], labels[keep], "branch", output, common)
        )
        column_gap, branch_gap, tolerance = gaps[target]
        complete.append(
            pd.DataFrame(
                {
                    "row": np.arange(n),
                    "target": target,
                    "output": output,
                    "prediction": p["prediction"],
                    "baseline_prediction": p["baseline"],
                    "difference": p["prediction"] - p["baseline"],
                    "column_sum": p["columns"].sum(1),
                    "column_gap": column_gap,
                    "branch_sum": p["branches"].sum(1),
                    "branch_gap": branch_gap,
                    "tolerance": tolerance,
                    "steps": used,
                    "complete": (column_gap <= tolerance) & (branch_gap <= tolerance),
                }
            )
        )
    frames = {
        "columns": pd.concat(columns, ignore_index=True),
        "branches": pd.concat(branches, ignore_index=True),
        "completeness": pd.concat(complete, ignore_index=True),
    }
    for frame in frames.values():
        frame.insert(1, "row_index", row_index[frame["row"].to_numpy()])
        for column in frame.select_dtypes("float32").columns:
            frame[column] = frame[column].astype(float)
    return frames


def _attribution_long(matrix, units, unit, output, common) -> pd.DataFrame:
    n, m = matrix.shape
    frame = pd.DataFrame(
        {
            "row": np.repeat(np.arange(n), m),
            **common,
            "output": np.repeat(output, m),
            unit: np.tile(np.asarray(units, dtype=object), n),
            "attribution": matrix.reshape(-1).astype(float),
        }
    )
    size = frame["attribution"].abs()
    total = size.groupby(frame["row"]).transform("sum")
    frame["share"] = np.where(total > 0, size / total.where(total > 0, 1.0), 0.0)
    frame["rank"] = importance_rank(size.groupby(frame["row"]))
    return frame


def explain_rows(
    model,
    prepared: PreparedData,
    split: str = "val",
    max_rows: int | None = 200,
    steps: int = DEFAULT_STEPS,
    seed: int = 0,
    progress: Progress | None = None,
) -> dict[str, pd.DataFrame]:
    """``explain_inputs`` for up to ``max_rows`` rows of a split (a seeded random subset
    when there are more); ``row`` is the position in the split, ``row_index`` the row's
    label in the user's table."""
    if max_rows is not None and (not isinstance(max_rows, int) or max_rows < 1):
        raise SpecError(f"The number of rows to explain must be at least 1, got {max_rows!r}.")
    X, _ = prepared.split(split)
    positions = sample_rows(len(X), max_rows, seed)
    frames = explain_inputs(
        model,
        prepared,
        np.asarray(X, dtype=np.float32)[positions],
        prepared.row_index[split][positions],
        steps,
        progress,
    )
    for frame in frames.values():
        frame["row"] = positions[frame["row"].to_numpy()]
    return frames
