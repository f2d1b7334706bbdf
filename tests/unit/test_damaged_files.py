"""Fourteen kinds of damaged files (tests/malformed/damaged.py): whatever reads one says
which file it is and what to do, in the CLI (`runs`, `show`, `search`) and on the pages
(AppTest), and every other run and study keeps working."""

from __future__ import annotations

import json
import shutil

import pytest

from sattn_dash.cli import main
from sattn_dash.search.study import journal_path
from tests.malformed.damaged import DAMAGES, STUDIES, build_workspace


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    return build_workspace(tmp_path_factory.mktemp("pristine"))


@pytest.fixture
def damaged_workspace(pristine, tmp_path, request):
    source, ids, data = pristine
    workspace = tmp_path / "ws"
    shutil.copytree(source, workspace)
    damage = request.param
    damage.apply(
        journal_path(STUDIES[0], workspace) if damage.study else workspace / "runs" / ids[0]
    )
    return workspace, ids, data, damage


def _cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _named(damage, text: str) -> bool:
    return damage.file in text and ("Delete" in text or "delete" in text)


@pytest.mark.parametrize("damaged_workspace", DAMAGES, ids=[d.kind for d in DAMAGES], indirect=True)
def test_the_cli_names_the_damaged_file_and_the_rest_works(damaged_workspace, capsys):
    workspace, (damaged, healthy), data, damage = damaged_workspace
    ws = ["--workspace", workspace]
    code, out, err = _cli(capsys, "runs", *ws, "--json")
    assert code == 0 and "Traceback" not in err
    listed = {r["run_id"] for r in json.loads(out)["runs"]}
    assert healthy in listed
    if damaged not in listed:  # skipped, once, naming the file
        (line,) = [x for x in err.splitlines() if damaged in x]
        assert damage.file in line and "delete" in line
    code, out, err = _cli(capsys, "show", healthy, *ws, "--no-analysis", "--json")
    assert code == 0, err

    if damage.study:
        study = STUDIES[0]
        args = ["search", "--data", data, "--target", "label", "--study", study, "--trials", "1"]
        code, out, err = _cli(capsys, *args, *ws, "--json")
        assert "Traceback" not in err
        if damage.repaired:
            assert code == 0, err
        else:
            assert code == 2 and _named(damage, err), err
        code, out, err = _cli(capsys, *args[:-4], "--study", STUDIES[1], "--trials", "1", *ws)
        assert code == 0, err
        return
    argv = ["show", damaged, *ws] + (["--no-analysis"] if damage.reader == "show" else [])
    code, out, err = _cli(capsys, *argv)
    assert "Traceback" not in err and "internal error" not in err, err
    if damage.reader == "pages":  # no command reads it
        assert code == 0, err
        return
    assert code == 2, err
    (line,) = [x for x in err.splitlines() if x.startswith("error:")]
    assert _named(damage, line), line
