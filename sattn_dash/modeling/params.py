"""How big each part of a model is: parameters per branch, combiner, head, and in total.

Counted on the real built model (not re-derived from the spec), so the numbers are
exactly what Keras trains.
"""

from __future__ import annotations

import math

import pandas as pd

from sattn_dash.modeling.build import branch_prefix, build_model
from sattn_dash.modeling.explain import COMBINER
from sattn_dash.modeling.spec import ModelSpec, head_name


def _size(weights) -> int:
    return sum(math.prod(w.shape) for w in weights)


def layer_owner(layer_name: str, spec: ModelSpec) -> tuple[str, str] | None:
    """``(part, kind)`` a layer belongs to, by its name; the longest matching name wins
    (branch ``a`` owns ``branch_a_0_dense``, branch ``a_b`` owns ``branch_a_b_0_dense``)."""
    candidates = [(branch_prefix(b.name) + "_", b.name, "branch") for b in spec.branches]
    candidates += [(head_name(h.target), f"head {h.target}", "head") for h in spec.heads]
    candidates.append((COMBINER, COMBINER, "combiner"))
    best = None
    for prefix, part, kind in candidates:
        exact_or_child = layer_name == prefix or layer_name.startswith(
            prefix if prefix.endswith("_") else prefix + "_"
        )
        if exact_or_child and (best is None or len(prefix) > len(best[0])):
            best = (prefix, part, kind)
    return (best[1], best[2]) if best else None


def parameter_counts(spec: ModelSpec, prepared) -> pd.DataFrame:
    """One row per branch, the combiner and each head, then a ``total`` row.

    Columns: ``part``, ``kind`` (branch / combiner / head / total), ``parameters`` (all
    weights) and ``trainable`` (those the optimizer updates).
    """
    model = build_model(spec, prepared, compile=False)
    rows = {b.name: [b.name, "branch", 0, 0] for b in spec.branches}
    rows[COMBINER] = [COMBINER, "combiner", 0, 0]
    for h in spec.heads:
        rows[f"head {h.target}"] = [f"head {h.target}", "head", 0, 0]
    for layer in model.layers:
        owner = layer_owner(layer.name, spec)
        if owner is None:
            continue  # the input layer: no weights
        rows[owner[0]][2] += _size(layer.weights)
        rows[owner[0]][3] += _size(layer.trainable_weights)
    table = pd.DataFrame(list(rows.values()), columns=["part", "kind", "parameters", "trainable"])
    total = pd.DataFrame(
        [["total", "total", int(table["parameters"].sum()), int(table["trainable"].sum())]],
        columns=table.columns,
    )
    return pd.concat([table, total], ignore_index=True)
