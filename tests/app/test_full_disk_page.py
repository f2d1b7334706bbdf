"""The pages on a run a full disk interrupted: the Runs and Train pages say the disk is
full, where, and offer Resume (the run kept its last whole checkpoint)."""

from __future__ import annotations

from sattn_dash.tabular import infer_schema
from sattn_dash.training import RunStore, TrainingSession
from sattn_dash.ui.shared import pages
from tests.app.helpers import no_exception, open_page, texts
from tests.full_disk import SmallDisk
from tests.unit.conftest import make_training_table
from tests.unit.test_full_disk import CONFIG, FillsTheDisk


def test_the_pages_say_the_disk_is_full_and_offer_resume(app, tmp_path, monkeypatch):
    disk = SmallDisk(tmp_path / "disk", monkeypatch)
    try:
        workspace = disk.path / "ws"
        monkeypatch.setenv("SATTN_DASH_WORKSPACE", str(workspace))
        df = make_training_table(200)
        session = TrainingSession(
            df,
            infer_schema(df, targets=["label"]),
            "ensemble",
            CONFIG,
            RunStore(workspace),
            callbacks=[FillsTheDisk(disk, at=2)],
        )
        assert session.run().state == "interrupted"
        for page in (pages.RUNS, pages.TRAIN):
            at = open_page(app, page, session.run_id)
            no_exception(at)
            errors = [e for e in texts(at.error) if e.startswith("The disk is full: ")]
            assert errors and str(disk.path) in errors[0], texts(at.error)
            assert [b for b in at.button if b.label == "Resume"]
    finally:
        disk.free()
        disk.close()
