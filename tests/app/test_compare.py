"""Comparing three real runs on the Runs page (AppTest): curves per metric, only the
settings that differ, best-epoch and final metrics, every combiner's module importance
side by side, and the CSV of it all."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from sattn_dash.analysis.reports import comparison
from sattn_dash.training import RunStore
from sattn_dash.ui.shared import pages
from tests.app.helpers import chart_data, chart_titled, no_exception, texts


def open_comparison(app, run_ids):
    at = app.run()
    at.switch_page(pages.RUNS).run()
    at.multiselect(key="runs.compare").set_value(list(run_ids)).run()
    no_exception(at)
    return at


def test_three_runs_side_by_side(comparison_app, comparison_workspace):
    app, runs = comparison_app
    at = open_comparison(app, runs.values())
    store = RunStore(comparison_workspace[0])
    labels = {name: comparison.label(store.load(run_id)) for name, run_id in runs.items()}

    # One overlaid chart per metric, each with all three runs and both splits.
    for metric in ("loss", "accuracy"):
        curves = chart_data(chart_titled(at, f"{metric} per epoch"))
        assert set(curves["run"]) == set(labels.values())
        assert set(curves["split"]) == {"training", "validation"}
    routed = curves[(curves["run"] == labels["routed"]) & (curves["split"] == "training")]
    assert sorted(routed["epoch"]) == [1, 2, 3]

    # Only what differs: the combiner, the learning rate, epochs and seed; not the branches.
    settings = next(t.value for t in at.dataframe if "field" in t.value.columns)
    fields = set(settings["field"])
    assert {"spec.combiner.kind", "config.epochs", "config.seed", "config.learning_rate"} <= fields
    assert not any(f.startswith("spec.branches") for f in fields)
    assert "config.batch_size" not in fields
    row = settings.set_index("field").loc["spec.combiner.kind"]
    assert row[labels["routed"]] == "sparse_dense" and row[labels["slow"]] == "sparse_attention"

    # Best and final epoch per curve, side by side.
    side = next(t.value for t in at.dataframe if "at" in t.value.columns)
    assert set(side["at"]) == {"best epoch", "final epoch"}
    assert list(side.columns[3:]) == list(labels.values())
    history = store.load(runs["routed"]).history
    final = side[(side["metric"] == "loss") & (side["split"] == "validation")]
    final = final.set_index("at")[labels["routed"]]
    assert final["final epoch"] == pytest.approx(history["val_loss"].iloc[-1])
    assert final["best epoch"] == pytest.approx(history["val_loss"].min())
    facts = next(t.value for t in at.dataframe if "item" in t.value.columns)
    judged = facts.set_index("item").loc["best epoch judged by"]
    assert all(v.startswith("validation ") and v.endswith("is better)") for v in judged)
    assert not any("val_" in v or "head_" in v for v in judged)  # Keras names, in words
    tests = chart_data(chart_titled(at, "Test metrics"))
    assert set(tests["run"]) == set(labels.values())

    # Every combiner's importance, sparse_dense included, over the shared branches.
    importance = chart_data(chart_titled(at, "Module importance by run"))
    assert set(importance["run"]) == set(labels.values())
    assert set(importance["branch"]) == {"linear", "nonlinear", "deep"}
    for name, run_id in runs.items():
        stored = store.load(run_id).module_importance
        drawn = importance[importance["run"] == labels[name]].set_index("branch")["importance"]
        assert drawn.to_dict() == pytest.approx(stored)
    measures = importance.groupby("run")["measure"].first()
    assert measures[labels["routed"]].startswith("mean routing weight")


def test_showing_every_setting_and_the_csv(comparison_app, comparison_workspace):
    app, runs = comparison_app
    at = open_comparison(app, [runs["attention"], runs["slow"]])
    diff = next(t.value for t in at.dataframe if "field" in t.value.columns)
    at.toggle(key="runs.compare_every_field").set_value(True).run()
    no_exception(at)
    every = next(t.value for t in at.dataframe if "field" in t.value.columns)
    assert len(every) > len(diff) and "config.batch_size" in set(every["field"])

    download = next(d for d in at.get("download_button") if "comparison" in str(d.proto.label))
    assert download.proto.label == "Download the comparison (CSV)"
    store = RunStore(comparison_workspace[0])
    expected = comparison.comparison_table(
        [store.load(runs["attention"]), store.load(runs["slow"])], every_field=True
    )
    assert set(expected["section"]) >= {
        "run",
        "setting",
        "best epoch",
        "final epoch",
        "test (saved model)",
        "module importance",
    }
    reread = pd.read_csv(io.StringIO(expected.to_csv(index=False)))
    assert list(reread.columns[3:]) == [
        comparison.label(store.load(runs["attention"])),
        comparison.label(store.load(runs["slow"])),
    ]


def test_fewer_than_two_or_more_than_five(comparison_app):
    app, runs = comparison_app
    at = open_comparison(app, [runs["routed"]])
    assert any("Pick 2 to 5 runs" in c for c in texts(at.caption))
    assert not [c for c in at.get("vega_lite_chart") if "per epoch" in str(c.proto.spec)]
    assert at.multiselect(key="runs.compare").proto.max_selections == comparison.MAX_RUNS
