"""Tables from a server-side path: one file, a glob, or a folder of Parquet/CSV files.

`find_table_files` turns what the user typed into the files to read, and `read_path`
reads them as one table. The app passes the data root the person running the server
chose (`SATTN_DASH_DATA_ROOT`); with no root it reads no path at all, so a public
deployment cannot be made to open files on its server. Every match is resolved
(symlinks followed, `..` collapsed) and must still lie below the root.
The CLI runs as the user in their own shell, so it reads any path (`root=None`,
`guarded=False`).
"""

from __future__ import annotations

import glob
import os
from dataclasses import replace
from pathlib import Path

import pandas as pd

from sattn_dash.errors import DataError
from sattn_dash.tabular.read import READ_INFO_KEY, ReadLimits, read_info, read_table
from sattn_dash.tabular.source import (
    COMPRESSED_SUFFIXES,
    check_path_text,
    check_regular_file,
)

DATA_ROOT_ENV = "SATTN_DASH_DATA_ROOT"
TABLE_SUFFIXES = (".parquet", ".pq", ".csv", ".tsv", ".txt")
MAX_FILES = 10_000
GLOB_CHARS = set("*?[")


def data_root() -> Path | None:
    """The folder the app may read tables from (`SATTN_DASH_DATA_ROOT`), or None: off."""
    value = os.environ.get(DATA_ROOT_ENV, "").strip()
    return Path(value).expanduser().resolve() if value else None


def is_table_file(path: Path) -> bool:
    """Parquet or delimited text, possibly compressed; not hidden or bookkeeping files
    (`.part`, `_SUCCESS`, `_metadata`) that Spark and pyarrow leave beside the data."""
    name = path.name.lower()
    if name.startswith((".", "_")):
        return False
    for suffix in COMPRESSED_SUFFIXES:
        name = name.removesuffix(suffix)
    return name.endswith(TABLE_SUFFIXES)


def find_table_files(text: str, root: Path | None, *, guarded: bool = True) -> list[Path]:
    """The table files `text` names: a file, a folder (every table file below it) or a
    glob such as `sales/2024-*.parquet`. Relative paths start at `root`.

    With `guarded`, `root` must be set and every file must resolve to a place below it.
    """
    text = text.strip()
    check_path_text(text)
    root = root.resolve() if root is not None else None
    if not text:
        raise DataError("No path given. Type the path of a file, a folder or a glob.")
    if guarded and root is None:
        raise DataError(
            "Reading tables from a server path is switched off. Whoever runs the server "
            f"can allow it for one folder: set {DATA_ROOT_ENV}=/path/to/data before "
            "`streamlit run app.py`. Until then, upload the file instead."
        )
    base = root if root is not None else Path.cwd()
    pattern = Path(text).expanduser()
    pattern = pattern if pattern.is_absolute() else base / pattern
    globbed = bool(GLOB_CHARS & set(str(pattern)))
    matches = (
        sorted(Path(p) for p in glob.glob(str(pattern), recursive=True)) if globbed else [pattern]
    )
    if guarded:
        # Every match, so a glob cannot probe outside; and "outside" before "missing".
        _check_inside(matches, root, text)
    if globbed:
        files = [p for p in matches if p.is_file() and is_table_file(p)]
        if not files:
            raise DataError(
                f"No Parquet or CSV file matches '{text}'. Check the pattern "
                "(for example data/*.parquet or data/**/*.csv.gz)."
            )
    elif pattern.is_dir():
        files = sorted(p for p in pattern.rglob("*") if p.is_file() and is_table_file(p))
        if not files:
            raise DataError(
                f"The folder '{text}' holds no Parquet or CSV files. Choose the folder "
                "that has the table's files, or one file."
            )
    elif pattern.exists():
        check_regular_file(pattern, text)
        files = [pattern]
    else:
        raise DataError(f"There is no file or folder at '{text}'. Check the path and try again.")
    if guarded:
        _check_inside(files, root, text)
    if len(files) > MAX_FILES:
        raise DataError(
            f"'{text}' matches {len(files):,} files, more than {MAX_FILES:,}. "
            "Narrow the pattern, or combine the files first."
        )
    return files


def _check_inside(paths: list[Path], root: Path, text: str) -> None:
    for path in paths:
        if not path.resolve().is_relative_to(root):
            raise DataError(
                f"'{text}' is outside the data folder {root} (after following '..' and "
                "symbolic links), and the app reads only below it. Choose a path inside "
                f"it, or ask whoever runs the server to move the data or change "
                f"{DATA_ROOT_ENV}."
            )


def read_path(
    text: str,
    root: Path | None,
    *,
    guarded: bool = True,
    limits: ReadLimits | None = None,
) -> pd.DataFrame:
    """Every file `text` names (see `find_table_files`) read as one table: the same
    columns in every file, rows in file order. Raises `DataError` naming the file that
    does not fit."""
    return read_table_files(find_table_files(text, root, guarded=guarded), text, limits)


def read_table_files(
    files: list[Path], text: str, limits: ReadLimits | None = None
) -> pd.DataFrame:
    """`files` (what `text` named, as `find_table_files` lists them) read as one table."""
    limits = limits or ReadLimits()
    frames = [read_table(f, limits=limits) for f in files]
    first = frames[0]
    for path, frame in zip(files[1:], frames[1:], strict=True):
        if set(frame.columns) != set(first.columns):
            extra = sorted(set(frame.columns) - set(first.columns))[:5]
            lacking = sorted(set(first.columns) - set(frame.columns))[:5]
            raise DataError(
                f"'{path.name}' does not have the columns of '{files[0].name}'"
                + (f" (it adds {', '.join(extra)})" if extra else "")
                + (f" (it lacks {', '.join(lacking)})" if lacking else "")
                + ". Every file of one table needs the same columns: pick files that match."
            )
    limits.check_rows(sum(len(f) for f in frames))
    if len(frames) == 1:
        return first
    df = pd.concat([f[list(first.columns)] for f in frames], ignore_index=True)
    info = read_info(first)
    shown = ", ".join(p.name for p in files[:3]) + (", ..." if len(files) > 3 else "")
    df.attrs = {
        READ_INFO_KEY: replace(
            info,
            name=text,
            notes=(f"Read {len(files):,} files as one table ({shown}).", *info.notes),
        )
    }
    return df
