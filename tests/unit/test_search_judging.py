"""A search judges its trials as training judges a run (issue 25, item 1): by the
metric early stopping watched (the head's own validation loss for a binary target,
not the total that adds an ensemble's members' loss), offers only metrics that fit the
task, and says when parameter importance rests on too few trials."""

from __future__ import annotations

import math

import pytest

from sattn_dash.errors import SpecError
from sattn_dash.search.space import check_space
from sattn_dash.search.study import (
    StudySettings,
    create_or_resume,
    importance_caveat,
    metrics_for,
    open_storage,
    trials_frame,
)
from sattn_dash.tabular import infer_schema, prepare
from sattn_dash.training import RunStore

ENSEMBLE = {
    "layout": "all_columns",
    "branches": 1,
    "branch_kinds": {"batch_ensemble": {"members": 3, "width": 8, "depth": 1}},
    "numeric_embeddings": {"none": {}},
    "combiner": "mean",
    "schedule": "constant",
    "label_smoothing": 0.0,
    "scaling": "standard",
    "batch_size": 64,
    "epochs": 2,
    "learning_rate": {"low": 1e-3, "high": 1e-2, "log": True},
}


def _settings(csv, table, targets, **kw):
    schema = infer_schema(table, targets=targets)
    prepared = prepare(table, schema, seed=0)
    return (
        StudySettings(
            data_path=str(csv),
            data_name=csv.name,
            targets=targets,
            schema=schema.to_dict(),
            space=check_space(ENSEMBLE),
            data_hash=prepared.data_hash,
            **kw,
        ),
        schema,
        prepared,
    )


def test_trials_of_an_ensemble_are_ranked_by_the_heads_loss_not_the_total(
    tmp_path, training_csv, training_table
):
    from sattn_dash.search.worker import SearchData, run_worker

    settings, schema, prepared = _settings(training_csv, training_table, ["label"], trials=2)
    assert settings.metric == "auto" and settings.direction == "minimize"
    ws = tmp_path / "ws"
    study, settings = create_or_resume(
        "judged", open_storage("judged", None, ws), settings, space_given=True
    )
    store = RunStore(ws)
    run_worker(study, settings, SearchData(training_table, schema, prepared, "t"), store)
    frame = trials_frame(study)
    done = frame[frame["state"] == "COMPLETE"]
    assert len(done) == 2
    for _, trial in done.iterrows():
        run = store.load(trial["run_id"])
        monitor = run.card["monitor"]["name"]
        assert monitor == "val_head_label_loss"  # the members' outputs make Keras prefix
        kept = run.history[run.history["epoch"] == run.card["best_epoch"]].iloc[-1]
        assert trial["value"] == pytest.approx(kept[monitor])
        assert not math.isclose(trial["value"], kept["val_loss"])  # the total adds more


def test_only_metrics_that_fit_the_targets_are_offered_and_accepted(
    tmp_path, training_csv, training_table
):
    assert metrics_for({"label": "binary"}) == ("auto", "val_loss", "val_accuracy", "val_auc")
    assert "val_rmse" not in metrics_for({"label": "binary"})
    assert metrics_for({"amount": "regression"}) == ("auto", "val_loss", "val_rmse", "val_mae")
    assert metrics_for({"label": "binary", "amount": "regression"}) == ("auto", "val_loss")
    settings, _, _ = _settings(training_csv, training_table, ["label"], metric="val_rmse")
    with pytest.raises(SpecError, match="val_rmse does not fit"):
        create_or_resume("bad", open_storage("bad", None, tmp_path), settings, space_given=True)


def test_parameter_importance_over_few_trials_is_called_a_hint():
    assert "rests on 4 completed trials" in importance_caveat(4)
    assert "1 completed trial:" in importance_caveat(1)
    assert importance_caveat(10) is None
