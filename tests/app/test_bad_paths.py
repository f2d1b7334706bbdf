"""The Data page's server path: a NUL byte or a pipe (FIFO) is refused with one clear
message, never a raw exception or a page that hangs."""

from __future__ import annotations

import os

from sattn_dash.ui.shared import pages
from tests.app.helpers import by_label, no_exception, open_page, texts


def test_a_nul_byte_or_a_pipe_as_a_server_path_is_refused(app, monkeypatch, tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    os.mkfifo(root / "pipe.csv")
    monkeypatch.setenv("SATTN_DASH_DATA_ROOT", str(root))
    at = open_page(app, pages.DATA)
    for text, message in (("table\0.csv", "NUL character"), ("pipe.csv", "not a regular file")):
        at.text_input(key="data.path").set_value(text)
        by_label(at.button, "Read").click().run()
        no_exception(at)
        assert any(message in e for e in texts(at.error)), texts(at.error)
        assert at.session_state.get("data.table") is None
