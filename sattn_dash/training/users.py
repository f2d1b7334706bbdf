"""Whose run is it, when the dashboard has sign-in (``st.login``) turned on.

A run records the user who started it (``run.json``'s ``user``). A store or registry
opened for a user shows that user's runs only, and answers "no such run" for anyone
else's, so a run id copied from another person's address reveals nothing. Opened for
no user (sign-in off, or the CLI on the server) it shows every run.

This is process ownership's counterpart: ``training.owner`` says which *process* is
training a run; this module says which *person* may see it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def user_key(claims: Mapping[str, Any]) -> str | None:
    """The stable name of a signed-in user from their identity token's claims: issuer and
    subject (unique and permanent per provider, unlike an e-mail address), else the
    e-mail; None when the claims identify nobody."""
    issuer, subject = claims.get("iss"), claims.get("sub")
    if issuer and subject:
        return f"{issuer}#{subject}"
    email = claims.get("email")
    return str(email) if email else None


def can_see(run_user: str | None, user: str | None) -> bool:
    """Without a user (sign-in off) every run is visible; with one, only its own runs."""
    return user is None or run_user == user
