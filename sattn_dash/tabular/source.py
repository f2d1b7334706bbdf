"""One view of what the user handed us: a path, raw bytes, or an uploaded file object.

`st.file_uploader` returns an `UploadedFile` (a BytesIO with `.name` and `.size`); tests
and the CLI pass paths. Readers only need a name, a size, the first bytes, and something
pandas can open, so that is all a `Source` offers. Paths stay on disk (pandas reads them
directly, which is what keeps `read_table` as fast as `pandas.read_csv`).

A gzip, bzip2, xz or zstd file is recognised by its first bytes and read through a
streaming decompressor, so `head` and `open` see the table inside; the decompressed
bytes are counted and refused past a limit, so a small "zip bomb" cannot fill memory.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
from dataclasses import dataclass
from pathlib import Path

from sattn_dash.errors import DataError

# (first bytes, name, file-name suffix): the compressed formats pandas also reads
COMPRESSIONS = (
    (b"\x1f\x8b", "gzip", ".gz"),
    (b"BZh", "bzip2", ".bz2"),
    (b"\xfd7zXZ\x00", "xz", ".xz"),
    (b"(\xb5/\xfd", "zstd", ".zst"),
)
COMPRESSED_SUFFIXES = tuple(suffix for _, _, suffix in COMPRESSIONS)
NO_LIMIT = 1 << 62


@dataclass(frozen=True)
class Source:
    name: str
    size: int
    path: Path | None = None
    data: bytes | None = None
    compression: str | None = None  # gzip, bzip2, xz or zstd: read through a decompressor
    max_unpacked: int = NO_LIMIT  # decompressed bytes allowed before DataError

    @property
    def inner_name(self) -> str:
        """The name of the table inside: 'sales.csv' for 'sales.csv.gz'."""
        if self.compression and self.name.lower().endswith(COMPRESSED_SUFFIXES):
            return self.name.rsplit(".", 1)[0]
        return self.name

    def head(self, n: int) -> bytes:
        """The first `n` bytes of the table (fewer for a short file), decompressed."""
        with self._raw() as handle:
            return _decompressed(handle, self)(n) if self.compression else handle.read(n)

    def open(self):
        """A fresh thing pandas/pyarrow/openpyxl can read: the path, a new BytesIO, or
        a decompressing file object."""
        if self.compression:
            return _Unpacked(self)
        return str(self.path) if self.path is not None else io.BytesIO(self.data)

    def read_bytes(self) -> bytes:
        if self.compression:
            with _Unpacked(self) as handle:
                return handle.read()
        return self.data if self.data is not None else self.path.read_bytes()

    def _raw(self):
        return open(self.path, "rb") if self.path is not None else io.BytesIO(self.data)


def compression_of(first_bytes: bytes) -> str | None:
    """gzip, bzip2, xz or zstd when the bytes start that way, else None."""
    return next((kind for magic, kind, _ in COMPRESSIONS if first_bytes.startswith(magic)), None)


def _decompressor(kind: str, raw):
    if kind == "gzip":
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if kind == "bzip2":
        return bz2.BZ2File(raw, mode="rb")
    if kind == "xz":
        return lzma.LZMAFile(raw, mode="rb")
    import zstandard  # only needed for .zst files

    return zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)


def _decompressed(raw, src: Source):
    """`read(n)` of the decompressed stream, turning a damaged stream into DataError."""
    stream = _decompressor(src.compression, raw)
    damaged = (OSError, EOFError, lzma.LZMAError)
    if src.compression == "zstd":
        import zstandard

        damaged += (zstandard.ZstdError,)

    def read(n: int = -1) -> bytes:
        try:
            return stream.read(n)
        except damaged as exc:
            raise DataError(
                f"'{src.name}' is {src.compression}-compressed but damaged or cut short "
                f"({str(exc).strip()[:120] or type(exc).__name__}). Compress the table "
                "again, or upload it uncompressed."
            ) from None

    return read


class _Unpacked(io.RawIOBase):
    """The decompressed bytes of a compressed `Source`, refused past `max_unpacked`."""

    def __init__(self, src: Source):
        self._src, self._raw, self._count = src, src._raw(), 0
        self._read = _decompressed(self._raw, src)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        chunk = self._read(len(buffer))
        self._count += len(chunk)
        if self._count > self._src.max_unpacked:
            raise DataError(
                f"'{self._src.name}' unpacks to more than {megabytes(self._src.max_unpacked)}, "
                "the limit for compressed files. Upload a smaller table, or raise "
                "ReadLimits.max_unpacked_bytes."
            )
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def close(self) -> None:
        self._raw.close()
        super().close()


def open_source(source, name: str | None, max_bytes: int, max_unpacked: int = NO_LIMIT) -> Source:
    """Wrap `source` (path, bytes or file-like), refusing files above `max_bytes` early.
    Compressed content is recognised here and unpacked up to `max_unpacked` bytes."""
    src = _open_source(source, name, max_bytes)
    with src._raw() as handle:
        kind = compression_of(handle.read(8))
    return Source(src.name, src.size, src.path, src.data, kind, max_unpacked) if kind else src


def _open_source(source, name: str | None, max_bytes: int) -> Source:
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


def check_path_text(text: str) -> None:
    """A path a person typed: one with a NUL byte names no file on any system."""
    if "\0" in text:
        raise DataError(
            "The path holds a NUL character (\\0), which no file name can contain. Type "
            "the path again, or paste it without control characters."
        )


def check_regular_file(path: Path, shown: str | None = None) -> None:
    """Only a regular file is read: a pipe (FIFO), device or socket would block the
    reader forever or never end, so it is refused (call once the path exists)."""
    if not path.is_file():
        raise DataError(
            f"'{shown or path}' is not a regular file (a pipe, device or socket); "
            "sattn-dash reads tables only from files. Save the table to a file first."
        )


def _from_path(path: Path, name: str | None, max_bytes: int) -> Source:
    check_path_text(str(path))
    if not path.exists():
        raise DataError(f"There is no file at '{path}'. Check the path and try again.")
    if path.is_dir():
        raise DataError(f"'{path}' is a folder, not a file. Choose the table file inside it.")
    check_regular_file(path)
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
