"""A server-path table larger than this server's memory budget: the Data page says it
streams and profiles a sample, and a run started on the Train page reads every row of
the table in record batches."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sattn_dash.tabular import infer_schema, split_codes
from sattn_dash.training import RunStore
from sattn_dash.ui.shared import pages
from tests.app.helpers import by_label, no_exception, texts
from tests.app.test_one_run_everywhere import _shared_registry

ROWS = 1_200


def test_a_table_over_the_memory_budget_streams_from_data_to_a_finished_run(
    app, workspace, monkeypatch, tmp_path
):
    root = tmp_path / "data"
    (root / "parts").mkdir(parents=True)
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=ROWS), "z": rng.normal(size=ROWS)})
    df["y"] = np.where(df["x"] > 0, "up", "down")
    for i in range(3):
        df.iloc[i * 400 : (i + 1) * 400].to_parquet(root / "parts" / f"{i}.parquet")
    monkeypatch.setenv("SATTN_DASH_DATA_ROOT", str(root))
    monkeypatch.setenv("SATTN_DASH_MEMORY_BUDGET_MB", "0.01")  # 10 kB: this table streams

    at = app
    at.run()
    at.switch_page(pages.DATA).run()
    at.text_input(key="data.path").set_value("parts")
    by_label(at.button, "Read").click().run()
    no_exception(at)
    assert not at.error, texts(at.error)
    assert any("1,200 rows (streamed)" in m for m in texts(at.markdown))
    assert any("Streaming: 1,200 rows × 3 columns" in c for c in texts(at.caption))
    sample = at.session_state["data.table"]
    assert len(sample) == ROWS  # under the sample size: every row, indexed by position
    assert sample.index.tolist() == list(range(ROWS))

    at.session_state["data.schema"] = infer_schema(sample, targets="y")
    at.switch_page(pages.TRAIN).run()
    no_exception(at)
    assert any("Every one of its 1,200 rows" in c for c in texts(at.caption))
    at.number_input(key="train.form.epochs").set_value(3).run()
    at.button(key="train.form.start").click().run()
    no_exception(at)
    assert not at.error, texts(at.error)
    run_id = at.session_state["train.run"]
    status = _shared_registry().get(run_id).wait(300)
    assert status.state == "finished", status

    run = RunStore(workspace).load(run_id)
    codes = split_codes(np.arange(ROWS), 0, 0.2, 0.2)
    assert run.card["streamed"]["table_rows"] == ROWS
    assert run.card["rows"]["test"] == int((codes == 2).sum())
    assert run.metrics["y"]["n"] == int((codes == 2).sum())
    assert run.metrics["y"]["accuracy"] > 0.8
    assert (run.path / "stream.json").is_file()
