"""With sign-in, a study and its trial runs belong to the user who started it, as runs
do: its owner sees and opens them; anyone else's `?study=` finds nothing, their Stop
does nothing, and they cannot take the study over by its name."""

from __future__ import annotations

import json
import socket

from sattn_dash.cli import main
from sattn_dash.files import write_json
from sattn_dash.search import background
from sattn_dash.search.study import USER_ENV, load_study, open_storage
from sattn_dash.training import RunStore
from sattn_dash.ui.shared import pages
from tests.app.helpers import no_exception, texts
from tests.app.test_sign_in import ISSUER, _app
from tests.unit.conftest import make_training_table
from tests.unit.test_search import TINY, _space_file

ALICE, BOB = f"{ISSUER}#alice", f"{ISSUER}#bob"


def _search(capsys, workspace, data, space, trials):
    args = ["search", "--data", str(data), "--target", "label", "--space", str(space)]
    args += ["--study", "alices", "--trials", str(trials), "--workspace", str(workspace)]
    code = main([*args, "--json"])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else {}), err


def test_a_study_and_its_runs_are_their_starters(workspace, tmp_path, capsys, monkeypatch):
    data = tmp_path / "table.csv"
    make_training_table(160).to_csv(data, index=False)
    space = _space_file(tmp_path, TINY)
    monkeypatch.setenv(USER_ENV, ALICE)  # as the page starts it for alice
    code, out, err = _search(capsys, workspace, data, space, 1)
    assert code == 0, err
    run_id = out["best"]["run_id"]
    _, settings = load_study("alices", open_storage("alices", None, workspace))
    assert settings.user == ALICE
    assert [r.run_id for r in RunStore(workspace, user=ALICE).list()] == [run_id]
    assert RunStore(workspace, user=BOB).list() == []

    monkeypatch.setenv(USER_ENV, BOB)  # bob cannot take it over by its name
    code, out, err = _search(capsys, workspace, data, space, 2)
    assert code == 2 and "started by someone else" in out["error"]

    # The launch record the page writes (its process has ended).
    out_file = tmp_path / "alices.out.json"
    out_file.write_text(json.dumps({"study": "alices"}))
    record = {"study": "alices", "host": socket.gethostname(), "pid": 2**22 + 7}  # gone
    record |= {"pid_start": None, "started_at": 0, "trials": 1, "workers": 1}
    record |= {"storage": None, "storage_shown": "embedded journal", "user": ALICE}
    record |= {"out": str(out_file), "log": str(tmp_path / "alices.log")}
    write_json(workspace / "studies" / "alices.launch.json", record)
    assert background.list_studies(workspace, ALICE) == ["alices"]
    assert background.list_studies(workspace, BOB) == []
    assert not background.stop("alices", workspace, BOB)

    for name, sees in (("alice", True), ("bob", False)):
        at = _app({"iss": ISSUER, "sub": name, "email": f"{name}@example.org", "name": name})
        at.query_params["study"] = "alices"
        at.run()
        at.switch_page(pages.SEARCH)
        at.query_params["study"] = "alices"
        at.run()
        no_exception(at)
        shown = " ".join(texts(at.markdown) + texts(at.caption) + texts(at.error))
        tables = " ".join(str(df.value.to_dict()) for df in at.dataframe)
        assert (run_id in tables or run_id in shown) == sees, (name, shown)
        assert ("alices" in [o for s in at.selectbox for o in s.options]) == sees
