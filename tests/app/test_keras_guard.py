"""Streamlit clears the Keras session after every script run; the dashboard must not let
it, because runs train in a thread of the same server process and a followed run then
trained about 9x slower (sattn_dash/ui/shared/keras_guard.py).

Both halves are checked with the real script runner (AppTest runs Streamlit's own
``ScriptRunner``): a bare script clears the session, the dashboard's does not.
"""

from __future__ import annotations

import keras
import pytest
from streamlit.runtime.scriptrunner import script_runner
from streamlit.testing.v1 import AppTest

from tests.app.conftest import APP


@pytest.fixture
def clear_session_calls(monkeypatch) -> list[int]:
    """Counts calls of keras.backend.clear_session (which still runs) and restores
    Streamlit's own clean-up afterwards."""
    calls: list[int] = []
    original = keras.backend.clear_session

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(keras.backend, "clear_session", counted)
    monkeypatch.setattr(
        script_runner, "_clean_problem_modules", script_runner._clean_problem_modules
    )
    return calls


def bare_script() -> None:
    import streamlit as st

    st.title("bare")


def test_streamlit_still_clears_keras_after_a_bare_script(clear_session_calls):
    from sattn_dash.ui.shared import keras_guard

    script_runner._clean_problem_modules = keras_guard._STREAMLIT_CLEAN_UP
    AppTest.from_function(bare_script, default_timeout=60).run()  # 3 s is short on a busy box
    assert clear_session_calls, "Streamlit no longer clears Keras: keras_guard may go"


def test_the_dashboard_leaves_keras_alone_between_runs(workspace, clear_session_calls):
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    at.run()  # a second run: the clean-up of the first has happened by now
    assert not clear_session_calls
