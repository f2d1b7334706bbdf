"""Work survives the browser, in a real one: upload, change a column's role in the schema
grid, pick a target, rename a branch; then reload, open the link in a second tab, and
follow a direct link to Train: the table, the role, the target and the branch are there.

The schema grid is a ``st.data_editor`` (a canvas): the role is edited the way a user
does, by double-clicking its cell, typing the role and pressing Enter; what the grid
shows is read back from the accessible cells it keeps beside the canvas.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from playwright.sync_api import expect

from tests.e2e.server import wait_for_app
from tests.e2e.test_browser import goto, pick_targets, sidebar_to, upload

pytestmark = pytest.mark.e2e

HEADER_PX = ROW_PX = 35  # Streamlit's data grid: header and row heights


@pytest.fixture
def churn_csv(tmp_path):
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"x1": rng.normal(size=300), "x2": rng.normal(size=300)})
    frame["noise"] = rng.normal(size=300)
    frame["city"] = rng.choice(["north", "south", "east"], size=300)
    frame["y"] = np.where(frame["x1"] + frame["x2"] > 0, "yes", "no")
    path = tmp_path / "churn.csv"
    frame.to_csv(path, index=False)
    return path


def schema_grid(page):
    grid = page.get_by_test_id("stDataFrame").filter(
        has=page.get_by_test_id("glide-cell-1-0").filter(has_text="numeric")
    )
    grid.first.wait_for()
    return grid.first


def role_of(page, row: int) -> str:
    return schema_grid(page).get_by_test_id(f"glide-cell-1-{row}").inner_text()


def set_role(page, row: int, role: str) -> None:
    """Double-click the Role cell of ``row``, type the role into the editor that opens
    and pick it from the list. Typing before the editor has the focus loses keys (and
    Enter then picks whatever option the rest of them match), so wait for it first."""
    box = schema_grid(page).bounding_box()
    page.mouse.dblclick(box["x"] + 100, box["y"] + HEADER_PX + ROW_PX * row + ROW_PX / 2)
    editor = page.locator("#portal").get_by_role("combobox")
    expect(editor).to_be_focused()
    editor.press_sequentially(role)
    page.locator("#portal").get_by_role("option", name=role, exact=True).click()
    wait_for_app(page)
    expect(schema_grid(page).get_by_test_id(f"glide-cell-2-{row}")).to_contain_text(
        "set by you", timeout=30_000
    )


def rename_first_branch(page, name: str) -> None:
    field = page.get_by_label("Branch name", exact=True).first
    field.fill(name)
    field.press("Enter")
    wait_for_app(page)


def assert_work_is_back(page) -> None:
    page.get_by_text("churn.csv").first.wait_for()
    assert role_of(page, 3) == "excluded"  # city, the fourth column
    targets = page.get_by_test_id("stMultiSelect").filter(has_text="Target column(s)")
    chosen = targets.get_by_test_id("stMultiSelectTagsContainer").inner_text()
    assert "y" in chosen.split(), chosen


def test_upload_edits_survive_reload_second_tab_and_a_link(page, app_server, artifacts, churn_csv):
    goto(page, app_server, "data")
    upload(page, churn_csv)
    page.get_by_text("What to predict").wait_for()
    pick_targets(page, "y")
    set_role(page, 3, "excluded")
    assert role_of(page, 3) == "excluded"
    work = re.search(r"work=([\w-]+)", page.url).group(1)

    sidebar_to(page, "Architecture")
    rename_first_branch(page, "renamed_branch")
    page.get_by_test_id("stGraphVizChart").wait_for()
    assert f"work={work}" in page.url
    page.screenshot(path=artifacts / "10-work-before-reload.png", full_page=True)
    expect(page.get_by_label("Branch name", exact=True).first).to_have_value(
        "renamed_branch", timeout=60_000
    )

    page.reload()
    wait_for_app(page)
    expect(page.get_by_label("Branch name", exact=True).first).to_have_value(
        "renamed_branch", timeout=60_000
    )
    sidebar_to(page, "Data")
    assert_work_is_back(page)
    page.screenshot(path=artifacts / "10-work-after-reload.png", full_page=True)

    other = page.context.new_page()
    other.goto(f"{app_server}/data?work={work}")
    wait_for_app(other)
    assert_work_is_back(other)
    other.close()

    linked = page.context.new_page()
    linked.goto(f"{app_server}/train?work={work}")
    wait_for_app(linked)
    model = linked.get_by_test_id("stMarkdown").filter(has_text="Model:")
    model.first.wait_for()
    assert "targets: y" in model.first.inner_text()
    linked.get_by_role("button", name=re.compile("Start training")).first.wait_for()
    linked.screenshot(path=artifacts / "11-work-direct-link-train.png", full_page=True)
    linked.close()
