"""The base layer: atomic writes (``sattn_dash.files``) and the workspace layout
(``sattn_dash.workspace``), on real files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sattn_dash import workspace
from sattn_dash.files import read_json, remove_dir, write_dir, write_json, write_stream


def test_a_stream_writer_that_fails_leaves_the_old_file_and_no_temp_file(tmp_path):
    target = tmp_path / "arrays.npz"
    write_stream(target, lambda f: np.savez(f, x=np.arange(3)))

    def explode(f):
        f.write(b"half an archive")
        raise OSError("No space left on device")

    with pytest.raises(OSError, match="No space"):
        write_stream(target, explode)
    assert np.load(target)["x"].tolist() == [0, 1, 2]
    assert [p.name for p in tmp_path.iterdir()] == ["arrays.npz"]


def test_a_folder_appears_whole_or_not_at_all_and_leaves_whole(tmp_path):
    def half(folder):
        write_json(folder / "run.json", {"run_id": "x"})
        raise RuntimeError("crashed while filling")

    with pytest.raises(RuntimeError):
        write_dir(tmp_path / "run", half)
    assert list(tmp_path.iterdir()) == []

    write_dir(tmp_path / "run", lambda folder: write_json(folder / "run.json", {"run_id": "x"}))
    assert read_json(tmp_path / "run" / "run.json") == {"run_id": "x"}
    remove_dir(tmp_path / "run")
    assert list(tmp_path.iterdir()) == []


def test_the_workspace_is_the_given_folder_else_the_environment_else_dot_workspace(
    tmp_path, monkeypatch
):
    monkeypatch.delenv(workspace.WORKSPACE_ENV, raising=False)
    assert workspace.resolve() == Path("workspace")
    monkeypatch.setenv(workspace.WORKSPACE_ENV, str(tmp_path / "env"))
    assert workspace.resolve() == tmp_path / "env"
    assert workspace.resolve(tmp_path / "given") == tmp_path / "given"
    given = tmp_path / "given"
    assert [
        workspace.runs_dir(given),
        workspace.studies_dir(given),
        workspace.drafts_dir(given),
        workspace.tables_dir(given),
    ] == [given / "runs", given / "studies", given / "drafts", given / "tables"]
