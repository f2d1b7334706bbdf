"""The Train page's parts: settings, Start, and the live panel that follows a run.

Training runs in the registry's worker thread; this module only submits, polls and
stops. The run id lives in ``st.query_params["run"]`` (and ``state.CURRENT_RUN``, kept
by ``sessions.follow``), so a refresh or a second tab with the same URL reattaches to the
job.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import streamlit as st

from sattn_dash.analysis.reports import tidy
from sattn_dash.charts import training as training_charts
from sattn_dash.errors import RunError, UserError
from sattn_dash.training.config import TRAINING_OPTIONS, TrainingConfig
from sattn_dash.training.store import ACTIVE_STATES
from sattn_dash.ui.shared import data_source, pages, resume_view, run_picker, sessions, state
from sattn_dash.ui.shared.components import chart, empty_state, run_links, user_error

if TYPE_CHECKING:
    from sattn_dash.modeling.spec import ModelSpec
    from sattn_dash.training.run import Run

POLL_SECONDS = 1.0
# The page's layout: four settings a row, each made from its training-option record.
LAYOUT = (
    ("device", "epochs", "batch_size", "learning_rate"),
    ("val_size", "early_stopping", "patience", "seed"),
    ("monitor", "scaling", "clip", "many_levels"),
)


def _key(name: str) -> str:
    return f"{state.TRAIN_WIDGET.name}.{name}"


def option_widget(column, name: str, value=None, words=None, **given) -> None:
    """The widget for the training option ``name``, made from its record (label, help,
    default, bounds, choices); ``words`` replaces its choices (value -> words) and
    ``value`` its default. Its value survives page switches (persist_state)."""
    option = TRAINING_OPTIONS[name]
    value = option.default if value is None else value
    kept = {"key": _key(name), "persist_state": "session", "help": option.help, **given}
    if option.kind is bool:
        column.toggle(option.label, value, **kept)
    elif option.choices:
        words = words or option.choices
        column.selectbox(option.label, list(words), list(words).index(value), words.get, **kept)
    elif option.slider:
        column.slider(option.label, option.low, option.high, value, option.step, **kept)
    else:
        low, high, step, form = option.low, option.high, option.step, option.format
        column.number_input(
            option.label, low, high, value, step, form, placeholder=option.empty, **kept
        )


def followed_run() -> str | None:
    """The run this tab follows (``sessions.followed_run``); one opened by a link, a
    refresh or Start becomes the run the analysis pages open, too."""
    before = state.CURRENT_RUN.get()
    run_id = sessions.followed_run()
    if run_id and run_id != before:
        run_picker.follow(run_id)
    return run_id


def format_seconds(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "–"
    seconds = int(round(seconds))
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return (
        f"{hours}h {minutes:02d}m"
        if hours
        else f"{minutes}m {secs:02d}s"
        if minutes
        else f"{secs}s"
    )


def render_settings(spec: ModelSpec) -> None:
    """The training settings, in ``LAYOUT``'s rows, and the run's title."""
    from sattn_dash.training.devices import list_devices  # asks TensorFlow for GPUs

    devices = list_devices()
    words = {
        "auto": "Automatic (a GPU if any)",  # fits the box uncut
        **{d.name: d.description for d in devices},
    }
    if len([d for d in devices if d.kind == "gpu"]) > 1:
        words["gpu"] = "All GPUs (mirrored)"
    stopping = TRAINING_OPTIONS["early_stopping"].default
    given = {
        "device": {"words": words},
        "learning_rate": {"value": float(spec.learning_rate)},
        "patience": {"disabled": not st.session_state.get(_key("early_stopping"), stopping)},
    }
    for row in LAYOUT:
        for column, name in zip(st.columns(len(row)), row, strict=True):
            option_widget(column, name, **given.get(name, {}))
    st.text_input(
        "Run title (optional)", key=_key("title"), placeholder=spec.name, persist_state="session"
    )


def config_from_widgets(spec: ModelSpec) -> TrainingConfig:
    """The ``TrainingConfig`` the widgets set; a learning rate left at the spec's is
    None (the spec's own)."""
    get = st.session_state.get
    values = {}
    for name in (n for row in LAYOUT for n in row):
        option = TRAINING_OPTIONS[name]
        value = get(_key(name), option.default)
        values[name] = value if value is None or option.kind is str else option.kind(value)
    if math.isclose(values["learning_rate"] or spec.learning_rate, spec.learning_rate):
        values["learning_rate"] = None
    return TrainingConfig(**values)


def start(spec: ModelSpec) -> None:
    """Submit the current table, schema and spec to the queue; follow the new run."""
    try:
        config = config_from_widgets(spec)
        df, schema, loaded = state.TABLE.get(), state.SCHEMA.get(), data_source.streamed_table()
        streamed = None
        if loaded is not None:
            from sattn_dash.training.streaming import stream_preparer

            streamed = stream_preparer(loaded.stream, schema, config, sample=df)
        run_id = sessions.registry().submit(
            None if streamed else df,
            schema,
            spec,
            config,
            streamed=streamed,
            title=st.session_state.get(_key("title")) or None,
            source=state.TABLE_NAME.get(),
        )
    except UserError as error:
        state.TRAIN_ERROR.set(str(error))
        return
    state.TRAIN_ERROR.clear()
    state.MY_RUNS.set([*state.MY_RUNS.get(), run_id])
    sessions.follow(run_id)
    run_picker.follow(run_id)  # the analysis pages open it once it has finished


def start_label() -> tuple[str, str | None]:
    """What pressing Start will do: start now, start after this tab's own run, or wait
    in the queue behind someone else's (another user's or another tab's) run."""
    registry = sessions.registry()
    if not registry.would_wait():  # counts everyone's runs; active() only this user's
        return "Start training", None
    # This tab's own: the runs it started, and the run its address follows (a reload
    # forgets the first, never the second).
    mine = {s.run_id for s in registry.active()} & {*state.MY_RUNS.get(), followed_run()}
    if len(mine) >= registry.max_concurrent:
        return "Start another run", "It starts as soon as your run in progress ends."
    return (
        "Queue training (another user's or tab's run is busy)",
        "The training slot is in use by a run you did not start here; yours starts when it ends.",
    )


def render_start(spec: ModelSpec) -> None:
    loaded = data_source.streamed_table()
    if loaded is not None:
        st.caption(
            f":material/stream: {loaded.why} Every one of its {loaded.stream.n_rows:,} rows "
            "is trained and tested on; the analysis pages use the seeded sample the Data "
            "page shows."
        )
    label, why = start_label()
    st.button(
        label,
        type="primary",
        icon=":material/play_arrow:",
        on_click=start,
        args=(spec,),
        key=_key("start"),
        help=why,
    )
    if state.TRAIN_ERROR.get():
        user_error(state.TRAIN_ERROR.get())


def _stop(run_id: str) -> None:
    sessions.registry().stop(run_id)


def _live_status(run_id: str) -> dict:
    """The freshest status: the worker's own when it runs here, else the status file."""
    session = sessions.registry().get(run_id)
    if session is not None:
        s = session.status()
        return {**s.to_dict(), "progress": s.progress, "here": True}
    status = sessions.store().status(run_id)
    epochs = status.get("epochs") or 0
    epoch = status.get("epoch") or 0
    done = status.get("state") == "finished"
    return {
        **status,
        "progress": 1.0 if done else (epoch / epochs if epochs else 0.0),
        "here": False,
    }


def render_progress(run_id: str, status: dict, title: str) -> None:
    state_name = status.get("state", "?")
    epoch, epochs = status.get("epoch") or 0, status.get("epochs") or 0
    batch, batches = status.get("batch") or 0, status.get("batches") or 0
    phase = status.get("phase") or state_name
    text = f"{title} · {state_name}"
    if epochs:
        text += f" · epoch {epoch}/{epochs}"
        if batches and state_name in ACTIVE_STATES:
            text += f" · batch {batch}/{batches}"
    if state_name in ACTIVE_STATES and phase and phase != state_name:
        text += f" · {phase}"
    st.progress(float(min(1.0, max(0.0, status.get("progress", 0.0)))), text=text)
    logs = status.get("logs") or {}
    cols = st.columns(5)
    cols[0].metric("Epochs done", f"{status.get('epochs_run') or 0} / {epochs or '–'}")
    cols[1].metric("Elapsed", format_seconds(status.get("elapsed_s") or status.get("duration_s")))
    cols[2].metric(
        "Time left", format_seconds(status.get("eta_s")) if state_name in ACTIVE_STATES else "–"
    )
    cols[3].metric("Loss", f"{logs['loss']:.4f}" if "loss" in logs else "–")
    cols[4].metric("Validation loss", f"{logs['val_loss']:.4f}" if "val_loss" in logs else "–")
    if status.get("error"):
        user_error(status["error"])


def render_curves(run: Run) -> None:
    history = tidy.history_long(run.history, run.targets)
    if history.empty:
        st.columns(2)[0].caption("Curves appear here when the first epoch ends.")
        return
    # One panel per loss (an ensemble's members' loss beside the head's) needs the full
    # width: in half of it the panels spilled over the metrics chart.
    wide = training_charts.loss_panels(history) > 1
    left, right = (st.container(), st.container()) if wide else st.columns(2)
    with left:
        chart(
            training_charts.curves(history, "loss"),
            history[history["kind"] == "loss"],
            f"loss_curves_{run.run_id}",
            caption="Solid: training rows; dashed: validation rows.",
        )
    scores = history[history["kind"] == "score"]
    with right:
        if not scores.empty:
            chart(
                training_charts.curves(history, "score"),
                scores,
                f"metric_curves_{run.run_id}",
                caption="Higher is better. Solid: training; dashed: validation.",
            )
    snapshots = run.snapshots
    for value in ("probability", "routing_weight"):
        if value in snapshots and snapshots[value].notna().any():
            chart(
                training_charts.module_probabilities(snapshots, value),
                snapshots[["epoch", "branch", value]].dropna(),
                f"branch_weights_{value}_{run.run_id}",
                caption="How much the combiner trusts each branch, after every epoch.",
            )


def render_result(run: Run) -> None:
    metrics = tidy.metrics_long(run.metrics)
    if not metrics.empty:
        st.subheader("Test-set results")
        st.caption(
            "On the held-out test rows: the same numbers as on the Runs page and the "
            "baselines leaderboard."
        )
        st.dataframe(metrics, hide_index=True)
    links = st.columns(3)
    run_links(links, run.run_id)
    links[2].page_link(pages.RUNS, label="All runs", icon=":material/history:")


def render_live(run_id: str) -> None:
    """Progress, curves and branch weights, refreshed every second while the run is busy."""
    try:
        active = _live_status(run_id).get("state") in ACTIVE_STATES
    except RunError as error:
        user_error(error)
        return

    @st.fragment(run_every=POLL_SECONDS if active else None)
    def live() -> None:
        # The same four slots in every state (queued, training, ended): a slot whose
        # content came and went (the Stop button) let the curves' columns take an
        # element's place between two fragment runs, and the browser could then be
        # sent into an element as if it were a block ("'setIn' cannot be called on an
        # ElementNode"), blanking the page as a run finished.
        progress, controls, curves, result = (st.container() for _ in range(4))
        try:
            status = _live_status(run_id)
            run = sessions.store().load(run_id)
        except RunError as error:
            with progress:
                user_error(error)
            return
        busy = status.get("state") in ACTIVE_STATES
        with progress:
            render_progress(run_id, status, run.title)
        with controls:
            if status.get("state") == "interrupted":
                resume_view.render(run_id, run.epochs_run, status.get("epochs"), "train")
            if busy and not active:
                st.rerun()  # resumed: redraw the whole page, polling again
            if busy and status.get("here"):
                st.button(
                    "Stop",
                    icon=":material/stop:",
                    on_click=_stop,
                    args=(run_id,),
                    key=_key("stop"),
                    help="Stops after the current batch; keeps what was learned.",
                )
        with curves:
            render_curves(run)
        if active and not busy:
            st.rerun()  # the run ended: redraw the whole page once, without polling
        if not busy:
            with result:
                render_result(run)

    live()


def render_nothing_followed() -> None:
    empty_state(
        "No run yet. Set the options above and press Start training; progress, curves and "
        "branch weights appear here as it trains.",
    )
