"""Scoring a new file on the Predictions page (``ui.score_view``) through AppTest: a
server path below the data root is scored, its first rows and every prediction are
offered; a file lacking a column shows the same message as the CLI and keeps the last
result."""

from __future__ import annotations

import pandas as pd

from sattn_dash.tabular import load_sample
from sattn_dash.ui.shared import pages, state
from tests.app.helpers import no_exception, open_page, texts


def test_score_a_server_file_then_a_bad_one(trained_app, tmp_path, monkeypatch):
    app, runs = trained_app
    monkeypatch.setenv("SATTN_DASH_DATA_ROOT", str(tmp_path))
    rows = load_sample("synthetic_groups").head(40)  # with its target: metrics too
    rows.insert(0, "customer", [f"c{i}" for i in range(len(rows))])
    rows.to_csv(tmp_path / "new.csv", index=False)
    rows.drop(columns=[rows.columns[1]]).to_csv(tmp_path / "lacking.csv", index=False)
    at = open_page(app, pages.PREDICTIONS, runs["groups"])
    at.text_input(key=state.SCORE_KEEP.name).set_value("customer")
    at.text_input(key=state.SCORE_PATH.name).set_value("new.csv")
    next(b for b in at.button if b.label == "Score").click().run()
    no_exception(at)
    assert not at.error, texts(at.error)
    assert any("40 rows scored" in t for t in texts(at.markdown))
    metrics = at.dataframe[-2].value
    assert set(metrics["target"]) == {"churned"} and "n" not in set(metrics["metric"])
    head = at.dataframe[-1].value
    assert list(head["customer"][:3]) == ["c0", "c1", "c2"]
    assert {"churned_pred"} <= set(head.columns)
    _, _, scored = at.session_state[state.SCORE_RESULT.name]
    assert isinstance(scored.predictions, pd.DataFrame) and len(scored.predictions) == 40
    labels = [d.proto.label for d in at.get("download_button")]
    assert "Download every prediction (CSV)" in labels
    at.text_input(key=state.SCORE_PATH.name).set_value("lacking.csv")
    next(b for b in at.button if b.label == "Score").click().run()
    no_exception(at)
    assert any(rows.columns[1] in t and "lacks" in t for t in texts(at.error))
    assert any("40 rows scored" in t for t in texts(at.markdown))  # the last result stays


def test_an_id_column_named_after_scoring_heads_the_rows(trained_app, tmp_path, monkeypatch):
    """The id box sits beside the file: typed after the file was scored, it scores the
    same file again with the id (it used to change nothing)."""
    app, runs = trained_app
    monkeypatch.setenv("SATTN_DASH_DATA_ROOT", str(tmp_path))
    rows = load_sample("synthetic_groups").head(20).drop(columns=["churned"])
    rows.insert(0, "customer", [f"c{i}" for i in range(len(rows))])
    rows.to_csv(tmp_path / "new.csv", index=False)
    at = open_page(app, pages.PREDICTIONS, runs["groups"])
    at.text_input(key=state.SCORE_PATH.name).set_value("new.csv")
    next(b for b in at.button if b.label == "Score").click().run()
    assert "customer" not in at.dataframe[-1].value.columns
    at.text_input(key=state.SCORE_KEEP.name).set_value("customer").run()
    no_exception(at)
    assert not at.error, texts(at.error)
    assert list(at.dataframe[-1].value["customer"][:2]) == ["c0", "c1"]
    _, _, scored = at.session_state[state.SCORE_RESULT.name]
    assert list(scored.predictions["customer"][:2]) == ["c0", "c1"]


def test_runs_page_offers_the_run_report(trained_app):
    app, runs = trained_app
    at = open_page(app, pages.RUNS, runs["groups"])
    no_exception(at)
    downloads = {d.proto.label: d for d in at.get("download_button")}
    assert "Run report (HTML)" in downloads
    assert not downloads["Run report (HTML)"].proto.disabled
