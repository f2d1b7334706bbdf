"""The shared run report (``analysis.share``) opened in Chromium from a file: every chart
renders, the console stays clean, and no request leaves the file."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def report_file(tmp_path_factory, two_target_run):
    """A report of a two-target run (classes and a number) trained for two epochs."""
    from sattn_dash.analysis.reports.share import write_report

    return write_report(two_target_run, tmp_path_factory.mktemp("out") / "run.html")


def test_the_report_renders_every_chart_offline(browser, report_file):
    text = report_file.read_text(encoding="utf-8")
    for heading in (
        "The data in brief",
        "Architecture",
        "Training curves",
        "Which branches matter",
        "Which columns matter",
        "How far to trust the predictions",
        "parameters",
    ):
        assert heading in text, heading
    assert "kind loss" in text  # the curves name the heads as the Train page does
    context = browser.new_context(viewport={"width": 1300, "height": 1600})
    page = context.new_page()
    outside, errors = [], []

    def route(request_route):
        url = request_route.request.url
        if url.startswith("file://"):
            request_route.continue_()
        else:
            outside.append(url)
            request_route.abort()

    page.route("**/*", route)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(report_file.as_uri())
        charts = page.locator("div.chart")
        count = charts.count()
        assert count >= 6  # curves, leaderboards, methods, columns, calibration
        page.wait_for_function(
            "n => document.querySelectorAll('div.chart svg.marks').length === n",
            arg=count,
            timeout=60_000,
        )
        for i in range(count):
            marks = charts.nth(i).locator(
                "svg.marks g.mark-rect, svg.marks g.mark-line, "
                "svg.marks g.mark-symbol, svg.marks g.mark-rule"
            )
            assert marks.count() > 0, f"chart {i} drew no marks"
    finally:
        context.close()
    assert not outside, outside
    assert not errors, errors
