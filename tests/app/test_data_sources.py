"""The Data page with a compressed upload and with a table of 10,000 columns: both load
through the real uploader, and the wide table's profile shows one page of columns."""

from __future__ import annotations

import gzip
import time

import numpy as np
import pandas as pd

from sattn_dash.ui.shared import pages
from tests.app.helpers import by_label, no_exception, open_page, texts


def test_a_gzip_upload_loads_and_says_it_was_unpacked(app):
    df = pd.DataFrame({"rownames": range(1, 61), "x": np.linspace(0, 1, 60)})
    df["y"] = np.where(df["x"] > 0.5, "yes", "no")
    data = gzip.compress(df.to_csv(index=False).encode())
    at = open_page(app, pages.DATA)
    at.file_uploader[0].set_value(("table.csv.gz", data, "application/gzip")).run()
    no_exception(at)
    assert not at.error, texts(at.error)
    assert at.session_state["data.table"].shape == (60, 3)
    assert "Unpacked from gzip." in texts(at.caption)
    schema = at.session_state["data.schema"]
    assert schema.column("rownames").role.value == "identifier"
    assert "1 to 60" in schema.column("rownames").reason


def test_ten_thousand_columns_load_with_a_paged_preview(app):
    rng = np.random.default_rng(0)
    wide = pd.DataFrame(rng.normal(size=(30, 10_000)).round(2)).add_prefix("f")
    wide["y"] = np.arange(30) % 2
    at = open_page(app, pages.DATA)
    started = time.perf_counter()
    at.file_uploader[0].set_value(("wide.csv", wide.to_csv(index=False).encode(), "text/csv"))
    at.run()
    seconds = time.perf_counter() - started
    no_exception(at)
    assert not at.error, texts(at.error)
    assert at.session_state["data.table"].shape == (30, 10_001)
    assert any("columns 1 to 50 of 10,001" in c for c in texts(at.caption))
    started = time.perf_counter()
    by_label(at.number_input, "Columns, page of 50 (1 to 201)").set_value(201).run()
    rerun = time.perf_counter() - started
    no_exception(at)
    assert any("columns 10,001 to 10,001 of 10,001" in c for c in texts(at.caption))
    print(f"10,000 columns: upload + Data page {seconds:.1f} s, a rerun {rerun:.1f} s")


def test_the_server_path_box_is_off_without_a_data_root(app, monkeypatch):
    monkeypatch.delenv("SATTN_DASH_DATA_ROOT", raising=False)
    at = open_page(app, pages.DATA)
    no_exception(at)
    assert any("Off on this server" in c and "SATTN_DASH_DATA_ROOT" in c for c in texts(at.caption))
    assert not [t for t in at.text_input if t.label == "Path inside the data folder"]


def test_a_folder_below_the_data_root_is_read_and_a_path_outside_is_refused(
    app, monkeypatch, tmp_path
):
    root = tmp_path / "data"
    (root / "parts").mkdir(parents=True)
    for i in range(3):
        x = np.arange(i * 20, (i + 1) * 20) / 60
        pd.DataFrame({"x": x, "y": np.where(x > 0.5, "a", "b")}).to_parquet(
            root / "parts" / f"{i}.parquet"
        )
    (tmp_path / "secret.csv").write_text("x,y\n1,2\n")
    monkeypatch.setenv("SATTN_DASH_DATA_ROOT", str(root))
    at = open_page(app, pages.DATA)
    at.text_input(key="data.path").set_value("../secret.csv")
    by_label(at.button, "Read").click().run()
    no_exception(at)
    assert any("outside the data folder" in e for e in texts(at.error))
    assert at.session_state.get("data.table") is None

    at.text_input(key="data.path").set_value("parts")
    by_label(at.button, "Read").click().run()
    no_exception(at)
    assert not at.error, texts(at.error)
    assert at.session_state["data.table"].shape == (60, 2)
    assert any("Read 3 files as one table" in c for c in texts(at.caption))
