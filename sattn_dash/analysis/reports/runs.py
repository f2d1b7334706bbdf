"""The analysis of a stored run: each ``<name>_for_run(run, **options)`` calls ``<name>``
with the run's model, prepared data and seed; ``options`` are the core function's own
keyword arguments (``split``, ``metric``, ``max_rows``, ...).

The core functions take the plain things (a Keras model, a ``PreparedData``, a
snapshots table) so they can be tested and reused without a run store; pages and the
CLI hold a ``Run`` and use these.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import pandas as pd

from sattn_dash.analysis.attributions.explanations import explanations_for_run
from sattn_dash.analysis.baselines.baselines import sklearn_baselines, tuned_lightgbm
from sattn_dash.analysis.columns.importance import column_importance_table
from sattn_dash.analysis.modules import ablation, members, modules, permutation
from sattn_dash.analysis.modules.agreement import faithfulness
from sattn_dash.analysis.tokens import tokens

if TYPE_CHECKING:
    from sattn_dash.tabular.stream import StreamedData
    from sattn_dash.training.run import Run


def _seeded(run: Run, options: dict) -> dict:
    return {"seed": run.config.seed, **options}


def module_importance_for_run(run: Run, **options) -> pd.DataFrame:
    return modules.module_importance(run.model, run.prepared, **_seeded(run, options))


def routing_by_class_for_run(run: Run, **options) -> pd.DataFrame:
    return modules.routing_by_class(run.model, run.prepared, **_seeded(run, options))


def importance_over_training_for_run(run: Run) -> pd.DataFrame:
    return modules.importance_over_training(run.snapshots)


def entropy_over_training_for_run(run: Run) -> pd.DataFrame:
    return modules.entropy_over_training(run.snapshots)


def temperature_what_if_for_run(run: Run, temperatures: Iterable[float], **options) -> pd.DataFrame:
    return modules.temperature_what_if(run.model, run.prepared, temperatures, **options)


def temperature_distribution_for_run(run: Run, temperatures: Iterable[float]) -> pd.DataFrame:
    return modules.temperature_distribution(run.model, temperatures)


def ablation_importance_for_run(run: Run, **options) -> pd.DataFrame:
    return ablation.ablation_importance(run.model, run.prepared, **_seeded(run, options))


def permutation_importance_by_for_run(run: Run, level: str = "group", **options) -> pd.DataFrame:
    return permutation.permutation_importance_by(
        run.model, run.prepared, level, **_seeded(run, options)
    )


#: Rows and steps of the attributions behind column importance: fewer than the
#: Predictions page's default, so the page answers in seconds; stored with the run.
COLUMN_ROWS, COLUMN_STEPS = 100, 16


def column_importance_for_run(
    run: Run,
    split: str = "val",
    rows: int = COLUMN_ROWS,
    steps: int = COLUMN_STEPS,
    n_repeats: int = 5,
) -> pd.DataFrame:
    """Permutation importance of every source column beside its mean |attribution| over
    ``rows`` explained rows of ``split`` (``columns.importance``)."""
    shuffled = permutation_importance_by_for_run(run, "column", split=split, n_repeats=n_repeats)
    attributions = explanations_for_run(run, split=split, rows=rows, steps=steps)["columns"]
    return column_importance_table(shuffled, attributions)


def member_scores_for_run(run: Run, **options) -> pd.DataFrame:
    return members.member_scores(run.model, run.prepared, **_seeded(run, options))


def faithfulness_for_run(run: Run, split: str = "val", mode: str = "mean") -> pd.DataFrame:
    """Attention against ablation importance of one run, with the verdict."""
    return faithfulness(
        module_importance_for_run(run, split=split),
        ablation_importance_for_run(run, mode=mode, split=split),
    )


def token_attention_for_run(run: Run, rows: Sequence[int], **options) -> pd.DataFrame:
    return tokens.token_attention(run.model, run.prepared, rows, **options)


def dataset_attention_for_run(run: Run, **options) -> pd.DataFrame:
    return tokens.dataset_attention(run.model, run.prepared, **_seeded(run, options))


def routing_co_selection_for_run(run: Run, **options) -> pd.DataFrame:
    return tokens.routing_co_selection(run.model, run.prepared, **_seeded(run, options))


def cls_attention_for_run(
    run: Run, split: str = "val", with_permutation: bool = True
) -> pd.DataFrame:
    """CLS attention per source column, next to the column's permutation importance
    (computed only when the model has a CLS token to compare)."""
    frame = tokens.cls_attention(run.model, run.prepared, split=split, seed=run.config.seed)
    if not with_permutation:
        return frame
    return tokens.add_permutation(
        frame, permutation_importance_by_for_run(run, "column", split=split)
    )


def baselines_for_run(
    run: Run, splits: Sequence[str] = ("test",), retrain: bool = True
) -> pd.DataFrame:
    """scikit-learn baselines, (with ``retrain``) the run's own simpler variants and the
    LightGBM last tuned for the run, on the run's split, with the same metrics; one
    table."""
    tuned = run.stored_table(TUNED_FILE)  # first: a damaged copy is said before the slow part
    streamed = run_stream(run)
    frames = [sklearn_baselines(run.prepared, splits, run.config.seed, streamed)]
    if retrain:
        from sattn_dash.analysis.baselines.retrained import model_baselines

        frames.append(model_baselines(run.model, run.spec, run.prepared, run.config, splits))
    if tuned is not None:
        frames.append(tuned[tuned["split"].isin(splits)])
    return pd.concat(frames, ignore_index=True)


#: The run's file holding its last tuned LightGBM (``tuned_lightgbm_for_run``).
TUNED_FILE = "tuned_lightgbm.json"


def tuned_lightgbm_for_run(
    run: Run, trials: int, splits: Sequence[str] = ("test",), progress=None
) -> pd.DataFrame:
    """A LightGBM tuned by Optuna on the run's validation rows (``tuned_lightgbm``),
    scored on the run's split like the other baselines. Kept with the run, so the
    leaderboard and the report show it after a restart (``baselines_for_run``)."""
    tuned = tuned_lightgbm(
        run.prepared, trials, splits, run.config.seed, run_stream(run), progress=progress
    )
    run.keep_table(TUNED_FILE, tuned)
    return tuned


def run_stream(run: Run) -> StreamedData | None:
    """The table a streamed run read, opened again (a `StreamedData`); None for a run
    held in memory, or when the table's files are gone or changed."""
    from sattn_dash.errors import DataError
    from sattn_dash.tabular.stream import StreamedData

    if run.stream is None:
        return None
    try:
        return StreamedData.reopen(run.stream, run.prepared)
    except DataError:
        return None


def baseline_for_run(run: Run) -> pd.DataFrame:
    """The baseline row every attribution of the run starts from."""
    from sattn_dash.analysis.attributions.attributions import baseline_frame

    return baseline_frame(run.prepared)
