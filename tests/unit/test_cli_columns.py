"""``show RUN --json`` and its text: which columns matter (permutation beside
attribution, their agreement) and, for the default TabM model, its members said as what
they are; a tiny run trained through the CLI."""

import json

from sattn_dash.cli import main


def test_show_says_which_columns_matter_and_what_the_members_are(capsys, tmp_path, training_csv):
    ws = tmp_path / "ws"
    args = ("--data", training_csv, "--target", "label", "--preset", "tabm", "--epochs", 2)
    assert main([str(a) for a in ("train", *args, "--workspace", ws, "--json")]) == 0
    run_id = json.loads(capsys.readouterr().out)["run_id"]

    assert main(["show", run_id, "--workspace", str(ws), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    records = shown["column_importance"]
    assert {r["column"] for r in records} == {"x0", "x1", "x2", "x3", "colour", "amount"}
    for record in records:
        assert record["permutation_std"] >= 0 and record["attribution"] >= 0
        assert record["permutation_rank"] >= 1 and record["attribution_rank"] >= 1
    assert shown["column_agreement"] is None or -1 <= shown["column_agreement"] <= 1
    summary = shown["members"]["summary"]
    assert [s["members"] for s in summary] == [8]
    assert len(shown["members"]["scores"]) == 8
    assert "column_importance" not in shown["analysis"]  # one place in the JSON

    assert main(["show", run_id, "--workspace", str(ws)]) == 0
    text = capsys.readouterr().out
    assert "columns that matter for label" in text
    assert "column agreement:" in text
    assert "members: The 8 modules are the members of one BatchEnsemble" in text
