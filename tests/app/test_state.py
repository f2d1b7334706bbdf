"""The session-state keys: one module, unique names, defaults, versioned widget keys."""

from __future__ import annotations

import re
from pathlib import Path

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

    at = AppTest.from_function(script, default_timeout=60).run()
    assert not at.exception
    assert at.text[0].value.split() == [
        "0",
        "True",
        "data.role_editor.v0",
        "data.role_editor.v1",
    ]


def test_each_key_is_written_only_by_the_component_that_owns_it():
    """``state.KEY.set/clear/bump`` (or ``st.session_state[state.KEY.name] = ...``) appears
    only in the module the key names as owner; everyone else calls the owner's function."""
    package = Path(state.__file__).resolve().parents[2]
    owners = {name: key.owner for name, key in vars(state).items() if isinstance(key, state.Key)}
    write = re.compile(
        r"state\.([A-Z_]+)\.(?:set|clear|bump)\(|session_state\[state\.([A-Z_]+)\.name\]\s*="
    )
    # ``for key in (state.A, state.B): key.clear()`` writes each key it names.
    loop = re.compile(r"for key in \(([^)]*)\):\s*\n\s*key\.(?:set|clear|bump)\(")
    strangers = []
    for path in sorted(package.rglob("*.py")):
        if path.name == "state.py":
            continue
        text = path.read_text(encoding="utf-8")
        written = [a or b for a, b in write.findall(text)]
        for names in loop.findall(text):
            written += re.findall(r"state\.([A-Z_]+)", names)
        strangers += [
            f"{path.relative_to(package)} writes {name} (owner: {owners[name]})"
            for name in written
            if name in owners and owners[name] != path.stem
        ]
    assert strangers == []
