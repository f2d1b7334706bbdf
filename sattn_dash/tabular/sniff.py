"""Decide how to read a file from its first bytes: which format, and for text which
encoding, delimiter and decimal mark.

Only a small sample is looked at (64 KB), so detection costs milliseconds and the table
itself is parsed once, by pandas, with the options found here. File contents win over
file names: a CSV saved as `.xlsx` is read as the CSV it is, and the user is told.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from sattn_dash.errors import DataError

SAMPLE_BYTES = 64 * 1024
DELIMITERS = (",", ";", "\t", "|")
WHITESPACE = r"\s+"
TEXT_SUFFIXES = {".csv", ".tsv", ".txt", ".tab", ".dat", ".data", ".psv"}
JSON_SUFFIXES = {".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}
EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
PICKLE_SUFFIXES = {".pkl", ".pickle", ".joblib", ".npy", ".npz"}
SAVE_AS = "Save it as CSV, Excel (.xlsx), Parquet or JSON and upload that."

# Binary formats recognised by their first bytes: what it is, and why we will not read it.
MAGIC = (
    (b"PK\x03\x04", "zip", None),
    (b"PAR1", "parquet", None),
    (
        b"\xd0\xcf\x11\xe0",
        None,
        "an old-style Excel file (.xls). Open it in Excel and save "
        "it as .xlsx, or export it as CSV",
    ),
    (b"\x1f\x8b", None, "gzip-compressed. Unzip it and upload the table inside"),
    (b"BZh", None, "bzip2-compressed. Unzip it and upload the table inside"),
    (b"\xfd7zXZ", None, "xz-compressed. Unzip it and upload the table inside"),
    (b"(\xb5/\xfd", None, "zstd-compressed. Unzip it and upload the table inside"),
    (b"7z\xbc\xaf", None, "a 7-Zip archive. Unpack it and upload the table inside"),
    (b"Rar!", None, "a RAR archive. Unpack it and upload the table inside"),
    (b"ARROW1", None, f"an Arrow/Feather file, which is not supported. {SAVE_AS}"),
    (b"%PDF", None, "a PDF document, not a table. Export the table from it as CSV"),
    (b"\x89PNG", None, "an image (PNG), not a table"),
    (b"\xff\xd8\xff", None, "an image (JPEG), not a table"),
    (b"GIF8", None, "an image (GIF), not a table"),
    (b"SQLite format 3", None, "an SQLite database. Export the table you need as CSV"),
)
PICKLE_START = re.compile(rb"^\x80[\x02-\x05]")
MARKUP_START = re.compile(r"^\s*<(!doctype|html|\?xml|table|svg)", re.IGNORECASE)
COMMA_DECIMAL = re.compile(r"^[+-]?\d+,\d+$")
DOT_GROUPED_COMMA_DECIMAL = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+,\d+$")
DOT_DECIMAL = re.compile(r"^[+-]?\d*\.\d+$")


@dataclass(frozen=True)
class Dialect:
    """How a delimited text file is written (passed straight to `pandas.read_csv`)."""

    encoding: str
    delimiter: str
    decimal: str = "."
    thousands: str | None = None
    skipinitialspace: bool = False
    n_columns: int = 1
    header: tuple[str, ...] = ()


def detect_format(name: str, head: bytes) -> tuple[str, str | None]:
    """(format, note): format is csv, json, jsonl, xlsx or parquet; note says when the
    file's name and its content disagree. Raises DataError for what we never read."""
    suffix = Path(name or "").suffix.lower()
    if suffix in PICKLE_SUFFIXES or PICKLE_START.match(head):
        raise DataError(
            f"{called(name)} is a Python pickle; sattn-dash never opens pickles "
            f"because loading one can run any code. {SAVE_AS}"
        )
    if not head:
        raise DataError(f"{called(name)} is empty (0 bytes). Upload the file with your table.")
    for magic, fmt, refusal in MAGIC:
        if head.startswith(magic):
            if refusal:
                raise DataError(f"{called(name)} is {refusal}.")
            return _by_content(name, suffix, "xlsx" if fmt == "zip" else fmt)
    if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise DataError(
            f"{called(name)} holds binary data, not a table in a format sattn-dash reads. {SAVE_AS}"
        )
    text = decode_sample(head, detect_encoding(head))
    if MARKUP_START.match(text):
        raise DataError(
            f"{called(name)} is a web page or XML document, not a table. "
            "Export the table as CSV and upload that."
        )
    starts_like_json = text.lstrip()[:1] in ("{", "[")
    first_line = text.lstrip().split("\n", 1)[0]
    looks_delimited = not starts_like_json and any(d in first_line for d in DELIMITERS)
    if suffix in JSON_SUFFIXES and not looks_delimited:
        return JSON_SUFFIXES[suffix], None
    if suffix in TEXT_SUFFIXES:
        return "csv", None
    if starts_like_json:
        return _by_content(name, suffix, "json")
    return _by_content(name, suffix, "csv")


def _by_content(name: str, suffix: str, fmt: str) -> tuple[str, str | None]:
    expected = {
        "xlsx": EXCEL_SUFFIXES,
        "parquet": PARQUET_SUFFIXES,
        "json": set(JSON_SUFFIXES),
        "csv": TEXT_SUFFIXES,
    }[fmt]
    if not suffix or suffix in expected:
        return fmt, None
    what, short = {
        "xlsx": ("an Excel workbook", "Excel"),
        "parquet": ("a Parquet file", "Parquet"),
        "json": ("JSON", "JSON"),
        "csv": ("delimited text", "CSV"),
    }[fmt]
    return fmt, f"'{name}' is named {suffix} but holds {what}; it was read as {short}."


def detect_encoding(head: bytes) -> str:
    """utf-8 (with or without BOM) or utf-16 when the bytes say so, else cp1252/latin-1."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for encoding in ("utf-8", "cp1252"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(head, final=False)
            return encoding
        except UnicodeDecodeError:
            continue
    return "latin-1"  # decodes any byte; the last resort for old Western files


def decode_sample(head: bytes, encoding: str) -> str:
    """Decode a sample that may end in the middle of a character."""
    return codecs.getincrementaldecoder(encoding)(errors="replace").decode(head, final=False)


def sniff_dialect(head: bytes, complete: bool) -> Dialect:
    """Encoding, delimiter, decimal mark and header of a text table from its first bytes.

    `complete` says the sample is the whole file; otherwise its last row may be cut and
    is ignored.
    """
    encoding = detect_encoding(head)
    text = decode_sample(head, encoding)
    if encoding == "utf-8-sig" or encoding == "utf-16":
        text = text.lstrip("\ufeff")
    rows_by_delimiter = {d: _rows(text, d, complete) for d in DELIMITERS}
    delimiter = _best_delimiter(rows_by_delimiter)
    if delimiter is None and _whitespace_columns(text, complete) > 1:
        return Dialect(
            encoding,
            WHITESPACE,
            n_columns=_whitespace_columns(text, complete),
            header=tuple(text.splitlines()[0].split()),
        )
    delimiter = delimiter or ","
    rows = rows_by_delimiter[delimiter]
    header = tuple(rows[0]) if rows else ()
    decimal, thousands = _decimal_mark(rows[1:], delimiter)
    return Dialect(
        encoding=encoding,
        delimiter=delimiter,
        decimal=decimal,
        thousands=thousands,
        skipinitialspace=_spaces_after_delimiter(rows),
        n_columns=len(header),
        header=header,
    )


def _rows(text: str, delimiter: str, complete: bool, limit: int = 200) -> list[list[str]]:
    rows = []
    try:
        for row in csv.reader(io.StringIO(text), delimiter=delimiter):
            if row:
                rows.append(row)
            if len(rows) > limit:
                break
    except csv.Error:
        pass  # a quote the sample cut in half; the rows so far still show the shape
    if not complete and len(rows) > 1 and len(rows) <= limit:
        rows = rows[:-1]  # the sample may end inside this row
    return rows[:limit]


def _best_delimiter(rows_by_delimiter: dict[str, list[list[str]]]) -> str | None:
    """The delimiter that splits the header into the most columns that the rows repeat."""
    best, best_score = None, (0.0, 1)
    for delimiter, rows in rows_by_delimiter.items():
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        agree = sum(len(r) == width for r in rows) / len(rows)
        score = (round(agree, 2), width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _whitespace_columns(text: str, complete: bool) -> int:
    lines = [line for line in text.splitlines() if line.strip()]
    if not complete:
        lines = lines[:-1]
    widths = Counter(len(line.split()) for line in lines[:200])
    if not widths:
        return 0
    width, count = widths.most_common(1)[0]
    return width if count == sum(widths.values()) and len(lines[0].split()) == width else 0


def _decimal_mark(rows: list[list[str]], delimiter: str) -> tuple[str, str | None]:
    """',' as the decimal mark when numbers are written '1,5' (only possible when the
    delimiter is not a comma); '.' as thousands separator when written '1.234,5'."""
    if delimiter == ",":
        return ".", None
    cells = [c.strip() for r in rows for c in r]
    comma = sum(bool(COMMA_DECIMAL.match(c)) for c in cells)
    grouped = sum(bool(DOT_GROUPED_COMMA_DECIMAL.match(c)) for c in cells)
    dot = sum(bool(DOT_DECIMAL.match(c)) for c in cells)
    if comma + grouped > 0 and comma + grouped >= dot:
        return ",", "." if grouped else None
    return ".", None


def _spaces_after_delimiter(rows: list[list[str]]) -> bool:
    cells = [c for r in rows[1:] for c in r[1:] if c]
    return bool(cells) and sum(c.startswith(" ") for c in cells) / len(cells) > 0.9


def called(name: str) -> str:
    """A file as a message names it: quoted, or "The file" when it has no name."""
    return f"'{name}'" if name else "The file"
