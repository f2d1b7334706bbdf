"""The Runs comparison names its curves in the user's words, as the Train page does:
no raw Keras history name (``val_loss``, ``head_<target>_loss``...) reaches a chart."""

from __future__ import annotations

import json

from sattn_dash.analysis.reports import comparison, tidy
from sattn_dash.charts import runs as runs_charts


def test_compared_curves_and_tables_speak_the_users_words(two_target_run):
    run = two_target_run
    keras = {c for c in run.history.columns if c not in tidy.BOOKKEEPING}
    assert {"val_loss", "val_head_amount_loss", "val_head_kind_loss"} <= keras

    frame = comparison.curves([run, run])
    words = dict(zip(frame["metric"], frame["label"], strict=False))
    assert words["loss"] == "total loss"
    assert words["head_amount_loss"] == "amount loss"
    assert words["head_kind_loss"] == "kind loss"

    raw = keras | {k.removeprefix("val_") for k in keras}
    raw -= set(words.values())  # a name that already is a word (e.g. "accuracy") is fine
    for metric in comparison.curve_metrics(frame):
        spec = runs_charts.overlaid_curves(frame, metric).to_dict()
        records = [row for rows in spec.pop("datasets").values() for row in rows]
        assert records and all("metric" not in row for row in records)
        values = {v for row in records for k, v in row.items() if k != "kind"}  # loss|score
        assert not values & raw, metric
        shown = json.dumps(spec)  # titles, axes, legends, tooltips
        assert words[metric] in shown
        assert not [name for name in raw if f'"{name}"' in shown], metric

    best = comparison.best_and_final([run])
    assert {"total loss", "amount loss", "kind loss"} <= set(best["metric"])
    assert not set(best["metric"]) & raw

    judged = comparison.judged_by(run)  # which epoch counts, as the Metrics tab says it
    monitor = run.card["monitor"]["name"].removeprefix("val_")
    assert judged.startswith(f"validation {words[monitor]} (") and "val_" not in judged
