"""Atomic file writes: a crash leaves either the old file or the new one, never half.

The one owner of how sattn-dash writes a file (runs, studies, drafts, tables, prepared
data, exports): write a temporary file beside the target (same folder, a hidden name),
then ``os.replace`` it over the target (atomic on POSIX and Windows within one folder);
on any error the temporary file or folder is removed. Base layer: imports nothing of
sattn_dash.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO


def write_with(path: str | os.PathLike, write: Callable[[Path], None], suffix: str = "") -> None:
    """Call ``write(temp_path)`` and move the result over ``path`` in one step.

    ``suffix`` keeps an extension that a writer insists on (Keras wants ``.keras``).
    """
    path = Path(path)
    temp = path.with_name(f".{path.name}.tmp-{secrets.token_hex(4)}{suffix}")
    try:
        write(temp)
        os.replace(temp, path)
    except BaseException as exc:
        if temp.is_dir():
            shutil.rmtree(temp, ignore_errors=True)
        else:
            temp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno is not None and exc.filename is None:
            # say which file (a full disk); an error without an errno keeps its message
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise


def write_text(path: str | os.PathLike, text: str) -> None:
    write_with(path, lambda temp: temp.write_text(text, encoding="utf-8"))


def write_stream(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> None:
    """Call ``write(binary_file)`` on a new file and move it over ``path`` in one step
    (for writers that take an open file: ``np.savez``, ``joblib.dump``)."""

    def to_file(temp: Path) -> None:
        with temp.open("wb") as handle:
            write(handle)

    write_with(path, to_file)


def json_safe(value: Any) -> Any:
    """Plain JSON types only: numpy scalars and arrays unwrapped, NaN and inf as None."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if hasattr(value, "tolist"):  # numpy scalar or array
        return json_safe(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def dumps(value: Any, indent: int | None = 2) -> str:
    return json.dumps(json_safe(value), indent=indent, allow_nan=False, ensure_ascii=False)


def write_json(path: str | os.PathLike, value: Any) -> None:
    write_text(path, dumps(value) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def write_dir(path: str | os.PathLike, write: Callable[[Path], None]) -> None:
    """Build a new folder with ``write(temp_dir)``, then move it to ``path`` in one step."""

    def build(temp: Path) -> None:
        temp.mkdir()
        write(temp)

    write_with(path, build)


def remove_dir(path: str | os.PathLike) -> None:
    """Remove a folder so no reader sees it half gone: move it aside, then delete it."""
    path = Path(path)
    trash = path.with_name(f".{path.name}.deleting-{secrets.token_hex(3)}")
    os.replace(path, trash)
    shutil.rmtree(trash, ignore_errors=True)
