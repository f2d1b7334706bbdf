"""`read_table`: the user's own file, whatever its format, as a tidy DataFrame.

Every reader is a pandas/pyarrow/openpyxl call with options detected beforehand; we
write no parser. Anything the libraries reject becomes a `DataError` that says what is
wrong with the file and what to do. Pickles are never opened.

What was decided automatically (format, encoding, delimiter, decimal mark, sheet,
renamed columns, dropped empty rows) is kept in `read_info(df)` so the page can show it.
"""

from __future__ import annotations

import json
import re
import warnings
import zipfile
from collections import Counter
from dataclasses import dataclass, replace
from functools import partial

import numpy as np
import pandas as pd

from sattn_dash.errors import DataError
from sattn_dash.tabular.sniff import (
    SAMPLE_BYTES,
    SAVE_AS,
    WHITESPACE,
    called,
    decode_sample,
    detect_encoding,
    detect_format,
    sniff_dialect,
)
from sattn_dash.tabular.source import Source, megabytes, open_source

READ_INFO_KEY = "sattn_dash.read_info"
SAMPLE_LINES = 5
MAX_SAMPLE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class ReadLimits:
    """How big a table `read_table` accepts. The defaults suit a laptop: a 200 MB file
    with up to 2 million rows or 20,000 columns reads in seconds and fits in memory."""

    max_bytes: int = 200 * 1000 * 1000
    max_rows: int = 2_000_000
    max_columns: int = 20_000
    max_unpacked_bytes: int = 1000 * 1000 * 1000  # xlsx and Parquet once decompressed

    def describe(self) -> str:
        """The limits on a table's shape, as the Data page states them."""
        return (
            f"up to {self.max_rows:,} rows and {self.max_columns:,} columns; Excel and "
            f"Parquet files up to {megabytes(self.max_unpacked_bytes)} once unpacked"
        )

    def check_rows(self, n: int) -> None:
        """DataError when a table of ``n`` rows is over the limit."""
        if n > self.max_rows:
            raise DataError(
                f"The table has more than {self.max_rows:,} rows, the limit. "
                "Upload a random sample of the rows, or raise ReadLimits.max_rows."
            )

    def check_columns(self, n: int) -> None:
        """DataError when a table of ``n`` columns is over the limit."""
        if n > self.max_columns:
            raise DataError(
                f"The table has {n:,} columns, more than the limit of {self.max_columns:,}. "
                "Keep the columns you need (or combine them) and upload that, or raise "
                "ReadLimits.max_columns."
            )


@dataclass(frozen=True)
class ReadInfo:
    """What `read_table` decided about a file, in the words a page shows."""

    name: str
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    decimal: str | None = None
    sheet: str | None = None
    sheets: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def __deepcopy__(self, memo) -> ReadInfo:
        return self  # immutable; pandas deep-copies attrs on every column access

    def describe(self) -> str:
        parts = [self.format.upper() if self.format != "xlsx" else "Excel"]
        if self.delimiter:
            shown = {"\t": "tab", " ": "space", WHITESPACE: "spaces"}.get(
                self.delimiter, f"'{self.delimiter}'"
            )
            parts.append(f"{shown}-separated")
        if self.encoding:
            parts.append(self.encoding)
        if self.decimal == ",":
            parts.append("decimal comma")
        if self.sheet is not None:
            parts.append(f"sheet '{self.sheet}'")
        return ", ".join(parts)


def read_table(source, name: str | None = None, *, sheet=None, limits: ReadLimits | None = None):
    """Read a CSV/TSV/TXT, Parquet, Excel (.xlsx), JSON or JSON Lines table.

    `source` is a path, bytes, or a file object such as Streamlit's `UploadedFile`;
    `name` is the file name when the source has none (it only guides the format: the
    content decides). `sheet` picks an Excel sheet by name or position (first non-empty
    sheet by default). Raises `DataError` for anything that cannot be read as a table.
    """
    limits = limits or ReadLimits()
    src = open_source(source, name, limits.max_bytes, limits.max_unpacked_bytes)
    head = _sample(src)
    fmt, note = detect_format(src.inner_name, head)
    notes = [note] if note else []
    if src.compression:
        notes.append(f"Unpacked from {src.compression}.")
        if fmt in ("parquet", "xlsx"):  # their readers need to seek: unpack in memory
            src = Source(src.name, src.size, data=src.read_bytes())
    reader = {
        "csv": _read_delimited,
        "parquet": _read_parquet,
        "xlsx": _read_excel,
        "json": partial(_read_json, lines=False),
        "jsonl": partial(_read_json, lines=True),
    }[fmt]
    df, info = reader(src, head, limits, sheet, notes)
    df = _tidy(df, src.name, limits, notes)
    df.attrs[READ_INFO_KEY] = replace(info, notes=tuple(notes))
    return df


def _sample(src: Source) -> bytes:
    """The first bytes to detect the format from: at least a few whole lines, so a header
    of 10,000 columns (far more than one sample) is still seen whole."""
    size = SAMPLE_BYTES
    head = src.head(size)
    while head.count(b"\n") < SAMPLE_LINES and len(head) == size and size < MAX_SAMPLE_BYTES:
        size *= 4
        head = src.head(size)
    return head


def read_info(df: pd.DataFrame) -> ReadInfo | None:
    """What `read_table` decided when it read `df` (None for frames it did not read)."""
    return df.attrs.get(READ_INFO_KEY)


def list_sheets(source, name: str | None = None) -> list[str]:
    """The sheet names of an Excel workbook, in workbook order ([] for other formats)."""
    src = open_source(source, name, ReadLimits().max_bytes)
    if src.compression or detect_format(src.name, src.head(SAMPLE_BYTES))[0] != "xlsx":
        return []
    with _excel_file(src, ReadLimits()) as book:
        return [str(s) for s in book.sheet_names]


# --- delimited text ------------------------------------------------------------------


def _read_delimited(src: Source, head: bytes, limits: ReadLimits, sheet, notes: list[str]):
    dialect = sniff_dialect(head, complete=len(src.head(len(head) + 1)) <= len(head))
    limits.check_columns(dialect.n_columns)
    counts = Counter(dialect.header)
    duplicated = sorted({h.strip() for h, n in counts.items() if n > 1})
    if duplicated:
        notes.append(
            f"Column names used more than once ({', '.join(duplicated)}) got a numbered "
            "suffix (.1, .2) so each column has its own name."
        )
    options = dict(
        sep=dialect.delimiter,
        decimal=dialect.decimal,
        thousands=dialect.thousands,
        skipinitialspace=dialect.skipinitialspace,
        nrows=limits.max_rows + 1,
    )
    encodings = [dialect.encoding]
    if dialect.encoding.startswith("utf-8"):
        encodings += ["cp1252", "latin-1"]  # the sample was clean but a later line is not
    for attempt, encoding in enumerate(encodings, start=1):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", pd.errors.DtypeWarning)
                df = pd.read_csv(src.open(), encoding=encoding, **options)
            break
        except UnicodeError:
            if attempt == len(encodings):
                raise DataError(_cannot_decode(src)) from None
        except pd.errors.EmptyDataError:
            raise DataError(
                f"{_called(src)} has no columns: it is empty or holds only blank lines. "
                "Upload the file that has your table."
            ) from None
        except (pd.errors.ParserError, ValueError) as exc:
            raise DataError(_parse_problem(src, str(exc))) from None
    if encoding != dialect.encoding:
        notes.append(f"Read as {encoding}: part of the file is not valid UTF-8.")
    if dialect.decimal == ",":
        notes.append("Numbers use a decimal comma (1,5 means 1.5).")
    info = ReadInfo(
        src.name, "csv", encoding=encoding, delimiter=dialect.delimiter, decimal=dialect.decimal
    )
    return df, info


def _parse_problem(src: Source, message: str) -> str:
    fields = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
    if fields:
        expected, line, saw = fields.groups()
        return (
            f"Line {line} of {_called(src)} has {saw} fields but the header has {expected}. "
            "Fix that line (often a stray delimiter, or text with a comma that is not in "
            "quotes) and upload the file again."
        )
    quote = re.search(r"EOF inside string starting at row (\d+)", message)
    if quote:
        return (
            f"A quoted value that starts on row {quote.group(1)} of {_called(src)} never "
            "ends (a missing closing quote). Fix the quote and upload the file again."
        )
    return (
        f"{_called(src)} could not be read as delimited text ({message.strip()[:160]}). "
        f"Check that it has one row per line and the same delimiter throughout. {SAVE_AS}"
    )


def _cannot_decode(src: Source) -> str:
    return (
        f"The text in {_called(src)} is in an encoding sattn-dash cannot read. "
        "Save it as UTF-8 (in Excel: 'CSV UTF-8') and upload it again."
    )


# --- Parquet -------------------------------------------------------------------------


def _read_parquet(src: Source, head: bytes, limits: ReadLimits, sheet, notes: list[str]):
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(src.open())
        meta = parquet.metadata
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise DataError(
            f"{_called(src)} is not a readable Parquet file: it is damaged or cut short "
            f"({_short(exc)}). Save it again from the tool that made it, or upload a CSV."
        ) from None
    limits.check_columns(meta.num_columns)
    limits.check_rows(meta.num_rows)
    unpacked = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    _check_unpacked(src, unpacked, limits)
    nested = [f.name for f in parquet.schema_arrow if pa.types.is_nested(f.type)]
    if nested:
        raise DataError(
            f"Columns {', '.join(nested[:5])} in {_called(src)} hold lists or nested records. "
            "Flatten them into plain columns (one value per cell) and save the file again."
        )
    try:
        df = parquet.read().to_pandas(date_as_object=False)
    except Exception as exc:
        raise DataError(
            f"{_called(src)} could not be read: part of the Parquet data is damaged "
            f"({_short(exc)}). Save it again, or upload a CSV."
        ) from None
    if not isinstance(df.index, pd.RangeIndex):
        df = df.reset_index(drop=df.index.names == [None])
    return df, ReadInfo(src.name, "parquet")


# --- Excel ---------------------------------------------------------------------------


def _excel_file(src: Source, limits: ReadLimits) -> pd.ExcelFile:
    try:
        with zipfile.ZipFile(src.open()) as archive:
            names = archive.namelist()
            unpacked = sum(i.file_size for i in archive.infolist())
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise DataError(
            f"{_called(src)} looks like an Excel workbook but is damaged or cut short "
            f"({_short(exc)}). Open it in Excel and save it again, or export it as CSV."
        ) from None
    if "xl/workbook.xml" not in names:
        if any(n.startswith("content.xml") for n in names):
            what = "an OpenDocument spreadsheet (.ods), which is not supported"
        else:
            inside = ", ".join(n for n in names[:3] if not n.endswith("/")) or "nothing"
            what = f"a zip archive (holding {inside}), not an Excel workbook"
        raise DataError(f"{_called(src)} is {what}. Unzip or convert it; {SAVE_AS}")
    _check_unpacked(src, unpacked, limits)
    try:
        return pd.ExcelFile(src.open(), engine="openpyxl")
    except Exception as exc:  # openpyxl raises many types for a broken workbook
        raise DataError(
            f"{_called(src)} is not a workbook openpyxl can read ({_short(exc)}). "
            "Open it in Excel and save it again as .xlsx, or export the sheet as CSV."
        ) from None


def _read_excel(src: Source, head: bytes, limits: ReadLimits, sheet, notes: list[str]):
    with _excel_file(src, limits) as book:
        sheets = [str(s) for s in book.sheet_names]
        if sheet is None:
            choice, df = _first_sheet_with_data(book, sheets, limits)
            if choice != sheets[0]:
                notes.append(f"Sheet '{sheets[0]}' is empty, so sheet '{choice}' was read.")
        else:
            choice = _sheet_name(sheet, sheets, src)
            df = _parse_sheet(book, choice, limits)
            if _is_empty(df):
                others = [s for s in sheets if s != choice]
                raise DataError(
                    f"Sheet '{choice}' of {_called(src)} is empty. "
                    + (
                        f"Choose another sheet ({', '.join(others)})."
                        if others
                        else "Put the table in it and upload the workbook again."
                    )
                )
    return df, ReadInfo(src.name, "xlsx", sheet=choice, sheets=tuple(sheets))


def _first_sheet_with_data(book, sheets: list[str], limits: ReadLimits):
    for name in sheets:
        df = _parse_sheet(book, name, limits)
        if not _is_empty(df):
            return name, df
    raise DataError(
        f"Every sheet of the workbook is empty ({', '.join(sheets)}). "
        "Put the table in the first sheet, with column names in row 1, and upload it again."
    )


def _parse_sheet(book, name: str, limits: ReadLimits) -> pd.DataFrame:
    try:
        return pd.read_excel(book, sheet_name=name, nrows=limits.max_rows + 1)
    except Exception as exc:
        raise DataError(
            f"Sheet '{name}' could not be read ({_short(exc)}). "
            "Open the workbook in Excel and save it again, or export the sheet as CSV."
        ) from None


def _sheet_name(sheet, sheets: list[str], src: Source) -> str:
    if isinstance(sheet, (int, np.integer)) and not isinstance(sheet, bool):
        if 0 <= sheet < len(sheets):
            return sheets[sheet]
    elif str(sheet) in sheets:
        return str(sheet)
    raise DataError(f"{_called(src)} has no sheet {sheet!r}. Choose one of: {', '.join(sheets)}.")


def _is_empty(df: pd.DataFrame) -> bool:
    return df.shape[1] == 0 or df.dropna(how="all").empty


# --- JSON and JSON Lines -------------------------------------------------------------

JSON_SHAPES = (
    'a list of records like [{"age": 31, "city": "Oslo"}, ...], one object per line '
    '(JSON Lines), or columns like {"age": [31, 45], "city": ["Oslo", "Rome"]}'
)


def _read_json(src: Source, head: bytes, limits: ReadLimits, sheet, notes: list[str], lines: bool):
    encoding = detect_encoding(head)
    text = decode_sample(src.read_bytes(), encoding).lstrip("\ufeff")
    if not lines:
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            if exc.msg != "Extra data":
                raise DataError(
                    f"{_called(src)} is not valid JSON: {exc.msg} at line {exc.lineno}, "
                    f"column {exc.colno}. Fix it there, or export the table as CSV."
                ) from None
            lines = True  # several JSON values one after another: JSON Lines
            notes.append("Read as JSON Lines (one record per line).")
    if lines:
        obj = _json_lines(text, src)
    df = _frame_from_json(obj, src)
    return df, ReadInfo(src.name, "jsonl" if lines else "json", encoding=encoding)


def _json_lines(text: str, src: Source) -> list:
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise DataError(
                f"Line {number} of {_called(src)} is not valid JSON ({exc.msg}). "
                'Each line must hold one record like {"age": 31}; fix that line.'
            ) from None
    return records


def _frame_from_json(obj, src: Source) -> pd.DataFrame:
    if isinstance(obj, dict) and isinstance(obj.get("data"), list):
        if isinstance(obj.get("columns"), list):  # pandas orient="split"
            return _checked(lambda: pd.DataFrame(obj["data"], columns=obj["columns"]), src)
        if obj.get("schema", {}).get("primaryKey") == ["index"]:  # pandas orient="table"
            obj = [{k: v for k, v in r.items() if k != "index"} for r in obj["data"]]
        else:
            obj = obj["data"]
    if isinstance(obj, list) and obj and all(isinstance(r, dict) for r in obj):
        return _flat(_checked(lambda: pd.json_normalize(obj), src), src)
    if isinstance(obj, list) and obj and all(isinstance(r, list) for r in obj):
        header = obj[0]
        if all(isinstance(h, str) for h in header) and len(obj) > 1:
            return _flat(_checked(lambda: pd.DataFrame(obj[1:], columns=header), src), src)
    if isinstance(obj, dict) and obj:
        values = list(obj.values())
        if all(isinstance(v, (list, dict)) for v in values):
            return _flat(_checked(lambda: pd.DataFrame(obj), src), src).reset_index(drop=True)
        if not any(isinstance(v, (list, dict)) for v in values):
            return pd.DataFrame([obj])  # a single record
    raise DataError(f"{_called(src)} is JSON but not a table. Save it as {JSON_SHAPES}.")


def _checked(make, src: Source) -> pd.DataFrame:
    try:
        return make()
    except (ValueError, TypeError) as exc:
        raise DataError(
            f"{_called(src)} is JSON but its rows do not line up as a table ({_short(exc)}). "
            f"Save it as {JSON_SHAPES}."
        ) from None


def _flat(df: pd.DataFrame, src: Source) -> pd.DataFrame:
    for column in df.columns:
        if df[column].dtype == object:
            nested = df[column].map(lambda v: isinstance(v, (list, dict))).any()
            if nested:
                raise DataError(
                    f"Column '{column}' of {_called(src)} holds lists or nested objects. "
                    "Flatten it into plain columns (one value per cell) and upload it again."
                )
    return df


# --- shared checks -------------------------------------------------------------------


def _tidy(df: pd.DataFrame, name: str, limits: ReadLimits, notes: list[str]) -> pd.DataFrame:
    """Plain unique string column names, no all-empty rows, within the limits."""
    limits.check_columns(df.shape[1])
    if df.shape[1] == 0:
        raise DataError(f"{called(name)} has no columns. Upload a table with a header row.")
    df.columns = _unique_names(df.columns, notes)
    empty = df.isna().all(axis=1)
    if empty.any() and not empty.all():
        df = df.loc[~empty].reset_index(drop=True)
        notes.append(f"Dropped {int(empty.sum()):,} rows with no values at all.")
    if empty.all():
        raise DataError(
            f"{called(name)} has column names but no rows of data. "
            "Upload the file with its data rows, not only the header."
        )
    limits.check_rows(len(df))
    return df


def _unique_names(columns, notes: list[str]) -> list[str]:
    names, seen, renamed = [], set(), []
    for position, column in enumerate(columns, start=1):
        base = str(column).strip() if column is not None else ""
        if not base or base.lower() == "nan":
            base = f"column_{position}"
        candidate, k = base, 2
        while candidate in seen:
            candidate, k = f"{base}_{k}", k + 1
        if candidate != base:
            renamed.append(f"'{base}' -> '{candidate}'")
        seen.add(candidate)
        names.append(candidate)
    if renamed:
        notes.append("Renamed repeated column names: " + ", ".join(renamed[:10]) + ".")
    return names


def _check_unpacked(src: Source, unpacked: int, limits: ReadLimits) -> None:
    if unpacked > limits.max_unpacked_bytes:
        raise DataError(
            f"{_called(src)} unpacks to {megabytes(unpacked)}, above the "
            f"{megabytes(limits.max_unpacked_bytes)} limit for compressed files. Upload a "
            "smaller table, or raise ReadLimits.max_unpacked_bytes."
        )


def _called(src: Source) -> str:
    return called(src.name)


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]
