"""The architecture editor: preset picker, branch editor, combiner, heads, optimizer.

The spec in ``state.SPEC`` is the one source of truth. Widgets are drawn from it under a
versioned key; every edit goes through ``commit``, which validates the new spec against
the prepared data, stores it (or the reason it was refused) and bumps the version so all
widgets redraw from the spec. Owns the ``arch.*`` keys.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING

import streamlit as st

from sattn_dash.errors import SpecError
from sattn_dash.layers.options import NORMALIZERS, PENALTIES
from sattn_dash.modeling import spec_edits
from sattn_dash.modeling.combiners import combiner, combiner_kinds
from sattn_dash.modeling.presets import DEFAULT_PRESET, PRESETS, preset_spec
from sattn_dash.modeling.spec import (
    ACTIVATIONS,
    BLOCK_KINDS,
    CATEGORICAL_ENCODINGS,
    OPTIMIZERS,
    POOLINGS,
    SCHEDULES,
    BranchSpec,
    ModelSpec,
)
from sattn_dash.training.config import TRAINING_OPTIONS
from sattn_dash.ui.shared import state
from sattn_dash.ui.shared.components import user_error
from sattn_dash.ui.shared.editor_state import apply_editor_changes

if TYPE_CHECKING:
    from sattn_dash.tabular.prepared import PreparedData

# (label, combiner option, help) of the combiner's dropout sliders
DROPOUT_SLIDERS = (
    (
        "Branch dropout",
        "branch_dropout",
        "While training, each branch is left out of this share of the rows, so no branch "
        "can lean on another to carry its signal and a branch's weight says how much the "
        "model needs it. 0 = off.",
    ),
    (
        "All-columns dropout",
        "all_columns_dropout",
        "While training, the branches that read every column are left out of this share "
        "of the rows, so there the other branches must carry the signal together instead "
        "of leaning on them. 0 = off.",
    ),
)
TEMPERATURE_HELP = (
    "Temperature divides the branch weights before they are normalised. Below 1 the "
    "combiner commits to its favourite branches (sharper); above 1 it spreads weight "
    "more evenly (softer). 1 leaves the weights as learned."
)
TOP_K_HELP = (
    "top_k is how many branches each sample is routed to. The others get exactly zero "
    "weight for that sample, so a small k gives sparse, readable routing."
)

# Learning rates and weight decays as the Train page shows a learning rate (3.00e-04):
# "%.5f" drew a search's 2e-6 as 0.00000.
SMALL_RATE_FORMAT = TRAINING_OPTIONS["learning_rate"].format


def _widget(name: str) -> str:
    """A widget key that changes whenever the spec is replaced (so widgets redraw)."""
    return f"{state.SPEC.versioned()}.{name}"


def commit(spec: ModelSpec, prepared: PreparedData) -> bool:
    """Store ``spec`` if it is valid for ``prepared``; else keep the old one and say why."""
    try:
        spec.validate(prepared)
    except SpecError as error:
        state.SPEC_ERROR.set(str(error))
        state.SPEC.bump()
        return False
    state.SPEC.set(spec)
    state.SPEC_ERROR.clear()
    state.SPEC.bump()
    return True


def ensure_spec(prepared: PreparedData) -> ModelSpec:
    """The session's spec for the current data: made from the default preset the first
    time, given one head per current target, and rebuilt from its preset (saying why)
    when a data change left it invalid (e.g. a branch reads a group that was removed)."""
    spec = state.SPEC.get()
    if spec is None:
        name = DEFAULT_PRESET  # a branch per group: the user's groups, else found ones
        state.PRESET.set(name)
        state.SPEC.set(preset_spec(name, prepared))
        state.SPEC.bump()  # widgets of an earlier spec must not linger under the same keys
        return state.SPEC.get()
    fitted = spec_edits.fit_heads(spec, list(prepared.tasks))
    try:
        fitted.validate(prepared)
    except SpecError as error:
        name = state.PRESET.get() if state.PRESET.get() in PRESETS else DEFAULT_PRESET
        state.PRESET.set(name)
        fitted = preset_spec(name, prepared)
        state.SPEC_ERROR.set(
            f"The architecture no longer fits the data ({error}), so it was rebuilt from "
            f"the preset “{PRESETS[name].title}”."
        )
    if fitted != spec:
        state.SPEC.set(fitted)
        state.SPEC.bump()
    return fitted


def use_spec(spec: ModelSpec, preset: str | None) -> None:
    """Edit ``spec`` (restored from saved work), started from ``preset``."""
    state.SPEC.set(spec)
    state.PRESET.set(preset)


def forget() -> None:
    """Drop the spec being edited (the table changed); ``ensure_spec`` makes a new one."""
    for key in (state.SPEC, state.PRESET, state.SPEC_ERROR):
        key.clear()


def use_preset(name: str, prepared: PreparedData) -> None:
    spec = preset_spec(name, prepared)
    state.PRESET.set(name)
    commit(spec, prepared)


def _on_preset(prepared: PreparedData) -> None:
    use_preset(st.session_state[state.PRESET_PICKER.name], prepared)


def _edit(prepared: PreparedData, change: Callable[[ModelSpec], ModelSpec]) -> None:
    try:
        spec = change(state.SPEC.get())
    except SpecError as error:
        state.SPEC_ERROR.set(str(error))
        state.SPEC.bump()
        return
    commit(spec, prepared)


def render_presets(prepared: PreparedData) -> None:
    names = list(PRESETS)
    current = state.PRESET.get()
    st.radio(
        "Start from a preset",
        names,
        index=names.index(current) if current in names else None,
        format_func=lambda n: PRESETS[n].title,
        captions=[PRESETS[n].summary for n in names],
        label_visibility="collapsed",
        key=state.PRESET_PICKER.name,
        on_change=_on_preset,
        args=(prepared,),
    )


def _input_options(prepared: PreparedData) -> list[str]:
    groups = list(prepared.schema.groups)
    return ["all", *groups, *[c for c in prepared.schema.feature_columns if c not in groups]]


def _branch_inputs(value: list[str]):
    if not value or "all" in value:
        return "all"
    return tuple(value)


def _set_branch_field(prepared: PreparedData, index: int, field: str) -> None:
    value = st.session_state[_widget(f"branch.{index}.{field}")]
    if field == "inputs":
        value = _branch_inputs(value)
    elif field == "embedding_dim":
        value = int(value) or None  # 0 = the automatic width
    elif field == "blocks":
        edited = st.session_state[_widget(f"branch.{index}.blocks")]
        base = spec_edits.blocks_frame(state.SPEC.get().branches[index].blocks)
        value = spec_edits.blocks_from_frame(apply_editor_changes(base, edited))
    _edit(
        prepared,
        lambda s: spec_edits.with_branch(s, index, replace(s.branches[index], **{field: value})),
    )


def render_branch(prepared: PreparedData, index: int, branch: BranchSpec, count: int) -> None:
    with st.container(border=True):
        top = st.columns([3, 5, 1, 1, 1], vertical_alignment="bottom")
        top[0].text_input(
            "Branch name",
            value=branch.name,
            key=_widget(f"branch.{index}.name"),
            on_change=_set_branch_field,
            args=(prepared, index, "name"),
        )
        chosen = ["all"] if branch.inputs == "all" else list(branch.inputs)
        top[1].multiselect(
            "Inputs (column groups or columns)",
            _input_options(prepared),
            default=[c for c in chosen if c in _input_options(prepared)],
            key=_widget(f"branch.{index}.inputs"),
            on_change=_set_branch_field,
            args=(prepared, index, "inputs"),
            help="`all` feeds every feature. Pick groups or columns to give this branch "
            "only part of the table.",
        )
        move = partial(spec_edits.move_branch, index=index)
        remove = partial(spec_edits.remove_branch, index=index)
        buttons = (
            ("up", "arrow_upward", "Move up", index == 0, partial(move, step=-1)),
            ("down", "arrow_downward", "Move down", index == count - 1, partial(move, step=1)),
            ("remove", "delete", "Remove this branch", count == 1, remove),
        )
        for column, (name, icon, label, disabled, change) in zip(top[2:], buttons, strict=True):
            column.button(
                "",
                icon=f":material/{icon}:",
                key=_widget(f"branch.{index}.{name}"),
                help=label,
                disabled=disabled,
                on_click=_edit,
                args=(prepared, change),
            )
        render_categorical(prepared, index, branch)
        st.data_editor(
            spec_edits.blocks_frame(branch.blocks),
            key=_widget(f"branch.{index}.blocks"),
            num_rows="dynamic",
            hide_index=True,
            on_change=_set_branch_field,
            args=(prepared, index, "blocks"),
            column_config={
                "kind": st.column_config.SelectboxColumn(
                    "Block", options=BLOCK_KINDS, required=True, default="dense"
                ),
                "units": st.column_config.NumberColumn("Units", min_value=1, step=1),
                "activation": st.column_config.SelectboxColumn("Activation", options=ACTIVATIONS),
                "rate": st.column_config.NumberColumn(
                    "Dropout rate", min_value=0.0, max_value=0.99, step=0.05
                ),
                "heads": st.column_config.NumberColumn("Heads", min_value=1, step=1),
                "key_dim": st.column_config.NumberColumn("Key dim", min_value=1, step=1),
                "top_k": st.column_config.NumberColumn("Top k", min_value=1, step=1),
                "layers": st.column_config.NumberColumn("Layers", min_value=1, step=1),
                "cls_token": st.column_config.CheckboxColumn("CLS token"),
                "pooling": st.column_config.SelectboxColumn("Pooling", options=POOLINGS),
                "hidden_units": st.column_config.NumberColumn("Hidden units", min_value=1, step=1),
                "bins": st.column_config.NumberColumn(
                    "Bins", min_value=2, step=1, help="piecewise_linear: quantile bins"
                ),
                "frequencies": st.column_config.NumberColumn(
                    "Frequencies", min_value=1, step=1, help="periodic: sine/cosine pairs"
                ),
                "sigma": st.column_config.NumberColumn(
                    "Sigma", min_value=0.001, step=0.01, help="periodic: initial frequency scale"
                ),
                "lite": st.column_config.CheckboxColumn(
                    "Lite", help="periodic: one Dense shared by every column"
                ),
                "start_linear": st.column_config.CheckboxColumn(
                    "Start linear",
                    help="piecewise_linear: start as a linear embedding of each value "
                    "and learn the bends on top (TabM's version)",
                ),
                "members": st.column_config.NumberColumn(
                    "Members",
                    min_value=1,
                    step=1,
                    help="batch_ensemble: k members, each a module the combiner weighs",
                ),
            },
        )


def render_categorical(prepared: PreparedData, index: int, branch: BranchSpec) -> None:
    """How the branch reads its many-level categorical columns (integer codes)."""
    names = [prepared.feature_names[p] for p in branch.feature_positions(prepared)]
    coded = [n for n in names if n in prepared.categorical_features]
    if not coded:
        return
    cols = st.columns([3, 2, 4], vertical_alignment="bottom")
    cols[0].selectbox(
        "Categorical columns",
        CATEGORICAL_ENCODINGS,
        index=CATEGORICAL_ENCODINGS.index(branch.categorical),
        format_func=lambda v: {"embedding": "learned embedding", "one_hot": "one-hot"}[v],
        key=_widget(f"branch.{index}.categorical"),
        on_change=_set_branch_field,
        args=(prepared, index, "categorical"),
        help="Many-level categorical columns arrive as level codes; the branch never "
        "reads a code as a number. An embedding learns a vector per level; one-hot gives "
        "each level its own input. Unseen and missing levels share a reserved level.",
    )
    cols[1].number_input(
        "Embedding width",
        value=branch.embedding_dim or 0,
        min_value=0,
        step=1,
        disabled=branch.categorical != "embedding",
        key=_widget(f"branch.{index}.embedding_dim"),
        on_change=_set_branch_field,
        args=(prepared, index, "embedding_dim"),
        help="0 = automatic: 1.6 x levels^0.56, at most 16.",
    )
    levels = ", ".join(f"{n} ({prepared.categorical_features[n] - 1} levels)" for n in coded)
    cols[2].caption(f"Encoded here: {levels}")


def render_branches(prepared: PreparedData, spec: ModelSpec) -> None:
    st.caption(
        "A **branch** is a small network over some of the features. The combiner sees "
        "each branch as a *module* and learns how much to trust it. Edit a block's cells; "
        "fields a block kind does not use are ignored. `piecewise_linear` and `periodic` "
        "embed each numeric column and must come first; `batch_ensemble` ends a branch "
        "with k members that the combiner weighs as modules."
    )
    for index, branch in enumerate(spec.branches):
        render_branch(prepared, index, branch, len(spec.branches))
    st.button(
        "Add branch",
        icon=":material/add:",
        key=_widget("branch.add"),
        on_click=_edit,
        args=(prepared, spec_edits.add_branch),
    )


def _set_combiner(prepared: PreparedData, field: str) -> None:
    value = st.session_state[_widget(f"combiner.{field}")]
    if field == "project_to" and not value:
        value = None
    if field == "penalty" and value == "none":
        value = None
    _edit(prepared, lambda s: replace(s, combiner=replace(s.combiner, **{field: value})))


def _combiner_widget(prepared: PreparedData, widget, label: str, field: str, **kw):
    """``widget`` (``st.slider``, ``st.selectbox``, ...) editing ``combiner.<field>``."""
    return widget(
        label,
        key=_widget(f"combiner.{field}"),
        on_change=_set_combiner,
        args=(prepared, field),
        **kw,
    )


def render_combiner(prepared: PreparedData, spec: ModelSpec) -> None:
    c = spec.combiner
    _combiner_widget(
        prepared,
        st.selectbox,
        "Combiner",
        "kind",
        options=combiner_kinds(),
        index=combiner_kinds().index(c.kind),
        format_func=lambda kind: combiner(kind).title,
    )
    reads = combiner(c.kind).options
    st.caption(combiner(c.kind).description)
    cols = st.columns(3)
    if "temperature" in reads:
        with cols[0]:
            _combiner_widget(
                prepared,
                st.slider,
                "Temperature",
                "temperature",
                value=float(c.temperature),
                min_value=0.05,
                max_value=5.0,
                step=0.05,
                help=TEMPERATURE_HELP,
            )
        with cols[1]:
            _combiner_widget(
                prepared,
                st.selectbox,
                "Normalizer",
                "normalizer",
                options=NORMALIZERS,
                index=NORMALIZERS.index(c.normalizer),
                help="softmax gives every branch some weight; sparsemax can give "
                "exactly zero to weak branches.",
            )
        with cols[2]:
            options = ["none", *PENALTIES]
            _combiner_widget(
                prepared,
                st.selectbox,
                "Penalty",
                "penalty",
                options=options,
                index=options.index(c.penalty or "none"),
                help="entropy pushes toward fewer branches; l1 toward small weights.",
            )
        for label, option, help_text in DROPOUT_SLIDERS:
            _combiner_widget(
                prepared,
                st.slider,
                label,
                option,
                value=float(getattr(c, option)),
                min_value=0.0,
                max_value=0.9,
                step=0.05,
                help=help_text,
            )
        _combiner_widget(
            prepared,
            st.number_input,
            "All-columns price",
            "all_columns_price",
            value=float(c.all_columns_price),
            min_value=0.0,
            step=0.01,
            format="%.3f",
            help="What the combiner pays per unit of weight on branches that read every "
            "column, as a share of the model's loss (0.1: a tenth of it): the groups of "
            "columns then take the weight where they carry the signal, and an all-columns "
            "branch keeps weight only where the model needs columns of different groups "
            "together. 0 = off.",
        )
        st.caption(TEMPERATURE_HELP)
    elif "top_k" in reads:
        whole = {"min_value": 1, "step": 1}
        with cols[0]:
            _combiner_widget(
                prepared,
                st.number_input,
                "Top k",
                "top_k",
                value=int(c.top_k),
                max_value=len(spec.branches),
                help=TOP_K_HELP,
                **whole,
            )
        with cols[1]:
            _combiner_widget(
                prepared,
                st.number_input,
                "Heads",
                "num_heads",
                value=int(c.num_heads),
                max_value=16,
                **whole,
            )
        with cols[2]:
            _combiner_widget(
                prepared,
                st.number_input,
                "Key dim",
                "key_dim",
                value=int(c.key_dim),
                max_value=256,
                **whole,
            )
        _combiner_widget(
            prepared,
            st.number_input,
            "Load-balance weight",
            "load_balance_weight",
            value=float(c.load_balance_weight),
            min_value=0.0,
            step=0.005,
            format="%.3f",
            help="Keeps every branch in use: a small loss that grows when a few "
            "branches get all the samples.",
        )
        st.caption(TOP_K_HELP)
        if c.top_k >= len(spec.branches):
            st.info(
                f"**Not sparse**: top-{c.top_k} of {len(spec.branches)} branches sends every "
                "row to every branch, so the router chooses nothing. Lower Top k for a "
                "choice per row.",
                icon=":material/call_split:",
            )
    if "project_to" in reads:
        _combiner_widget(
            prepared,
            st.number_input,
            "Project branches to width (0 = automatic)",
            "project_to",
            value=int(c.project_to or 0),
            min_value=0,
            step=1,
        )


def _set_head(prepared: PreparedData, index: int, field: str) -> None:
    value = st.session_state[_widget(f"head.{index}.{field}")]
    if field == "hidden_units":
        try:
            value = tuple(int(v) for v in str(value).replace(",", " ").split())
        except ValueError:
            state.SPEC_ERROR.set(
                f"heads[{index}].hidden_units: {value!r} is not a list of whole numbers; "
                "type widths like `32 16` or leave it empty."
            )
            state.SPEC.bump()
            return

    def change(s: ModelSpec) -> ModelSpec:
        heads = list(s.heads)
        heads[index] = replace(heads[index], **{field: value})
        return replace(s, heads=tuple(heads))

    _edit(prepared, change)


def render_heads(prepared: PreparedData, spec: ModelSpec) -> None:
    for index, head in enumerate(spec.heads):
        task = prepared.tasks.get(head.target, "")
        cols = st.columns([2, 1, 2], vertical_alignment="bottom")
        cols[0].markdown(f"**{head.target}** · {task}")
        cols[1].number_input(
            "Loss weight",
            value=float(head.loss_weight),
            min_value=0.0,
            step=0.1,
            key=_widget(f"head.{index}.loss_weight"),
            on_change=_set_head,
            args=(prepared, index, "loss_weight"),
        )
        cols[2].text_input(
            "Hidden layers before the output",
            value=" ".join(map(str, head.hidden_units)),
            key=_widget(f"head.{index}.hidden_units"),
            on_change=_set_head,
            args=(prepared, index, "hidden_units"),
            placeholder="e.g. 16",
        )


def _set_top(prepared: PreparedData, field: str) -> None:
    value = st.session_state[_widget(field)]
    _edit(prepared, lambda s: replace(s, **{field: value}))


def render_optimizer(prepared: PreparedData, spec: ModelSpec) -> None:
    cols = st.columns(3)
    cols[0].text_input(
        "Model name",
        value=spec.name,
        key=_widget("name"),
        on_change=_set_top,
        args=(prepared, "name"),
    )
    cols[1].selectbox(
        "Optimizer",
        OPTIMIZERS,
        index=OPTIMIZERS.index(spec.optimizer),
        key=_widget("optimizer"),
        on_change=_set_top,
        args=(prepared, "optimizer"),
    )
    cols[2].number_input(
        "Learning rate",
        value=float(spec.learning_rate),
        min_value=1e-6,
        max_value=1.0,
        format=SMALL_RATE_FORMAT,
        step=1e-4,
        key=_widget("learning_rate"),
        on_change=_set_top,
        args=(prepared, "learning_rate"),
    )
    render_recipe(prepared, spec)


def _set_weight_decay(prepared: PreparedData) -> None:
    value = st.session_state[_widget("weight_decay")]
    _edit(prepared, lambda s: replace(s, weight_decay=None if value is None else float(value)))


def render_recipe(prepared: PreparedData, spec: ModelSpec) -> None:
    """Weight decay, learning-rate schedule and label smoothing: the training recipe.
    Two rows of two: four inputs beside the diagram cut "Weight decay 0.000..."."""
    cols = [*st.columns(2), *st.columns(2)]
    cols[0].number_input(
        "Weight decay",
        value=spec.weight_decay,
        min_value=0.0,
        format=SMALL_RATE_FORMAT,
        step=1e-4,
        placeholder="optimizer default",
        key=_widget("weight_decay"),
        on_change=_set_weight_decay,
        args=(prepared,),
        help="Decoupled weight decay (AdamW style). Empty = the optimizer's Keras "
        "default (0.004 for AdamW, none for the others).",
    )
    cols[1].selectbox(
        "Learning-rate schedule",
        SCHEDULES,
        index=SCHEDULES.index(spec.schedule),
        format_func=lambda v: {"constant": "constant", "cosine": "warm-up + cosine"}[v],
        key=_widget("schedule"),
        on_change=_set_top,
        args=(prepared, "schedule"),
        help="Cosine: a linear warm-up, then a cosine decay to 0 over the epoch budget.",
    )
    cols[2].number_input(
        "Warm-up share",
        value=float(spec.warmup_fraction),
        min_value=0.0,
        max_value=0.99,
        step=0.01,
        disabled=spec.schedule != "cosine",
        key=_widget("warmup_fraction"),
        on_change=_set_top,
        args=(prepared, "warmup_fraction"),
        help="Share of all training steps spent warming the learning rate up from 0.",
    )
    cols[3].number_input(
        "Label smoothing",
        value=float(spec.label_smoothing),
        min_value=0.0,
        max_value=0.49,
        step=0.01,
        disabled=all(t == "regression" for t in prepared.tasks.values()),
        key=_widget("label_smoothing"),
        on_change=_set_top,
        args=(prepared, "label_smoothing"),
        help="Classification targets: move this share of each label's weight evenly over "
        "all classes (less over-confident probabilities).",
    )


def _on_spec_upload(prepared: PreparedData) -> None:
    uploaded = st.session_state.get(state.SPEC_UPLOADER.name)
    if uploaded is None:
        return
    try:
        spec = ModelSpec.from_json(uploaded.getvalue().decode("utf-8", errors="replace"))
    except SpecError as error:
        state.SPEC_ERROR.set(f"{uploaded.name}: {error}")
        return
    if commit(spec, prepared):
        state.PRESET.set(spec.preset)


def render_spec_upload(prepared: PreparedData) -> None:
    st.file_uploader(
        "Load a spec (JSON)",
        type=["json"],
        key=state.SPEC_UPLOADER.name,
        on_change=_on_spec_upload,
        args=(prepared,),
        help="A file saved with the download button here or with `python -m sattn_dash`.",
    )


def render_error() -> None:
    if state.SPEC_ERROR.get():
        user_error(state.SPEC_ERROR.get())
