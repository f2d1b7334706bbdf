"""The pages and the fourteen kinds of damaged files (tests/malformed/damaged.py): the
page that reads the damaged file shows an error naming it and what to do, with no
exception, and the other run (or study) opens as before."""

from __future__ import annotations

import shutil

import pytest

from sattn_dash.search.study import journal_path
from sattn_dash.ui.shared import pages
from tests.app.conftest import APP, TIMEOUT
from tests.app.helpers import no_exception, open_page, texts
from tests.malformed.damaged import DAMAGES, STUDIES, build_workspace


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    return build_workspace(tmp_path_factory.mktemp("pristine"))


PAGES = {"runs": pages.RUNS, "predictions": pages.PREDICTIONS, "importance": pages.IMPORTANCE}


def _errors(at) -> list[str]:
    return texts(at.error) + texts(at.warning)


@pytest.mark.parametrize("damage", DAMAGES, ids=[d.kind for d in DAMAGES])
def test_a_page_names_the_damaged_file_and_the_rest_opens(app, workspace, pristine, damage):
    source, (damaged, healthy), _ = pristine
    shutil.copytree(source, workspace)
    if damage.study:
        from streamlit.testing.v1 import AppTest

        damage.apply(journal_path(STUDIES[0], workspace))
        for name, bad in ((STUDIES[0], not damage.repaired), (STUDIES[1], False)):
            at = AppTest.from_file(APP, default_timeout=TIMEOUT)  # a new tab
            at.query_params["study"] = name
            at.run()
            at.switch_page(pages.SEARCH)
            at.query_params["study"] = name
            at.run()
            no_exception(at)
            named = [e for e in _errors(at) if "journal" in e and "Delete" in e]
            assert bool(named) == bad, _errors(at)
        return
    damage.apply(workspace / "runs" / damaged)
    found = []
    for page in PAGES.values():  # until one reads the damaged file
        at = open_page(app, page, damaged)
        no_exception(at)
        found += [e for e in _errors(at) if damage.file in e and "elete" in e]
        if found:
            break
    assert found, f"no page named {damage.file}"
    at = open_page(app, pages.RUNS, healthy)
    no_exception(at)
    assert not [e for e in texts(at.error) if healthy in e]
