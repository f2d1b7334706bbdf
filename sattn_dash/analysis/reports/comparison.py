"""Comparing 2 to 5 stored runs: their curves, what differs in how they were set up,
their metrics at the best and the final epoch, and their module importances.

Pure (no Streamlit, no TensorFlow): everything comes from the run folders' JSON and CSV
files, so a comparison opens as fast as the run list. Each table names its runs with
``label(run)``; ``comparison_table`` puts them all in one frame for the CSV export.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from sattn_dash.analysis.reports import tidy
from sattn_dash.modeling.combiners import combiner, kinds_with
from sattn_dash.training.run import Run

MIN_RUNS, MAX_RUNS = 2, 5
MISSING = "—"  # a setting one run has and another does not
BEST, FINAL = "best epoch", "final epoch"


def readable(runs: Iterable[Run]) -> tuple[list[Run], list[str]]:
    """The runs whose files a comparison reads are whole, and the errors of the others
    (each names its damaged file): one damaged run does not stop the comparison."""
    from sattn_dash.errors import RunError

    whole, errors = [], []
    for run in runs:
        try:
            run.history, run.spec, run.config, run.card, run.metrics  # noqa: B018
        except RunError as error:
            errors.append(str(error))
        else:
            whole.append(run)
    return whole, errors


def label(run: Run) -> str:
    """A run's name in charts and tables: its title, made unique by the end of its id."""
    return f"{run.title} [{run.run_id[-6:]}]"


# --- curves ------------------------------------------------------------------------------
def curves(runs: Iterable[Run]) -> pd.DataFrame:
    """Every run's per-epoch curves stacked: ``run, epoch, metric, split, value, kind,
    label``; ``label`` names the Keras ``metric`` in the user's words, as the Train page's
    chart does, and the same for every run (``loss`` is the "total loss" when any run logs
    several losses)."""
    runs = list(runs)
    targets = list(dict.fromkeys(t for run in runs for t in run.targets))
    parts = []
    for run in runs:
        part = tidy.history_long(run.history, targets)
        part.insert(0, "run", label(run))
        parts.append(part)
    if not parts:
        return pd.DataFrame(columns=["run", "epoch", "metric", "split", "value", "kind", "label"])
    frame = pd.concat(parts, ignore_index=True)
    several = frame.loc[frame["kind"] == "loss", "metric"].nunique() > 1
    frame["label"] = frame["metric"].map(lambda m: tidy.metric_label(m, targets, several))
    return frame


def curve_metrics(curves_frame: pd.DataFrame) -> list[str]:
    """The metrics with a curve, the loss first."""
    return sorted(curves_frame["metric"].unique(), key=lambda m: (m != "loss", m))


# --- settings ----------------------------------------------------------------------------
def _compact(item: dict) -> str:
    """A block such as ``dense(units=64, activation=relu)``."""
    kind = item.get("kind", "")
    rest = ", ".join(f"{k}={_text(v)}" for k, v in item.items() if k != "kind")
    return f"{kind}({rest})"


def _text(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, list | tuple):
        return ", ".join(map(_text, value)) if value else "none"
    return str(value)


def _flatten(value: Any, prefix: str) -> dict[str, str]:
    """Nested spec/config values as ``{dotted field: text}``. Lists of named things
    (branches, heads) are keyed by name, so one added branch is one difference, not a
    shift of every later one; a list of blocks reads as one line."""
    if isinstance(value, dict):
        flat: dict[str, str] = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}.{key}"))
        return flat
    if isinstance(value, list | tuple) and value and all(isinstance(v, dict) for v in value):
        names = [v.get("name", v.get("target")) for v in value]
        if all(isinstance(n, str) for n in names):
            flat = {}
            for name, item in zip(names, value, strict=True):
                rest = {k: v for k, v in item.items() if k not in ("name", "target")}
                flat.update(_flatten(rest, f"{prefix}[{name}]"))
            return flat
        return {prefix: " → ".join(_compact(v) for v in value)}
    return {prefix: _text(value)}


def settings(run: Run) -> dict[str, str]:
    """What a run was trained with: its spec, its training config and its data."""
    card = run.card or {}
    fields = _flatten(run.spec.to_dict() if run.spec is not None else {}, "spec")
    fields.update(_flatten(run.config.to_dict(), "config"))
    fields.update(
        _flatten(
            {
                "targets": [f"{t} ({run.tasks.get(t, '?')})" for t in run.targets],
                "hash": card.get("data_hash"),
                "rows": card.get("rows"),
                "features": card.get("features"),
            },
            "data",
        )
    )
    fields["model.parameters"] = _text(card.get("parameters"))
    return fields


def differences(runs: list[Run], every_field: bool = False) -> pd.DataFrame:
    """``field`` plus one column per run: only the fields whose values differ (all of
    them with ``every_field``), in spec, config, data order."""
    per_run = {label(run): settings(run) for run in runs}
    names = list(dict.fromkeys(f for fields in per_run.values() for f in fields))
    rows = []
    for name in names:
        values = {run: fields.get(name, MISSING) for run, fields in per_run.items()}
        if every_field or len(set(values.values())) > 1:
            rows.append({"field": name, **values})
    return pd.DataFrame(rows, columns=["field", *per_run])


# --- metrics -----------------------------------------------------------------------------
def saved_epoch(run: Run) -> int | None:
    """The epoch whose weights the saved model holds: the best one when early stopping
    restored it, else the last."""
    best, last = run.card.get("best_epoch"), run.epochs_run or None
    return best if run.config.early_stopping and best is not None else last


def judged_by(run: Run) -> str:
    """What made the best epoch best, in the user's words, e.g. ``validation price loss
    (lower is better)`` for Keras' ``val_head_price_loss``."""
    monitor = run.card.get("monitor")
    if not monitor:  # a run from before the card recorded it
        return MISSING
    better = "higher" if monitor["mode"] == "max" else "lower"
    name = monitor["name"]
    split = "validation" if name.startswith("val_") else "training"
    metric = name.removeprefix("val_")
    history = tidy.history_long(run.history, run.targets)
    words = dict(zip(history["metric"], history["label"], strict=True))
    return f"{split} {words.get(metric, metric)} ({better} is better)"


def facts(runs: list[Run]) -> pd.DataFrame:
    """``item`` plus one column per run: id, status, combiner and which epochs count."""
    per_run = {
        label(run): {
            "run id": run.run_id,
            "status": run.status,
            "combiner": run.combiner or MISSING,
            "epochs run": run.epochs_run,
            "best epoch": run.card.get("best_epoch"),
            "best epoch judged by": judged_by(run),
            "weights saved from epoch": saved_epoch(run),
        }
        for run in runs
    }
    items = list(next(iter(per_run.values()), {}))
    rows = [{"item": item, **{name: str(v[item]) for name, v in per_run.items()}} for item in items]
    return pd.DataFrame(rows, columns=["item", *per_run])


def best_and_final(runs: Iterable[Run]) -> pd.DataFrame:
    """Each curve's value at the run's best epoch (the one early stopping judged best,
    else the lowest validation loss) and at its last: ``run, metric, split, at, epoch,
    value`` (``metric`` in the user's words, as ``curves`` names it)."""
    runs = list(runs)
    every = curves(runs)
    rows = []
    for run in runs:
        history = every[every["run"] == label(run)]
        if history.empty:
            continue
        final = int(history["epoch"].max())
        best = run.card.get("best_epoch") or _lowest_val_loss(history) or final
        for (metric, split), part in history.groupby(["label", "split"], sort=False):
            by_epoch = dict(zip(part["epoch"], part["value"], strict=True))
            for at, epoch in ((BEST, best), (FINAL, final)):
                if epoch in by_epoch:
                    rows.append(
                        {
                            "run": label(run),
                            "metric": metric,
                            "split": split,
                            "at": at,
                            "epoch": int(epoch),
                            "value": float(by_epoch[epoch]),
                        }
                    )
    return pd.DataFrame(rows, columns=["run", "metric", "split", "at", "epoch", "value"])


def _lowest_val_loss(history: pd.DataFrame) -> int | None:
    val = history[(history["metric"] == "loss") & (history["split"] == "validation")]
    return int(val.loc[val["value"].idxmin(), "epoch"]) if not val.empty else None


def test_metrics(runs: Iterable[Run]) -> pd.DataFrame:
    """The saved models' metrics on each run's test rows: ``run, target, metric, value``."""
    parts = [tidy.metrics_long(run.metrics, label(run)) for run in runs]
    parts = [p for p in parts if not p.empty]
    if not parts:
        return pd.DataFrame(columns=["run", "target", "metric", "value"])
    return pd.concat(parts, ignore_index=True)


# --- module importance -------------------------------------------------------------------
def importances(runs: Iterable[Run]) -> pd.DataFrame:
    """Each run's stored module importance (``Run.module_importance``, the same number the
    CLI and the Module importance page give), for every combiner that has one:
    ``run, combiner, measure, branch, importance``."""
    measures = {kind: combiner(kind).importance for kind in kinds_with("importance")}
    rows = [
        {
            "run": label(run),
            "combiner": run.combiner,
            "measure": measures.get(run.combiner, "importance"),
            "branch": branch,
            "importance": float(value),
        }
        for run in runs
        for branch, value in (run.module_importance or {}).items()
    ]
    return pd.DataFrame(rows, columns=["run", "combiner", "measure", "branch", "importance"])


def shared_branches(frame: pd.DataFrame) -> list[str]:
    """The branches every run with an importance has, in the first run's order."""
    if frame.empty:
        return []
    runs = frame["run"].nunique()
    counts = frame.groupby("branch", sort=False)["run"].nunique()
    return [b for b in frame["branch"].drop_duplicates() if counts[b] == runs]


def without_importance(runs: Iterable[Run]) -> dict[str, str]:
    """Run label -> why it has no module importance to compare."""
    reasons = {}
    for run in runs:
        if run.module_importance:
            continue
        if run.combiner in kinds_with("importance"):
            reasons[label(run)] = "its model was not saved, or it was trained by an older version"
        else:
            reasons[label(run)] = f"a {run.combiner or 'missing'} combiner weighs no branch"
    return reasons


# --- everything, for the CSV -------------------------------------------------------------
def comparison_table(runs: list[Run], every_field: bool = False) -> pd.DataFrame:
    """The whole comparison in one wide frame: ``section, item, detail`` and one column
    per run, as the CSV export."""
    table: dict[tuple[str, str, str], dict[str, Any]] = {}

    def put(section: str, item: str, detail: str, run: str, value: Any) -> None:
        table.setdefault((section, item, detail), {})[run] = value

    for row in facts(runs).to_dict("records"):
        for run in runs:
            put("run", row["item"], "", label(run), row[label(run)])
    diff = differences(runs, every_field)
    for row in diff.to_dict("records"):
        for run in runs:
            put("setting", row["field"], "", label(run), row[label(run)])
    for row in best_and_final(runs).to_dict("records"):
        put(row["at"], row["metric"], row["split"], row["run"], row["value"])
    for row in test_metrics(runs).to_dict("records"):
        put("test (saved model)", row["metric"], row["target"], row["run"], row["value"])
    for row in importances(runs).to_dict("records"):
        put("module importance", row["branch"], row["measure"], row["run"], row["importance"])
    names = [label(run) for run in runs]
    rows = [
        {"section": section, "item": item, "detail": detail, **{n: values.get(n) for n in names}}
        for (section, item, detail), values in table.items()
    ]
    return pd.DataFrame(rows, columns=["section", "item", "detail", *names])
