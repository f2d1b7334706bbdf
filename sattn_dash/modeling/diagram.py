"""A Graphviz DOT picture of a spec: features -> branches -> combiner -> heads.

Drawn from the spec alone (no Keras), so the architecture page can redraw it on every
edit; with the prepared data it also shows input widths and each head's task.
"""

from __future__ import annotations

from sattn_dash.modeling.combiners import combiner
from sattn_dash.modeling.spec import BlockSpec, ModelSpec, head_name

_TASK_OUTPUT = {"binary": "sigmoid", "multiclass": "softmax", "regression": "linear, rescaled"}


def _quote(text: str) -> str:
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def block_label(block: BlockSpec) -> str:
    """A short human label for one block."""
    if block.kind == "dense":
        return f"Dense {block.units} · {block.activation}"
    if block.kind == "dropout":
        return f"Dropout {block.rate:g}"
    if block.kind == "batchnorm":
        return "BatchNorm"
    if block.kind == "layernorm":
        return "LayerNorm"
    if block.kind == "residual":
        inner = f"{block.hidden_units}→" * (block.layers - 1) + str(block.units)
        return f"Residual Dense {inner} · {block.activation}\n+ skip (projected if widths differ)"
    if block.kind == "piecewise_linear":
        start = "\n+ linear in the value, bends learned on top" if block.start_linear else ""
        return (
            f"Piecewise-linear embedding\n{block.bins} quantile bins per numeric column\n"
            f"→ Dense {block.units} · {block.activation} each{start}"
        )
    if block.kind == "periodic":
        shared = "one shared Dense" if block.lite else "Dense per column"
        return (
            f"Periodic embedding (PLR)\n{block.frequencies} frequencies, σ={block.sigma:g}\n"
            f"→ {shared} {block.units} · {block.activation}"
        )
    if block.kind == "batch_ensemble":
        dropout = f" + dropout {block.rate:g}" if block.rate else ""
        return (
            f"BatchEnsemble: {block.members} members\n{block.layers} × Dense {block.units} · "
            f"{block.activation}{dropout}\nshared weights, rank-one adapters"
        )
    cls = " + CLS" if block.cls_token else ""
    return (
        f"Feature attention: {block.units}-d token per feature{cls}\n"
        f"{block.layers} × SparseDense MHA ({block.heads} heads, top-{block.top_k})\n"
        f"pool: {block.pooling}"
    )


def spec_to_dot(spec: ModelSpec, prepared=None) -> str:
    """The spec as a DOT digraph (render with ``dot`` or ``st.graphviz_chart``)."""
    n_inputs = len(prepared.feature_names) if prepared is not None else None
    lines = [
        f"digraph {_quote(spec.name)} {{",
        '  rankdir=TB; fontname="Helvetica";',
        '  node [shape=box, style="rounded,filled", fillcolor="#f4f6f8", fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", fontsize=9, color="#555555"];',
        "  features [label="
        + _quote("features" + (f"\n{n_inputs} inputs" if n_inputs is not None else ""))
        + ', shape=cylinder, fillcolor="#e3f2fd"];',
        "  combiner [label="
        + _quote(combiner(spec.combiner.kind).label(spec.combiner, len(spec.module_names)))
        + ', shape=hexagon, fillcolor="#fff3e0"];',
    ]
    for branch in spec.branches:
        nodes = [_quote(f"{branch.name}:{i}") for i in range(len(branch.blocks))]
        lines.append(f"  subgraph {_quote('cluster_' + branch.name)} {{")
        lines.append(
            f'    label={_quote("branch " + branch.name)}; style=rounded; color="#90a4ae";'
        )
        for node, block in zip(nodes, branch.blocks, strict=True):
            lines.append(f"    {node} [label={_quote(block_label(block))}];")
        lines += [f"    {a} -> {b};" for a, b in zip(nodes, nodes[1:], strict=False)]
        lines.append("  }")
        # Edges into and out of a cluster stay outside it, or the features node and the
        # combiner would be drawn inside the branch.
        inputs = "all" if branch.inputs == "all" else ", ".join(branch.inputs)
        if prepared is not None:
            inputs += f" ({len(branch.feature_positions(prepared))})"
        lines.append(f"  features -> {nodes[0]} [label={_quote(inputs)}];")
        members = f"{branch.members} members" if branch.members else None
        edge = f" [label={_quote(members)}, penwidth=2]" if members else ""
        lines.append(f"  {nodes[-1]} -> combiner{edge};")
    if combiner(spec.combiner.kind).has_routing:
        lines.append('  features -> combiner [label="query", style=dashed];')
    for head in spec.heads:
        node = _quote(head_name(head.target))
        task = prepared.tasks.get(head.target) if prepared is not None else None
        text = f"head {head.target}"
        if head.hidden_units:
            text += "\nDense " + " → ".join(str(u) for u in head.hidden_units) + " · relu"
        if task:
            text += f"\n{task}: {_TASK_OUTPUT[task]}"
        if head.loss_weight != 1.0:
            text += f"\nloss weight {head.loss_weight:g}"
        lines.append(f'  {node} [label={_quote(text)}, fillcolor="#e8f5e9"];')
        lines.append(f"  combiner -> {node};")
    lines.append("}")
    return "\n".join(lines) + "\n"
