"""What a second browser journey on unseen tables found (issue 25), page by page: the
run a user last trained or picked is the one every page opens, the Start button knows
this tab's own run after a reload, and the words and charts a user met."""

from __future__ import annotations

from sattn_dash.ui.shared import pages
from tests.app.helpers import no_exception, open_page

PICKER = "analysis.run_picker"


# --- 2. the run last trained or picked is the one every page opens -----------------------


def test_the_run_followed_on_train_after_a_pick_is_the_one_the_analysis_pages_open(
    trained_app,
):
    """Pick run A on Module importance, then train run B (the Train page follows it in
    ``?run=``): the sidebar's links (which drop ``?run=``) must open B, not A."""
    at, runs = trained_app
    picked, trained = runs["groups"], runs["tokens"]
    at = open_page(at, pages.IMPORTANCE)
    at.selectbox(key=PICKER).set_value(picked).run()
    no_exception(at)
    assert at.selectbox(key=PICKER).value == picked

    at.switch_page(pages.TRAIN)
    at.query_params.clear()
    at.query_params["run"] = trained  # what Start writes, and what a refresh keeps
    at.run()
    no_exception(at)

    for page in (pages.ATTENTION, pages.PREDICTIONS, pages.IMPORTANCE):
        at.switch_page(page)
        at.query_params.clear()
        at.run()
        no_exception(at)
        assert at.selectbox(key=PICKER).value == trained, page

    # And a pick after that wins again.
    at.selectbox(key=PICKER).set_value(picked).run()
    at.switch_page(pages.ATTENTION)
    at.query_params.clear()
    at.run()
    assert at.selectbox(key=PICKER).value == picked


# --- 5. after a reload mid-training, this tab's own run is not "another user's" -----------


def test_after_a_reload_mid_training_start_does_not_blame_another_tab(app, workspace):
    from streamlit.testing.v1 import AppTest

    from tests.app.conftest import APP, TIMEOUT
    from tests.app.helpers import by_label

    app.run()
    by_label(app.button, "Try it now: sample data + one branch per column group").click().run()
    no_exception(app)
    app.number_input(key="train.form.epochs").set_value(10_000).run()
    app.button(key="train.form.start").click().run()
    no_exception(app)
    run_id = app.query_params["run"]
    address = {k: app.query_params[k] for k in ("run", "work")}
    from sattn_dash.ui.shared import sessions

    registry = sessions._registry(str(workspace.resolve()))
    try:
        assert registry.get(run_id) is not None and not registry.get(run_id).done
        # A reload: a new session with the same address, nothing in session state.
        again = AppTest.from_file(APP, default_timeout=TIMEOUT)
        again.run()
        again.switch_page(pages.TRAIN)
        for key, value in address.items():
            again.query_params[key] = value
        again.run()
        no_exception(again)
        label = again.button(key="train.form.start").label
        assert not label.startswith("Queue"), label
        assert label == "Start another run"
    finally:
        registry.stop(run_id)
        registry.get(run_id).wait(120)
