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
