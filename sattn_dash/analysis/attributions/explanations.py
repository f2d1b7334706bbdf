"""Per-row explanations of a stored run, kept with the run so they are paid for once.

``explanations_for_run`` computes attributions, completeness, attention and the per-row
agreement for N rows of a split and writes them to ``<run>/explanations/<key>/`` (one
Parquet file per table and ``meta.json``, written atomically); a later call with the
same split, rows and steps, on the same model file, reads them back without TensorFlow.
Every computation also records its seconds per row in ``explanations/cost.json``, which
``explain_cost_for_run`` turns into the estimate shown before the next one is paid; a
run never explained is estimated by timing a few of its rows.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from sattn_dash.analysis.attributions.per_row import row_agreement
from sattn_dash.files import read_json, write_dir, write_json

if TYPE_CHECKING:
    from sattn_dash.training.run import Run

FOLDER = "explanations"
TABLES = ("columns", "branches", "completeness", "attention", "agreement")
DEFAULT_ROWS, DEFAULT_STEPS, PROBE_ROWS = 200, 32, 16


def _folder(run: Run, split: str, rows: int, steps: int) -> Path:
    return run.path / FOLDER / f"{split}-{int(rows)}rows-{int(steps)}steps"


def cached_explanations(
    run: Run, split: str = "val", rows: int = DEFAULT_ROWS, steps: int = DEFAULT_STEPS
) -> dict[str, pd.DataFrame] | None:
    """The stored explanations of these settings for the current model, or None."""
    folder = _folder(run, split, rows, steps)
    try:
        meta = read_json(folder / "meta.json")
        if meta.get("model_stamp") != run.model_stamp:
            return None
        return {name: pd.read_parquet(folder / f"{name}.parquet") for name in TABLES}
    except (OSError, ValueError):
        return None


def explanations_for_run(
    run: Run,
    split: str = "val",
    rows: int = DEFAULT_ROWS,
    steps: int = DEFAULT_STEPS,
    progress=None,
) -> dict[str, pd.DataFrame]:
    """Tables ``columns, branches, completeness, attention, agreement`` for up to
    ``rows`` rows of ``split`` (see ``attributions.explain_rows`` and
    ``row_agreement.row_agreement``), from the run folder when already computed."""
    found = cached_explanations(run, split, rows, steps)
    if found is not None:
        return found
    from sattn_dash.analysis.attributions.attributions import explain_rows

    began = time.perf_counter()
    frames = explain_rows(
        run.model, run.prepared, split, rows, steps, seed=run.config.seed, progress=progress
    )
    seconds = time.perf_counter() - began
    frames["agreement"] = row_agreement(frames["attention"], frames["columns"], frames["branches"])
    explained = int(frames["completeness"]["row"].nunique())
    _store(run, split, rows, steps, frames, seconds, explained)
    return frames


def _store(run: Run, split, rows, steps, frames, seconds, explained) -> None:
    folder = _folder(run, split, rows, steps)
    folder.parent.mkdir(exist_ok=True)

    def write(temp: Path) -> None:
        for name in TABLES:
            frames[name].to_parquet(temp / f"{name}.parquet", index=False)
        write_json(
            temp / "meta.json",
            {
                "model_stamp": run.model_stamp,
                "split": split,
                "rows": explained,
                "steps": steps,
                "seconds": seconds,
            },
        )

    if folder.exists():
        shutil.rmtree(folder, ignore_errors=True)  # stale: the model file changed
    write_dir(folder, write)
    cost = _costs(run)
    cost[str(steps)] = {"seconds_per_row": seconds / max(explained, 1), "rows": explained}
    write_json(run.path / FOLDER / "cost.json", cost)


def _costs(run: Run) -> dict:
    try:
        return read_json(run.path / FOLDER / "cost.json")
    except (OSError, ValueError):
        return {}


def explain_cost_for_run(
    run: Run, split: str = "val", rows: int = DEFAULT_ROWS, steps: int = DEFAULT_STEPS
) -> pd.DataFrame:
    """What explaining ``rows`` rows will take, before it is paid: one row with
    ``rows, steps, seconds_per_row, estimate_s, cached, basis``. From this run's own
    earlier explanations when there are any (scaled by steps), else by timing
    ``PROBE_ROWS`` rows now (once warm, so a model trace is not counted per row)."""
    n = min(int(rows), len(run.prepared.row_index[split]))
    cached = cached_explanations(run, split, rows, steps) is not None
    known = _costs(run)
    if known:
        nearest = min(known, key=lambda s: abs(int(s) - steps))
        per_row = known[nearest]["seconds_per_row"] * steps / int(nearest)
        basis = f"measured on {known[nearest]['rows']:,} rows of this run at {nearest} steps"
    else:
        per_row = _probe(run, split, steps)
        basis = f"timed on {PROBE_ROWS} rows of this run"
    return pd.DataFrame(
        [
            {
                "rows": n,
                "steps": steps,
                "seconds_per_row": per_row,
                "estimate_s": 0.0 if cached else per_row * n,
                "cached": cached,
                "basis": "already computed" if cached else basis,
            }
        ]
    )


def _probe(run: Run, split: str, steps: int) -> float:
    from sattn_dash.analysis.attributions.attributions import explain_rows

    explain_rows(run.model, run.prepared, split, 2, steps, seed=run.config.seed)  # traces
    began = time.perf_counter()
    explain_rows(run.model, run.prepared, split, PROBE_ROWS, steps, seed=run.config.seed)
    return (time.perf_counter() - began) / PROBE_ROWS
