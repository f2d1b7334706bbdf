"""Work survives the browser: what a session loads and edits is written to a draft in the
workspace, and a new session (refresh, second tab, link) with ``?work=`` restores it."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from sattn_dash.ui.shared import pages
from tests.app.conftest import APP, TIMEOUT
from tests.app.helpers import by_label, no_exception


def fresh(work_id: str, page: str | None = None) -> AppTest:
    """A new browser session whose address carries ``?work=`` (and opens ``page``)."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["work"] = work_id
    if page is not None:
        at.switch_page(page)
    return at.run()


def test_table_schema_and_architecture_come_back_in_a_new_session(app, workspace):
    at = app.run()
    at.switch_page(pages.DATA).run()
    at.selectbox(key="data.sample_picker").set_value("penguins")
    by_label(at.button, "Load sample").click().run()
    at.text_input(key="data.group_name").set_value("bill")
    at.multiselect(key="data.group_columns").set_value(["bill_length_mm", "bill_depth_mm"])
    by_label(at.button, "Add group").click().run()
    at.switch_page(pages.ARCHITECTURE).run()
    version = at.session_state["arch.spec.version"]
    at.text_input(key=f"arch.spec.v{version}.branch.0.name").set_value("behaviour").run()
    no_exception(at)
    work_id = at.query_params["work"]
    assert (workspace / "drafts" / f"{work_id}.json").is_file()

    again = fresh(work_id, pages.ARCHITECTURE)
    no_exception(again)
    assert again.session_state["data.table"].shape == at.session_state["data.table"].shape
    assert "bill" in again.session_state["data.schema"].groups
    assert again.session_state["arch.spec"].branch_names[0] == "behaviour"
    assert again.query_params["work"] == work_id

    train = fresh(work_id, pages.TRAIN)  # a direct link to Train
    no_exception(train)
    assert any("behaviour" in str(m.value) or "branches" in str(m.value) for m in train.markdown)
    assert train.session_state["data.table"] is not None


def test_an_upload_is_stored_once_by_content(app, workspace, tmp_path):
    csv = b"a,b,y\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n9,1,0\n2,3,1\n"
    at = app.run()
    at.switch_page(pages.DATA).run()
    for _ in range(2):
        at.file_uploader(key="data.uploader").set_value(("small.csv", csv, "text/csv")).run()
        no_exception(at)
    stored = list((workspace / "tables").glob("*/*"))
    assert [p.name for p in stored] == ["small.csv"] and stored[0].read_bytes() == csv
    work_id = at.query_params["work"]
    again = fresh(work_id, pages.DATA)
    assert list(again.session_state["data.table"].columns) == ["a", "b", "y"]


def test_a_link_to_work_that_is_gone_says_so_and_keeps_going(app, workspace):
    at = fresh("nothing-here-1234", pages.DATA)
    no_exception(at)
    assert any("not in this workspace" in str(e.value) for e in at.error)
    assert "data.table" not in at.session_state
