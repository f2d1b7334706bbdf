"""Sign-in through AppTest: with ``[auth]`` in the secrets every address shows the
sign-in page until the visitor is signed in; once signed in, each person's Runs page
and Home show their own runs only. (No identity provider runs here: AppTest supplies
the signed-in user as ``st.user``, as the provider's cookie would.)"""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from sattn_dash.training import RunStore, owner
from sattn_dash.ui.shared import pages
from tests.app.conftest import APP, TIMEOUT
from tests.app.helpers import no_exception, texts

AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "a-test-secret-that-is-long-enough",
    "client_id": "sattn-dash",
    "client_secret": "not-a-real-secret",
    "server_metadata_url": "https://id.example.org/.well-known/openid-configuration",
}
ISSUER = "https://id.example.org"


def _finished_run(workspace, user, title):
    store = RunStore(workspace, user=user)
    run_id = store.create(title, targets={"y": "binary"}, model="test")
    store.writer(run_id).status({"state": "finished", "epochs_run": 1})
    owner.release(run_id)
    return run_id


def _app(user: dict | None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": False} if user is None else {"is_logged_in": True, **user}
    return at


def test_without_sign_in_every_address_asks_for_it(workspace):
    _finished_run(workspace, f"{ISSUER}#alice", "alice's run")
    at = _app(None).run()
    no_exception(at)
    assert [t.value for t in at.title] == ["sattn-dash"]
    assert [b.label for b in at.button] == ["Sign in"]
    assert "alice's run" not in " ".join(texts(at.markdown))
    assert not at.dataframe


def test_each_signed_in_user_sees_only_their_runs(workspace):
    alice = _finished_run(workspace, f"{ISSUER}#alice", "alice's run")
    bob = _finished_run(workspace, f"{ISSUER}#bob", "bob's run")
    _finished_run(workspace, None, "from before sign-in")
    for name, run_id in (("alice", alice), ("bob", bob)):
        at = _app({"iss": ISSUER, "sub": name, "email": f"{name}@example.org", "name": name})
        at.run()
        no_exception(at)
        assert any(f"Signed in as **{name}**" in c for c in texts(at.caption))
        at.switch_page(pages.RUNS).run()
        no_exception(at)
        assert list(at.dataframe[0].value["run_id"]) == [run_id]
        # Another user's run id in the address finds nothing.
        other = bob if name == "alice" else alice
        at.query_params["run"] = other
        at.run()
        no_exception(at)
        assert list(at.dataframe[0].value["run_id"]) == [run_id]


def test_sign_in_off_shows_every_run(app, workspace):
    _finished_run(workspace, f"{ISSUER}#alice", "alice's run")
    _finished_run(workspace, None, "anyone's run")
    at = app.run()
    at.switch_page(pages.RUNS).run()
    no_exception(at)
    assert len(at.dataframe[0].value) == 2
    assert not [b for b in at.button if b.label == "Sign out"]
