"""Resume from the app: an interrupted run offers Resume on the Runs and Train pages, and
pressing it carries the run on to a finished run with a continuous history."""

from __future__ import annotations

from sattn_dash.tabular import infer_schema
from sattn_dash.training import RunStore, TrainingConfig
from sattn_dash.ui.shared import pages
from tests.app.helpers import by_label, no_exception, open_page, texts
from tests.interrupt import interrupted_run
from tests.unit.conftest import make_training_table

CONFIG = TrainingConfig(epochs=4, batch_size=32, seed=1)


def test_resume_an_interrupted_run_from_the_train_page(app, workspace, monkeypatch):
    from sattn_dash.ui.shared.sessions import registry

    df = make_training_table(200)
    schema = infer_schema(df, targets=["label"])
    store = RunStore(workspace)
    run_id = interrupted_run(store, df, schema, "ensemble", CONFIG, monkeypatch, epoch=3, batch=1)
    no_checkpoint = interrupted_run(
        store, df, schema, "ensemble", CONFIG, monkeypatch, epoch=1, batch=1
    )

    at = open_page(app, pages.RUNS, run_id)
    no_exception(at)
    assert any("stopped after epoch 2 of 4" in w for w in texts(at.warning))
    assert at.button(key=f"train.resume.runs.{run_id}")

    at = open_page(app, pages.TRAIN, no_checkpoint)
    no_exception(at)
    assert not [b for b in at.button if b.label == "Resume"]
    assert any("before its first epoch ended" in c for c in texts(at.caption))

    at.query_params["run"] = run_id
    at.run()
    by_label(at.button, "Resume").click().run()
    no_exception(at)
    assert at.query_params["run"] == run_id
    assert registry().get(run_id).wait(600).state == "finished"
    at.run()
    no_exception(at)
    run = store.load(run_id)
    assert run.status == "finished" and run.history["epoch"].tolist() == [1, 2, 3, 4]
    assert run.card["resumed"][0]["from_epoch"] == 2
    assert not [b for b in at.button if b.label == "Resume"]
    assert any("Test-set results" in s for s in texts(at.subheader))
