"""One view of what the user handed us: a path, raw bytes, or an uploaded file object.

`st.file_uploader` returns an `UploadedFile` (a BytesIO with `.name` and `.size`); tests
and the CLI pass paths. Readers only need a name, a size, the first bytes, and something
pandas can open, so that is all a `Source` offers. Paths stay on disk (pandas reads them
directly, which is what keeps `read_table` as fast as `pandas.read_csv`).
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

from sattn_dash.errors import DataError


@dataclass(frozen=True)
class Source:
    name: str
    size: int
    path: Path | None = None
    data: bytes | None = None

    def head(self, n: int) -> bytes:
        """The first `n` bytes (fewer for a short file)."""
        if self.data is not None:
            return self.data[:n]
        with open(self.path, "rb") as handle:
            return handle.read(n)

    def open(self):
        """A fresh thing pandas/pyarrow/openpyxl can read: the path, or a new BytesIO."""
        return str(self.path) if self.path is not None else io.BytesIO(self.data)

    def read_bytes(self) -> bytes:
        return self.data if self.data is not None else self.path.read_bytes()


def open_source(source, name: str | None, max_bytes: int) -> Source:
    """Wrap `source` (path, bytes or file-like), refusing files above `max_bytes` early."""
    if isinstance(source, (str, os.PathLike)):
        return _from_path(Path(source), name, max_bytes)
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        _check_size(len(data), max_bytes)
        return Source(name=name or "", size=len(data), data=data)
    if hasattr(source, "read"):
        return _from_file_object(source, name, max_bytes)
    raise DataError(
        f"Cannot read a table from a {type(source).__name__}. Pass a file path or an uploaded file."
    )


def _from_path(path: Path, name: str | None, max_bytes: int) -> Source:
    if not path.exists():
        raise DataError(f"There is no file at '{path}'. Check the path and try again.")
    if path.is_dir():
        raise DataError(f"'{path}' is a folder, not a file. Choose the table file inside it.")
    size = path.stat().st_size
    _check_size(size, max_bytes)
    return Source(name=name or path.name, size=size, path=path)


def _from_file_object(handle, name: str | None, max_bytes: int) -> Source:
    name = name or os.path.basename(str(getattr(handle, "name", "") or ""))
    size = getattr(handle, "size", None)
    if isinstance(size, int):
        _check_size(size, max_bytes)
    if hasattr(handle, "seek"):
        handle.seek(0)
    data = handle.read(max_bytes + 1)
    if hasattr(handle, "seek"):
        handle.seek(0)  # leave the upload readable for the next rerun of the page
    if isinstance(data, str):
        data = data.encode("utf-8")
    _check_size(len(data), max_bytes, exact=False)
    return Source(name=name, size=len(data), data=bytes(data))


def _check_size(size: int, max_bytes: int, exact: bool = True) -> None:
    if size > max_bytes:
        limit = megabytes(max_bytes)
        how_big = f"is {megabytes(size)}, above" if exact else "is larger than"
        raise DataError(
            f"The file {how_big} the {limit} limit. "
            "Keep only the rows and columns you need (or a random sample) and upload that, "
            "or raise ReadLimits.max_bytes."
        )


def megabytes(n: int) -> str:
    return f"{n / 1e6:,.1f} MB" if n < 10e6 else f"{n / 1e6:,.0f} MB"
