"""Tables from a server path: several files read as one table, compressed CSVs, and the
data-root guard that keeps the app from reading anything outside the folder chosen by
whoever runs the server (absolute paths, `..`, symbolic links, globs)."""

from __future__ import annotations

import bz2
import gzip
import json
import lzma

import numpy as np
import pandas as pd
import pytest
import zstandard

from sattn_dash.cli import main
from sattn_dash.errors import DataError
from sattn_dash.tabular import read_info
from sattn_dash.tabular.paths import DATA_ROOT_ENV, data_root, find_table_files, read_path


def part(i: int, n: int = 30) -> pd.DataFrame:
    rng = np.random.default_rng(i)
    x = rng.normal(size=n)
    return pd.DataFrame({"x": x, "colour": rng.choice(["red", "blue"], n), "y": x > 0})


@pytest.fixture
def root(tmp_path):
    """A data root holding a partitioned Parquet folder, compressed CSVs and a secret
    file beside (not inside) the root."""
    data = tmp_path / "data"
    for year, i in (("2023", 0), ("2024", 1), ("2024", 2)):
        folder = data / "sales" / f"year={year}"
        folder.mkdir(parents=True, exist_ok=True)
        part(i).to_parquet(folder / f"part-{i}.parquet")
    (data / "sales" / "_SUCCESS").write_text("")
    (data / "sales" / ".part-9.parquet.crc").write_text("junk")
    csv = part(3).to_csv(index=False).encode()
    (data / "csv").mkdir()
    (data / "csv" / "a.csv.gz").write_bytes(gzip.compress(csv))
    (data / "csv" / "b.csv.bz2").write_bytes(bz2.compress(csv))
    (data / "csv" / "c.csv.xz").write_bytes(lzma.compress(csv))
    (data / "csv" / "d.csv.zst").write_bytes(zstandard.ZstdCompressor().compress(csv))
    (tmp_path / "secret.csv").write_text("password,y\nhunter2,1\n")
    return data


def test_a_folder_of_parquet_files_is_one_table(root):
    df = read_path("sales", root)
    expected = pd.concat([part(0), part(1), part(2)], ignore_index=True)
    pd.testing.assert_frame_equal(df, expected, check_dtype=False)
    info = read_info(df)
    assert info.name == "sales" and info.notes[0].startswith("Read 3 files as one table")


def test_a_glob_of_compressed_csvs_of_every_kind_is_one_table(root):
    files = find_table_files("csv/*.csv.*", root)
    assert [f.name for f in files] == ["a.csv.gz", "b.csv.bz2", "c.csv.xz", "d.csv.zst"]
    df = read_path("csv/*.csv.*", root)
    assert len(df) == 4 * 30 and list(df.columns) == ["x", "colour", "y"]
    assert np.allclose(df["x"].to_numpy()[:30], part(3)["x"].to_numpy())
    assert read_path("csv/c.csv.xz", root)["x"].equals(df["x"].iloc[60:90].reset_index(drop=True))


def test_a_recursive_glob_and_an_absolute_path_inside_the_root(root):
    assert len(find_table_files("**/*.parquet", root)) == 3
    assert len(read_path(str(root / "sales" / "year=2024"), root)) == 60


def test_files_with_different_columns_are_refused_by_name(root):
    part(5).rename(columns={"x": "z"}).to_parquet(root / "sales" / "year=2024" / "odd.parquet")
    with pytest.raises(DataError, match="'odd.parquet' does not have the columns.*adds z"):
        read_path("sales", root)


def test_without_a_data_root_the_app_reads_no_path(root, monkeypatch):
    monkeypatch.delenv(DATA_ROOT_ENV, raising=False)
    assert data_root() is None
    with pytest.raises(DataError, match=f"switched off.*{DATA_ROOT_ENV}"):
        read_path(str(root / "sales"), data_root())
    monkeypatch.setenv(DATA_ROOT_ENV, str(root))
    assert data_root() == root.resolve()
    assert len(read_path("sales", data_root())) == 90


@pytest.mark.parametrize(
    "path",
    ["../secret.csv", "sales/../../secret.csv", "{tmp}/secret.csv", "../*.csv", "/etc/passwd"],
)
def test_paths_outside_the_root_are_refused(root, path):
    path = path.format(tmp=root.parent)
    with pytest.raises(DataError) as raised:
        read_path(path, root)
    message = str(raised.value)
    assert "outside the data folder" in message and DATA_ROOT_ENV in message
    assert "hunter2" not in message


def test_symbolic_links_out_of_the_root_are_refused(root):
    (root / "link.csv").symlink_to(root.parent / "secret.csv")
    (root / "linked_folder").symlink_to(root.parent, target_is_directory=True)
    for path in ("link.csv", "linked_folder", "linked_folder/secret.csv", "*.csv"):
        with pytest.raises(DataError, match="outside the data folder.*symbolic links"):
            read_path(path, root)
    (root / "inside.parquet").symlink_to(root / "sales" / "year=2023" / "part-0.parquet")
    assert len(read_path("inside.parquet", root)) == 30  # a link that stays inside is fine


def test_missing_paths_and_empty_folders_say_what_to_do(root):
    (root / "empty").mkdir()
    with pytest.raises(DataError, match="no file or folder at 'nope.csv'"):
        read_path("nope.csv", root)
    with pytest.raises(DataError, match="holds no Parquet or CSV files"):
        read_path("empty", root)
    with pytest.raises(DataError, match="No Parquet or CSV file matches"):
        read_path("sales/*.xlsx", root)
    with pytest.raises(DataError, match="No path given"):
        read_path("  ", root)


def test_the_cli_reads_a_folder_as_one_table(root, capsys):
    code = main(["baselines", "--data", str(root / "sales"), "--target", "y", "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    report = json.loads(out)
    assert report["targets"] == {"y": "binary"}
    assert sum(report["rows"].values()) == 90  # all three files


def test_the_cli_is_not_guarded_by_the_data_root(root, monkeypatch, capsys):
    """The CLI runs as the user in their own shell: it reads any path they name."""
    monkeypatch.setenv(DATA_ROOT_ENV, str(root / "csv"))
    monkeypatch.chdir(root)
    code = main(["baselines", "--data", "sales/*/*.parquet", "--target", "y", "--json"])
    assert code == 0, capsys.readouterr()


def test_a_pipe_as_data_is_refused_at_once(tmp_path):
    """A FIFO given as --data blocked `train` forever: only regular files are read."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    pipe = tmp_path / "table.csv"
    os.mkfifo(pipe)
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-m", "sattn_dash", "train", "--data", str(pipe), "--target", "y"]
        + ["--workspace", str(tmp_path / "ws")],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=120,  # it must not wait for a writer that never comes
    )
    assert done.returncode == 2
    (line,) = [x for x in done.stderr.splitlines() if x.startswith("error:")]
    assert "not a regular file" in line
