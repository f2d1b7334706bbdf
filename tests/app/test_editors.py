"""The schema and architecture editors: the pure edit logic, and the widgets AppTest can
drive (AppTest cannot type into a data editor, so its edit record is applied by the
same pure functions the callbacks use)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from sattn_dash.modeling import spec_edits
from sattn_dash.modeling.spec import BlockSpec
from sattn_dash.ui.shared import pages
from sattn_dash.ui.shared.editor_state import apply_editor_changes, role_edits
from tests.app.helpers import by_label, no_exception, open_page, texts


def test_editor_changes_apply_in_streamlit_order():
    frame = pd.DataFrame({"kind": ["dense", "dropout", "dense"], "units": [8, None, 4]})
    changes = {
        "edited_rows": {"0": {"units": 16}},
        "deleted_rows": [1],
        "added_rows": [{"kind": "layernorm"}],
    }
    out = apply_editor_changes(frame, changes)
    assert out["kind"].tolist() == ["dense", "dense", "layernorm"]
    assert out["units"].tolist()[:2] == [16, 4]


def test_role_edits_name_the_columns():
    frame = pd.DataFrame({"name": ["a", "b"], "role": ["numeric", "categorical"]})
    assert role_edits(frame, {"edited_rows": {"1": {"role": "excluded"}, "0": {"flags": "x"}}}) == [
        ("b", "excluded")
    ]


def test_blocks_round_trip_and_new_kinds_get_starter_values():
    blocks = (BlockSpec("dense", units=8, activation="relu"), BlockSpec("dropout", rate=0.3))
    frame = spec_edits.blocks_frame(blocks)
    assert spec_edits.blocks_from_frame(frame) == blocks
    frame.loc[1, "kind"] = "residual"  # a kind that needs units: filled in, rate dropped
    changed = spec_edits.blocks_from_frame(frame)
    assert changed[1].kind == "residual" and changed[1].units == 32 and changed[1].rate is None
    changed[1].validate("b")


def test_the_start_linear_checkbox_of_an_embedding_round_trips():
    blocks = (BlockSpec("piecewise_linear", units=4, start_linear=True),)
    frame = spec_edits.blocks_frame(blocks)
    assert frame["start_linear"].tolist() == [True]
    assert spec_edits.blocks_from_frame(frame) == blocks
    frame.loc[0, "start_linear"] = False
    assert spec_edits.blocks_from_frame(frame)[0].start_linear is False
    frame.loc[0, "kind"] = "dense"  # a kind without the field drops it
    assert spec_edits.blocks_from_frame(frame)[0].start_linear is None


def architecture_page(app):
    """The Architecture page with the synthetic sample (its four groups named)."""
    at = open_page(app, pages.DATA)
    at.selectbox(key="data.sample_picker").set_value("synthetic_groups")
    by_label(at.button, "Load sample").click().run()
    at.switch_page(pages.ARCHITECTURE).run()
    no_exception(at)
    return at


@pytest.fixture
def arch(app):
    """The Architecture page started from one plain branch per group (per_group)."""
    at = architecture_page(app)
    at.radio(key="arch.preset_picker").set_value("per_group").run()
    no_exception(at)
    return at


def spec(at):
    return at.session_state["arch.spec"]


def widget_key(at, name: str) -> str:
    version = at.session_state.get("arch.spec.version", 0)
    return f"arch.spec.v{version}.{name}"


def test_the_default_preset_has_a_branch_per_named_group_and_one_over_all_columns(app):
    at = architecture_page(app)
    assert spec(at).preset == "column_groups"
    assert spec(at).branch_names == ["usage", "billing", "profile", "device", "all_columns"]
    dot = at.get("graphviz_chart")[0].proto.spec
    assert all(f"branch {b}" in dot for b in spec(at).branch_names)


def test_a_preset_picked_replaces_the_default(arch):
    assert spec(arch).preset == "per_group"
    assert spec(arch).branch_names == ["usage", "billing", "profile", "device"]


def test_add_move_and_remove_branches(arch):
    arch.button(key=widget_key(arch, "branch.add")).click().run()
    no_exception(arch)
    assert spec(arch).branch_names[-1] == "branch_5"
    arch.button(key=widget_key(arch, "branch.4.up")).click().run()
    assert spec(arch).branch_names == ["usage", "billing", "profile", "branch_5", "device"]
    arch.button(key=widget_key(arch, "branch.0.remove")).click().run()
    assert spec(arch).branch_names == ["billing", "profile", "branch_5", "device"]
    assert "branch_5" in arch.get("graphviz_chart")[0].proto.spec


def test_rename_and_reroute_a_branch(arch):
    arch.text_input(key=widget_key(arch, "branch.0.name")).set_value("behaviour").run()
    assert spec(arch).branch_names[0] == "behaviour"
    arch.multiselect(key=widget_key(arch, "branch.0.inputs")).set_value(["usage", "age"]).run()
    no_exception(arch)
    assert spec(arch).branches[0].inputs == ("usage", "age")


def test_a_refused_edit_keeps_the_spec_and_says_why(arch):
    before = spec(arch)
    arch.text_input(key=widget_key(arch, "branch.0.name")).set_value("2 bad name").run()
    no_exception(arch)
    assert spec(arch) == before
    assert any("branches[0].name" in e for e in texts(arch.error))


def test_combiner_switch_to_routing_with_top_k(arch):
    arch.selectbox(key=widget_key(arch, "combiner.kind")).set_value("sparse_dense").run()
    no_exception(arch)
    assert spec(arch).combiner.kind == "sparse_dense"
    arch.number_input(key=widget_key(arch, "combiner.top_k")).set_value(3).run()
    assert spec(arch).combiner.top_k == 3
    assert "top-3" in arch.get("graphviz_chart")[0].proto.spec


def test_temperature_and_head_settings(arch):
    arch.slider(key=widget_key(arch, "combiner.temperature")).set_value(0.25).run()
    assert spec(arch).combiner.temperature == pytest.approx(0.25)
    arch.slider(key=widget_key(arch, "combiner.branch_dropout")).set_value(0.3).run()
    assert spec(arch).combiner.branch_dropout == pytest.approx(0.3)
    arch.slider(key=widget_key(arch, "combiner.all_columns_dropout")).set_value(0.4).run()
    assert spec(arch).combiner.all_columns_dropout == pytest.approx(0.4)
    arch.number_input(key=widget_key(arch, "combiner.all_columns_price")).set_value(0.05).run()
    assert spec(arch).combiner.all_columns_price == pytest.approx(0.05)
    arch.text_input(key=widget_key(arch, "head.0.hidden_units")).set_value("16 8").run()
    assert spec(arch).heads[0].hidden_units == (16, 8)


def test_spec_json_round_trip_and_a_bad_file(arch):
    downloads = {d.label: d for d in arch.get("download_button")}
    assert "Spec (JSON)" in downloads and "Training script (.py)" in downloads
    edited = json.loads(spec(arch).to_json())
    edited["name"] = "uploaded spec"
    arch.file_uploader(key="arch.spec_uploader").set_value(
        ("spec.json", json.dumps(edited).encode(), "application/json")
    ).run()
    no_exception(arch)
    assert spec(arch).name == "uploaded spec"
    arch.file_uploader(key="arch.spec_uploader").set_value(
        ("broken.json", b"{not json", "application/json")
    ).run()
    no_exception(arch)
    assert spec(arch).name == "uploaded spec"
    assert any("broken.json" in e and "not valid JSON" in e for e in texts(arch.error))


def test_parameter_counts_are_shown(arch):
    counts = arch.dataframe[-1].value
    assert counts.iloc[-1]["part"] == "total"
    assert counts.iloc[-1]["parameters"] == counts.iloc[:-1]["parameters"].sum()


@pytest.fixture
def data_page(app):
    at = open_page(app, pages.DATA)
    at.selectbox(key="data.sample_picker").set_value("penguins")
    by_label(at.button, "Load sample").click().run()
    no_exception(at)
    return at


def test_several_targets_and_a_task_override(data_page):
    at = data_page
    by_label(at.multiselect, "Target column(s) to predict").set_value(["species", "year"]).run()
    no_exception(at)
    schema = at.session_state["data.schema"]
    assert schema.target_names == ["species", "year"]
    assert schema.task("year") == "multiclass"  # three whole-number years read as classes
    by_label(at.selectbox, "Task for **year**").set_value("regression").run()
    no_exception(at)
    assert at.session_state["data.schema"].task("year") == "regression"
    # A task the values cannot have is refused, with the reason, and nothing changes.
    by_label(at.selectbox, "Task for **species**").set_value("binary").run()
    no_exception(at)
    assert at.session_state["data.schema"].task("species") == "multiclass"
    assert at.error


def test_column_groups_are_added_and_removed(data_page):
    at = data_page
    at.text_input(key="data.group_name").set_value("bill")
    at.multiselect(key="data.group_columns").set_value(["bill_length_mm", "bill_depth_mm"])
    by_label(at.button, "Add group").click().run()
    no_exception(at)
    assert at.session_state["data.schema"].groups == {"bill": ("bill_length_mm", "bill_depth_mm")}
    at.button(key="data.group_name.remove.bill").click().run()
    assert at.session_state["data.schema"].groups == {}


def test_profile_charts_and_downloads(data_page):
    from tests.app.helpers import chart_data, chart_titled

    at = data_page
    missing = chart_data(chart_titled(at, "Missing values per column"))
    assert missing.set_index("column").loc["sex", "missing"] > 0
    balance = chart_data(chart_titled(at, "Target balance"))
    assert balance["count"].sum() == len(at.session_state["data.table"])
    assert chart_titled(at, "Distribution of island")
    assert any(d.label == "Schema as CSV" for d in at.get("download_button"))


def test_a_data_change_that_breaks_the_spec_rebuilds_it_and_says_so(arch):
    at = arch
    assert "usage" in spec(at).branch_names
    at.switch_page(pages.DATA).run()
    at.button(key="data.group_name.remove.usage").click().run()
    no_exception(at)
    at.switch_page(pages.ARCHITECTURE).run()
    no_exception(at)
    rebuilt = spec(at)
    assert rebuilt.preset == "per_group"
    assert "usage" not in rebuilt.branch_names
    assert {"minutes_per_day", "support_calls", "plan"} <= set(rebuilt.branch_names)
    assert any("no longer fits the data" in e for e in texts(at.error))


def test_weight_decay_is_shown_whole(arch):
    """A small weight decay reads as itself (not 0.00000), short, in a column wide enough
    not to cut it (issue 25: "Weight decay 0.000...")."""
    key = widget_key(arch, "weight_decay")
    arch.number_input(key=key).set_value(2e-6).run()
    no_exception(arch)
    assert spec(arch).weight_decay == pytest.approx(2e-6)
    widget = arch.number_input(key=widget_key(arch, "weight_decay"))
    shown = widget.proto.format % widget.value
    assert float(shown) == pytest.approx(2e-6, rel=0.01) and len(shown) <= 8
    holding = [c.weight for c in arch.columns if any(n.key == widget.key for n in c.number_input)]
    assert len(holding) == 2 and min(holding) >= 0.5  # half the editor, not a quarter
