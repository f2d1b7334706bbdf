"""Optional sign-in with ``st.login`` (OpenID Connect), set up in ``.streamlit/secrets.toml``.

Without an ``[auth]`` section the dashboard is open to whoever reaches it, as on a
laptop. With one, every address shows a sign-in page until the visitor signs in, and
each person then sees only the runs they started (``training.users``; the store and the
training queue of ``ui.shared.sessions`` are opened for ``user()``). docs/ARCHITECTURE.md,
"Sharing a server", shows the secrets to write.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from sattn_dash.training.users import user_key
from sattn_dash.ui.shared import state


def _section() -> dict[str, Any]:
    try:
        section = st.secrets.get("auth")
    except FileNotFoundError:  # no secrets.toml at all
        return {}
    return dict(section) if section else {}


def configured() -> bool:
    """Whether secrets.toml turns sign-in on."""
    return bool(_section())


def providers() -> list[str | None]:
    """The providers to offer: named ``[auth.<name>]`` sections, or None for a single
    provider written straight into ``[auth]``."""
    section = _section()
    named = [name for name, value in section.items() if isinstance(value, dict)]
    return named or [None]


def user() -> str | None:
    """Whose runs this browser session sees: the signed-in user's stable key, or None
    when sign-in is off (everyone sees every run)."""
    if not configured() or not st.user.is_logged_in:
        return None
    return user_key(st.user.to_dict())


def signed_in() -> bool:
    """True when the pages may be shown: sign-in is off, or this visitor has signed in."""
    return not configured() or (bool(st.user.is_logged_in) and user() is not None)


def render_sign_in() -> None:
    """The one page a visitor sees before signing in."""
    st.title("sattn-dash")
    st.markdown(
        "This server asks you to sign in. Your runs are kept under your account and "
        "only you see them."
    )
    from streamlit.auth_util import is_authlib_installed

    if not is_authlib_installed():
        st.error(
            "Sign-in is set up in secrets.toml, but the Authlib package is missing: "
            "install the pinned requirements (`pip install -r requirements.txt`).",
            icon=":material/error:",
        )
        return
    if st.user.is_logged_in and user() is None:
        st.error(
            "Your identity provider sent no subject or e-mail to know you by; ask the "
            "server's administrator to request the `openid` and `email` scopes.",
            icon=":material/error:",
        )
    for provider in providers():
        st.button(
            f"Sign in with {provider}" if provider else "Sign in",
            on_click=st.login,
            args=(provider,) if provider else (),
            type="primary",
            icon=":material/login:",
            key=f"{state.SIGN_IN.name}.{provider or 'default'}",
        )


def render_account() -> None:
    """Who is signed in, and a way out (sidebar; nothing when sign-in is off)."""
    if not configured() or not st.user.is_logged_in:
        return
    with st.sidebar:
        name = st.user.get("name") or st.user.get("email") or "you"
        st.caption(f"Signed in as **{name}**")
        st.button("Sign out", on_click=st.logout, icon=":material/logout:", key=state.SIGN_OUT.name)
