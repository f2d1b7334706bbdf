"""Read what a built (or reloaded) model learned, without rebuilding it from its spec.

Every attention layer of a built model is already called with its scores returned (the
training graph just ignores them), and the ``sparse_dense`` combiner returns its routing
weights the same way, so an "explain" model is a second ``keras.Model`` over the same
graph that exposes those tensors. It shares every weight with the trained model.
"""

from __future__ import annotations

from typing import Any

import keras

from sattn_dash.layers import SparseDenseMultiHeadAttention
from sattn_dash.modeling.keras_layers import BranchRouter

COMBINER = "combiner"


def combiner_layer(model: keras.Model) -> keras.layers.Layer:
    """The layer that combines the branches (named ``combiner``)."""
    try:
        return model.get_layer(COMBINER)
    except ValueError:
        raise ValueError(
            f"Model {model.name!r} has no layer named {COMBINER!r}; it was not built by "
            "sattn_dash.modeling.build_model."
        ) from None


def _producer(tensor) -> keras.layers.Layer:
    return tensor._keras_history.operation


def _branch_of(tensor) -> str | None:
    """The branch whose ``branch_<name>_output`` layer feeds ``tensor`` (None: the input)."""
    layer = _producer(tensor)
    while layer is not None:
        name = layer.name
        if name.startswith("branch_") and name.endswith("_output"):
            return name[len("branch_") : -len("_output")]
        inbound = layer._inbound_nodes[0].input_tensors if layer._inbound_nodes else []
        if not inbound:
            return None
        layer = _producer(inbound[0])
    return None


def branch_names(model: keras.Model) -> list[str]:
    """Branch names in the order the combiner receives them (the spec's order)."""
    inputs = combiner_layer(model)._inbound_nodes[0].input_tensors
    return [name for name in (_branch_of(t) for t in inputs) if name is not None]


def ensemble_of(model: keras.Model, module: str) -> str | None:
    """The ``batch_ensemble`` branch whose member ``module`` is, or None."""
    try:
        return model.get_layer(f"branch_{module}_member").branch
    except ValueError:
        return None


def named_modules(model: keras.Model) -> dict[str, list[str]]:
    """``{what the user named: its modules}``, in the combiner's order. Beside other
    branches an ensemble's members count as their branch, the name the user gave (the
    default's ``all_columns``). A model that is one ensemble (its members are all there
    is to rank), holds none, or routes each row to modules one by one (a router picks
    members, not branches) keeps a name per module."""
    modules = branch_names(model)
    owners = [ensemble_of(model, m) or m for m in modules]
    if len(set(owners)) == 1 or isinstance(combiner_layer(model), BranchRouter):
        owners = modules
    named: dict[str, list[str]] = {}
    for module, owner in zip(modules, owners, strict=True):
        named.setdefault(owner, []).append(module)
    return named


def named_sums(named: dict[str, list[str]], by_module: dict[str, Any]) -> dict[str, Any]:
    """``by_module``'s values (numbers or arrays) summed per name of ``named``
    (``named_modules``'s answer): an ensemble's members into their branch."""
    return {name: sum(by_module[m] for m in modules) for name, modules in named.items()}


def module_probabilities(model: keras.Model) -> dict[str, float] | None:
    """Branch -> learned probability for a ``sparse_attention`` combiner, else None."""
    layer = combiner_layer(model)
    if not hasattr(layer, "module_probabilities"):
        return None
    probabilities = layer.module_probabilities()
    return {name: float(p) for name, p in zip(branch_names(model), probabilities, strict=True)}


def attention_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """Every SparseDenseMultiHeadAttention layer of the model graph, in graph order."""
    return [layer for layer in model.layers if isinstance(layer, SparseDenseMultiHeadAttention)]


def token_names(model: keras.Model) -> dict[str, list[str]]:
    """For each ``attention/<name>`` output of ``explain_model``, the labels of its keys.

    Feature attention attends over ``[CLS]`` and feature tokens; the ``sparse_dense``
    combiner's single query (from the input features) attends over the branches.
    """
    names = {}
    for layer in attention_layers(model):
        tokenizer = model.get_layer(layer.name.rsplit("_attention", 1)[0] + "_tokenizer")
        names[f"attention/{layer.name}"] = tokenizer.token_names()
    if isinstance(combiner_layer(model), BranchRouter):
        names[f"attention/{COMBINER}"] = branch_names(model)
    return names


def explain_model(model: keras.Model) -> keras.Model:
    """A model sharing ``model``'s weights whose ``predict`` returns a dict of:

    - ``"predictions"``: ``{head_name(target): output}`` as the model predicts;
    - ``"branch_outputs"``: one ``(batch, width)`` array per branch, in ``branch_names``
      order;
    - ``"routing"`` (``sparse_dense`` combiner only): ``(batch, branches)`` weights, zero
      for branches a sample was not routed to;
    - ``"attention/<layer name>"``: ``(batch, heads, queries, keys)`` scores of every
      SparseDenseMultiHeadAttention layer (``attention/combiner`` for the router).
    """
    outputs = {
        "predictions": dict(model.output) if isinstance(model.output, dict) else model.output,
        "branch_outputs": [
            model.get_layer(f"branch_{n}_output").output for n in branch_names(model)
        ],
    }
    combiner = combiner_layer(model)
    if isinstance(combiner, BranchRouter):
        _, routing, scores = combiner.output
        outputs["routing"] = routing
        outputs[f"attention/{COMBINER}"] = scores
    for layer in attention_layers(model):
        outputs[f"attention/{layer.name}"] = layer.output[1]
    return keras.Model(model.input, outputs, name=f"{model.name}_explain")
