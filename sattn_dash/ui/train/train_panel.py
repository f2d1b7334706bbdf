"""The Train page's parts: settings, Start, and the live panel that follows a run.

Training runs in the registry's worker thread; this module only submits, polls and
stops. The run id lives in ``st.query_params["run"]`` (and ``state.CURRENT_RUN``), so a
refresh or a second tab with the same URL reattaches to the job.
"""

from __future__ import annotations

import math

import streamlit as st

from sattn_dash.analysis.reports import tidy
from sattn_dash.charts import training as training_charts
from sattn_dash.errors import RunError, UserError
from sattn_dash.training.config import TrainingConfig
from sattn_dash.training.store import ACTIVE_STATES
from sattn_dash.ui.shared import data_source, pages, resume_view, run_picker, sessions, state
from sattn_dash.ui.shared.components import chart, empty_state, user_error

POLL_SECONDS = 1.0
DEFAULTS = TrainingConfig()


def _key(name: str) -> str:
    return f"{state.TRAIN_WIDGET.name}.{name}"


def _choice(column, label: str, labels: dict, name: str, help: str) -> None:
    """A kept selectbox over ``labels`` (value -> words) for the config field ``name``."""
    column.selectbox(
        label,
        list(labels),
        format_func=labels.get,
        key=_key(name),
        persist_state="session",
        help=help,
    )


def followed_run() -> str | None:
    """The run this tab follows: ``?run=`` wins (refresh, shared link), then the session."""
    from_url = st.query_params.get("run")
    if from_url and sessions.run_exists(from_url):
        if from_url != state.CURRENT_RUN.get():  # a new run, a link or a refresh
            run_picker.follow(from_url)
        state.CURRENT_RUN.set(from_url)
        return from_url
    current = state.CURRENT_RUN.get()
    if current and sessions.run_exists(current):
        st.query_params["run"] = current
        return current
    return None


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


def render_settings(spec) -> None:
    """The training settings; values survive page switches (persist_state)."""
    from sattn_dash.training.devices import list_devices  # asks TensorFlow for GPUs

    devices = list_devices()
    names = ["auto", *[d.name for d in devices]]
    described = {
        "auto": "Automatic (GPU when there is one)",
        **{d.name: d.description for d in devices},
    }
    if any(d.kind == "gpu" for d in devices) and len([d for d in devices if d.kind == "gpu"]) > 1:
        names.append("gpu")
        described["gpu"] = "All GPUs (mirrored)"
    cols = st.columns(4)
    cols[0].selectbox(
        "Device", names, format_func=described.get, key=_key("device"), persist_state="session"
    )
    cols[1].number_input(
        "Epochs",
        1,
        10_000,
        DEFAULTS.epochs,
        key=_key("epochs"),
        persist_state="session",
        help="The epoch budget: passes over the training rows. A cosine learning-rate "
        "schedule anneals over it; early stopping often ends sooner and keeps the best epoch.",
    )
    cols[2].number_input(
        "Batch size",
        1,
        1_000_000,
        None,
        key=_key("batch_size"),
        persist_state="session",
        placeholder="automatic",
        help="Empty = from the training rows: about 1/64 of them, a power of two "
        "between 64 and 512.",
    )
    cols[3].number_input(
        "Learning rate",
        1e-6,
        1.0,
        float(spec.learning_rate),
        format="%.5f",
        step=1e-4,
        key=_key("learning_rate"),
        persist_state="session",
        help="Starts from the architecture's learning rate.",
    )
    cols = st.columns(4)
    cols[0].slider(
        "Validation split",
        0.05,
        0.5,
        DEFAULTS.val_size,
        0.05,
        key=_key("val_size"),
        persist_state="session",
        help="Share of rows held out to watch overfitting "
        "(another 20% is kept for the final test).",
    )
    cols[1].toggle(
        "Early stopping",
        DEFAULTS.early_stopping,
        key=_key("early_stopping"),
        persist_state="session",
        help="Stop when the watched validation score stops improving and keep the best "
        "epoch's weights.",
    )
    cols[2].number_input(
        "Patience (epochs)",
        1,
        1000,
        DEFAULTS.patience,
        key=_key("patience"),
        persist_state="session",
        disabled=not st.session_state.get(_key("early_stopping"), DEFAULTS.early_stopping),
    )
    cols[3].number_input(
        "Seed",
        0,
        2**31 - 1,
        DEFAULTS.seed,
        key=_key("seed"),
        persist_state="session",
        help="Same seed, same data: same model.",
    )
    render_encoding_settings()
    st.text_input(
        "Run title (optional)", key=_key("title"), placeholder=spec.name, persist_state="session"
    )


MONITOR_LABELS = {
    "auto": "the target's validation metric (log loss, accuracy or RMSE)",
    "val_loss": "the validation loss",
}
SCALING_LABELS = {
    "quantile": "quantile (to a normal curve)",
    "robust": "robust (median and IQR)",
    "standard": "standard (mean and std)",
}
MANY_LEVEL_LABELS = {"codes": "learned embedding", "one_hot": "one-hot"}


def render_encoding_settings() -> None:
    """What early stopping watches and how prepare encodes the features."""
    cols = st.columns(4)
    _choice(
        cols[0],
        "Early stopping watches",
        MONITOR_LABELS,
        "monitor",
        "With several targets the metric choice watches the summed validation loss.",
    )
    _choice(
        cols[1],
        "Numeric scaling",
        SCALING_LABELS,
        "scaling",
        "Fitted on the training rows only. Quantile and robust scaling keep a few "
        "extreme values from dominating.",
    )
    cols[2].number_input(
        "Clip scaled values at ±",
        0.1,
        1000.0,
        None,
        key=_key("clip"),
        persist_state="session",
        placeholder="no clipping",
        help="Bound every scaled numeric value (e.g. 5): outliers cannot dominate.",
    )
    _choice(
        cols[3],
        "Categoricals over 20 levels",
        MANY_LEVEL_LABELS,
        "many_levels",
        "Embedding: level codes each branch embeds (unseen levels share one). "
        "One-hot: a 0/1 input per level.",
    )


def config_from_widgets(spec) -> TrainingConfig:
    get = st.session_state.get
    lr = float(get(_key("learning_rate"), spec.learning_rate))
    return TrainingConfig(
        epochs=int(get(_key("epochs"), DEFAULTS.epochs)),
        batch_size=None if get(_key("batch_size")) is None else int(get(_key("batch_size"))),
        learning_rate=None if math.isclose(lr, spec.learning_rate) else lr,
        seed=int(get(_key("seed"), DEFAULTS.seed)),
        device=get(_key("device"), "auto"),
        early_stopping=bool(get(_key("early_stopping"), DEFAULTS.early_stopping)),
        patience=int(get(_key("patience"), DEFAULTS.patience)),
        val_size=float(get(_key("val_size"), DEFAULTS.val_size)),
        monitor=get(_key("monitor"), DEFAULTS.monitor),
        scaling=get(_key("scaling"), DEFAULTS.scaling),
        clip=None if get(_key("clip")) is None else float(get(_key("clip"))),
        many_levels=get(_key("many_levels"), DEFAULTS.many_levels),
    )


def start(spec) -> None:
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
    state.CURRENT_RUN.set(run_id)
    state.MY_RUNS.set([*state.MY_RUNS.get(), run_id])
    run_picker.follow(run_id)  # the analysis pages open it once it has finished
    st.query_params["run"] = run_id


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


def render_start(spec) -> None:
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


def render_curves(run) -> None:
    history = tidy.history_long(run.history, run.targets)
    left, right = st.columns(2)  # drawn before the first epoch too: one layout throughout
    if history.empty:
        left.caption("Curves appear here when the first epoch ends.")
        return
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


def render_result(run) -> None:
    metrics = tidy.metrics_long(run.metrics)
    if not metrics.empty:
        st.subheader("Test-set results")
        st.caption(
            "On the held-out test rows: the same numbers as on the Runs page and the "
            "baselines leaderboard."
        )
        st.dataframe(metrics, hide_index=True)
    links = st.columns(3)
    links[0].page_link(
        pages.IMPORTANCE,
        label="Module importance",
        icon=":material/bar_chart:",
        query_params={"run": run.run_id},
    )
    links[1].page_link(
        pages.ATTENTION,
        label="Token attention",
        icon=":material/grid_on:",
        query_params={"run": run.run_id},
    )
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
