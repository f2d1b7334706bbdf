"""The session-state keys: one module, unique names, defaults, versioned widget keys."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from sattn_dash.ui.shared import state


def test_every_key_has_a_unique_name_and_an_owner():
    names = [k.name for k in state.ALL_KEYS]
    assert len(names) == len(set(names))
    assert all(k.owner and k.doc for k in state.ALL_KEYS)
    assert state.TABLE in state.ALL_KEYS and state.CURRENT_RUN in state.ALL_KEYS


def test_defaults_and_versioned_keys_in_a_running_app():
    def script():
        import streamlit as st

        from sattn_dash.ui.shared import state

        first = state.ROLE_EDITOR.versioned()
        state.ROLE_EDITOR.bump()
        st.text(
            f"{state.TABLE_VERSION.get()} {state.TABLE.get() is None} {first} "
            f"{state.ROLE_EDITOR.versioned()}"
        )

    at = AppTest.from_function(script).run()
    assert not at.exception
    assert at.text[0].value.split() == [
        "0",
        "True",
        "data.role_editor.v0",
        "data.role_editor.v1",
    ]
