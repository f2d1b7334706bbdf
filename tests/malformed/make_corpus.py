"""The corpus of malformed and awkward table files, and what each must do.

Every case either loads (and then goes through infer_schema and prepare when it has a
target) or raises DataError at a named stage with a message that names the problem.
`write_corpus(folder)` writes every file; the committed copies in tests/malformed/files/
were made with

    .venv/bin/python -m tests.malformed.make_corpus

The 5,000-column file is written at test time (it is 40 KB of header and no use in git).
"""

from __future__ import annotations

import codecs
import io
import json
import pickle
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

FILES = Path(__file__).resolve().parent / "files"


@dataclass(frozen=True)
class Case:
    file: str
    content: Callable[[], bytes]
    outcome: str = "loads"  # or "read", "schema", "prepare": the stage that raises DataError
    target: str | None = "target"
    says: tuple[str, ...] = ()  # words the DataError message must contain (any case)
    limits: dict = field(default_factory=dict)  # ReadLimits fields for this case
    check: Callable | None = None  # check(df, schema) for cases that load


def text(s: str, encoding: str = "utf-8") -> Callable[[], bytes]:
    return lambda: s.encode(encoding)


def table(n: int = 40, seed: int = 0) -> pd.DataFrame:
    """A small clean table with a binary target to wrap in awkward files."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": np.round(rng.normal(size=n), 3),
            "colour": rng.choice(["red", "green", "blue"], n),
            "target": np.where(rng.random(n) < 0.5, "yes", "no"),
        }
    )


def csv_of(df: pd.DataFrame, **kw) -> Callable[[], bytes]:
    return lambda: df.to_csv(index=False, **kw).encode()


def xlsx(*sheets: tuple[str, pd.DataFrame | None]) -> Callable[[], bytes]:
    def make() -> bytes:
        from openpyxl import Workbook

        book = Workbook()
        book.remove(book.active)
        for name, df in sheets:
            sheet = book.create_sheet(name)
            if df is not None:
                sheet.append(list(df.columns))
                for row in df.itertuples(index=False):
                    sheet.append(list(row))
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()

    return make


def parquet_of(df_or_table) -> Callable[[], bytes]:
    def make() -> bytes:
        import pyarrow as pa
        import pyarrow.parquet as pq

        data = df_or_table
        if isinstance(data, pd.DataFrame):
            data = pa.Table.from_pandas(data, preserve_index=False)
        out = io.BytesIO()
        pq.write_table(data, out)
        return out.getvalue()

    return make


def cut(make: Callable[[], bytes], keep: float) -> Callable[[], bytes]:
    return lambda: make()[: int(len(make()) * keep)]


def zipped(members: dict[str, bytes]) -> Callable[[], bytes]:
    def make() -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in members.items():
                archive.writestr(name, data)
        return out.getvalue()

    return make


def xlsx_bomb() -> bytes:
    """A real workbook whose sheet XML is padded to 5 MB of spaces (compresses ~500:1)."""
    raw = xlsx(("Sheet1", table(10)))()
    src = zipfile.ZipFile(io.BytesIO(raw))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"<sheetData>", b"<sheetData>" + b" " * 5_000_000)
            archive.writestr(item.filename, data)
    return out.getvalue()


def nested_parquet():
    import pyarrow as pa

    return pa.table({"target": ["a", "b"], "tags": [[1, 2], [3]]})


# --- checks run on cases that load -----------------------------------------------------


def roles(**expected):
    def check(df, schema):
        for column, role in expected.items():
            assert schema.column(column).role.value == role, (column, schema.column(column))

    return check


def has_columns(*names):
    def check(df, schema):
        assert list(df.columns)[: len(names)] == list(names), list(df.columns)

    return check


def has_value(column, value):
    def check(df, schema):
        assert value in set(df[column]), (value, df[column].tolist()[:5])

    return check


def flagged(column, flag):
    def check(df, schema):
        assert flag in schema.column(column).flags, schema.column(column)

    return check


def all_checks(*checks):
    def check(df, schema):
        for c in checks:
            c(df, schema)

    return check


CLEAN = table()
CASES: tuple[Case, ...] = (
    # --- cannot be read at all
    Case("empty.csv", text(""), "read", says=("empty",)),
    Case("header_only.csv", text("x,colour,target\n"), "read", says=("no rows",)),
    Case("blank_lines_only.csv", text("\n\n   \n\n"), "read", says=("blank",)),
    Case("only_delimiters.csv", text(",,\n,,\n,,\n"), "read", says=("no rows",)),
    Case(
        "binary_junk.csv",
        lambda: bytes(np.random.default_rng(1).integers(0, 256, 3000, dtype=np.uint8)) + b"\x00",
        "read",
        says=("binary",),
    ),
    Case(
        "ragged_rows.csv",
        text("x,colour,target\n1,red,yes\n2,blue,no\n3,red,yes,extra\n"),
        "read",
        says=("line 4", "fields"),
    ),
    Case(
        "unclosed_quote.csv",
        text('x,colour,target\n1,"red,yes\n2,blue,no\n'),
        "read",
        says=("quote",),
    ),
    Case(
        "legacy.xls",
        lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504,
        "read",
        says=(".xls",),
    ),
    Case("excel_truncated.xlsx", cut(xlsx(("Data", CLEAN)), 0.5), "read", says=("damaged",)),
    Case("excel_empty_sheet.xlsx", xlsx(("Empty", None)), "read", says=("empty",)),
    Case(
        "excel_bomb.xlsx",
        xlsx_bomb,
        "read",
        says=("unpacks", "limit"),
        limits={"max_unpacked_bytes": 1_000_000},
    ),
    Case("truncated.parquet", cut(parquet_of(CLEAN), 0.6), "read", says=("parquet",)),
    Case("nested.parquet", parquet_of(nested_parquet()), "read", says=("nested",)),
    Case("not_tabular.json", text('{"a": {"b": [1, {"c": 2}]}}'), "read", says=("nested",)),
    Case("scalar.json", text("42"), "read", says=("not a table",)),
    Case("list_of_numbers.json", text("[1, 2, 3]"), "read", says=("not a table",)),
    Case("invalid.json", text('{"x": 1, "target": '), "read", says=("not valid json",)),
    Case(
        "bad_line.jsonl",
        text('{"x": 1, "target": "a"}\n{"x": 2, target: b}\n'),
        "read",
        says=("line 2",),
    ),
    Case(
        "ragged_columns.json",
        text('{"x": [1, 2, 3], "target": ["a", "b"]}'),
        "read",
        says=("line up",),
    ),
    Case("model.pkl", lambda: pickle.dumps({"x": [1, 2]}), "read", says=("pickle",)),
    Case("pickle_named.csv", lambda: pickle.dumps([1, 2, 3], protocol=4), "read", says=("pickle",)),
    Case(
        "compressed.csv.gz",
        lambda: __import__("gzip").compress(csv_of(CLEAN)()),
        "read",
        says=("gzip",),
    ),
    Case(
        "page.html",
        text("<!DOCTYPE html><html><body><table></table></body></html>"),
        "read",
        says=("web page",),
    ),
    Case("archive.zip", zipped({"data.csv": csv_of(CLEAN)()}), "read", says=("zip",)),
    Case(
        "too_many_rows.csv",
        csv_of(table(150)),
        "read",
        says=("rows", "limit"),
        limits={"max_rows": 100},
    ),
    Case(
        "too_big.csv", csv_of(table(150)), "read", says=("mb", "limit"), limits={"max_bytes": 1000}
    ),
    # --- read, but nothing to predict or learn from
    Case(
        "constant_target.csv",
        text("x,target\n" + "".join(f"{i},5.0\n" for i in range(30))),
        "schema",
        says=("same value",),
    ),
    Case(
        "one_class_target.csv",
        text("x,target\n" + "".join(f"{i},{'yes' if i % 3 else ''}\n" for i in range(30))),
        "schema",
        says=("same value",),
    ),
    Case(
        "target_all_missing.csv",
        text("x,target\n" + "".join(f"{i},\n" for i in range(30))),
        "schema",
        says=("no values",),
    ),
    Case(
        "date_target.csv",
        text("x,target\n" + "".join(f"{i},2020-01-{i % 28 + 1:02d}\n" for i in range(30))),
        "schema",
        says=("dates",),
    ),
    Case(
        "too_many_classes.csv",
        text("x,target\n" + "".join(f"{i},label{i % 300}\n" for i in range(600))),
        "schema",
        says=("classes",),
    ),
    Case("single_row.csv", text("x,colour,target\n1,red,yes\n"), "schema", says=("same value",)),
    Case(
        "two_rows.csv", text("x,colour,target\n1,red,yes\n2,blue,no\n"), "prepare", says=("rows",)
    ),
    Case(
        "id_only.csv",
        text("id,target\n" + "".join(f"{i},{i % 2}\n" for i in range(40))),
        "prepare",
        says=("no column",),
    ),
    Case(
        "target_only.csv",
        text("target\n" + "".join(f"{i % 2}\n" for i in range(40))),
        "prepare",
        says=("no column",),
    ),
    # --- awkward but readable: must load and prepare
    Case(
        "single_row_no_target.csv",
        text("x,colour,target\n1,red,yes\n"),
        target=None,
        check=roles(x="constant"),
    ),
    Case("wrong_extension_csv.xlsx", csv_of(CLEAN)),
    Case("wrong_extension_xlsx.csv", xlsx(("Data", CLEAN))),
    Case("wrong_extension_parquet.json", parquet_of(CLEAN)),
    Case("no_extension", csv_of(CLEAN)),
    Case(
        "short_rows.csv",
        text(
            "x,colour,target\n"
            + "".join(
                f"{i},red,{'yes' if i % 2 else 'no'}\n" if i % 5 else f"{i}\n" for i in range(40)
            )
        ),
        target=None,
        check=lambda df, s: df["target"].isna().sum() == 8,
    ),
    Case(
        "duplicate_columns.csv",
        text(
            "x,x,colour,target\n"
            + "".join(f"{i % 9},{i % 4},red,{'yes' if i % 2 else 'no'}\n" for i in range(40))
        ),
        check=has_columns("x", "x.1", "colour", "target"),
    ),
    Case(
        "all_missing_column.csv",
        text(
            "x,empty,target\n"
            + "".join(f"{i % 9},,{'yes' if i % 2 else 'no'}\n" for i in range(40))
        ),
        check=roles(empty="constant"),
    ),
    Case(
        "inf_values.csv",
        text(
            "x,target\n"
            + "".join(
                f"{['inf', '-inf', '1e400', str(i)][i % 4]},{'yes' if i % 3 else 'no'}\n"
                for i in range(40)
            )
        ),
        check=flagged("x", "not_finite"),
    ),
    Case(
        "mixed_type_column.csv",
        text(
            "x,target\n"
            + "".join(
                f"{'?' if i == 7 else 'n/a' if i == 9 else i},{'yes' if i % 2 else 'no'}\n"
                for i in range(60)
            )
        ),
        check=all_checks(roles(x="numeric"), flagged("x", "coerced_numeric")),
    ),
    Case(
        "mixed_words_numbers.csv",
        text(
            "x,target\n"
            + "".join(
                f"{i if i % 2 else 'word' + str(i % 7)},{'yes' if i % 3 else 'no'}\n"
                for i in range(60)
            )
        ),
        check=roles(x="categorical"),
    ),
    Case(
        "long_strings.csv",
        text(
            "x,note,target\n"
            + "".join(
                f'{i % 9},"{f"word{i} " * 1000}",{"yes" if i % 2 else "no"}\n' for i in range(20)
            )
        ),
        check=roles(note="text"),
    ),
    Case(
        "latin1.csv",
        text(
            "x;ville;target\n"
            + "".join(
                f"{i % 9};{['Besançon', 'Orléans', 'Nîmes'][i % 3]};{'oui' if i % 2 else 'non'}\n"
                for i in range(40)
            ),
            "latin-1",
        ),
        check=has_value("ville", "Besançon"),
    ),
    Case(
        "cp1252.csv",
        text(
            "x,price,target\n"
            + "".join(f"{i % 9},{i}€,{'yes' if i % 2 else 'no'}\n" for i in range(40)),
            "cp1252",
        ),
        check=has_value("price", "3€"),
    ),
    Case(
        "late_non_utf8.csv",
        lambda: ("x,colour,target\n" + "1,red,yes\n2,blue,no\n" * 4000 + "3,café,yes\n").encode(
            "cp1252"
        ),
        check=has_value("colour", "café"),
    ),
    Case(
        "utf8_bom.csv",
        lambda: codecs.BOM_UTF8 + csv_of(CLEAN)(),
        check=has_columns("x", "colour", "target"),
    ),
    Case(
        "utf16.tsv",
        lambda: CLEAN.to_csv(index=False, sep="\t").encode("utf-16"),
        check=has_columns("x", "colour", "target"),
    ),
    Case(
        "decimal_comma.csv",
        text(
            "x;y;target\n"
            + "".join(f"{i},5;{i}.{i:03d},25;{'ja' if i % 2 else 'nein'}\n" for i in range(1, 40))
        ),
        check=all_checks(roles(x="numeric", y="numeric"), has_value("x", 3.5)),
    ),
    Case(
        "whitespace_delimited.txt",
        text(
            "x colour target\n"
            + "".join(f"{i % 9} red {'yes' if i % 2 else 'no'}\n" for i in range(40))
        ),
    ),
    Case(
        "numeric_header.csv",
        text(
            "1,2,target\n" + "".join(f"{i},{i % 3},{'yes' if i % 2 else 'no'}\n" for i in range(40))
        ),
        check=has_columns("1", "2", "target"),
    ),
    Case(
        "blank_header_cells.csv",
        text(
            ",b,target,\n"
            + "".join(f"{i},{i % 3},{'yes' if i % 2 else 'no'},\n" for i in range(40))
        ),
    ),
    Case(
        "mixed_date_formats.csv",
        text(
            "when,target\n"
            + "".join(
                f"{[f'2021-03-{i % 28 + 1:02d}', f'{i % 28 + 1:02d} Mar 2021'][i % 2]},"
                f"{'yes' if i % 3 else 'no'}\n"
                for i in range(40)
            )
        ),
        check=roles(when="datetime"),
    ),
    Case(
        "tiny_class.csv",
        text(
            "x,target\n"
            + "".join(f"{i % 9},{'rare' if i == 0 else ['a', 'b'][i % 2]}\n" for i in range(40))
        ),
    ),
    Case(
        "records_nested.json",
        text(
            json.dumps(
                [{"x": i % 9, "meta": {"colour": "red"}, "target": i % 2} for i in range(40)]
            )
        ),
        check=has_columns("x", "target", "meta.colour"),
    ),
    Case(
        "columns.json",
        text(json.dumps({"x": [i % 9 for i in range(40)], "target": [i % 2 for i in range(40)]})),
    ),
    Case(
        "records.jsonl",
        text("".join(json.dumps({"x": i % 9, "target": i % 2}) + "\n" for i in range(40))),
    ),
    Case(
        "jsonl_named.json",
        text("".join(json.dumps({"x": i % 9, "target": i % 2}) + "\n" for i in range(40))),
    ),
    Case("excel_empty_first_sheet.xlsx", xlsx(("Cover", None), ("Data", CLEAN))),
    Case(
        "excel_formula_errors.xlsx",
        xlsx(
            (
                "Data",
                pd.DataFrame(
                    {
                        "x": [i if i % 13 else "#DIV/0!" for i in range(60)],
                        "target": ["yes" if i % 2 else "no" for i in range(60)],
                    }
                ),
            )
        ),
        check=roles(x="numeric"),
    ),
    Case(
        "leaky_column.csv",
        text(
            "x,leak,target\n"
            + "".join(
                f"{i % 7},{'Y' if i % 2 else 'N'},{'yes' if i % 2 else 'no'}\n" for i in range(60)
            )
        ),
        check=flagged("leak", "possible_leakage"),
    ),
)


def write_corpus(folder: Path = FILES) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for case in CASES:
        path = folder / case.file
        path.write_bytes(case.content())
        paths.append(path)
    return paths


def write_wide(folder: Path, columns: int = 5000, rows: int = 3) -> Path:
    """A CSV with `columns` columns (the last is the target), written at test time."""
    header = ",".join([f"c{i}" for i in range(columns - 1)] + ["target"])
    lines = [
        ",".join(str((r * 7 + i * 3) % 10) for i in range(columns - 1)) + f",{r % 2}"
        for r in range(rows)
    ]
    path = folder / f"wide_{columns}.csv"
    path.write_text("\n".join([header, *lines]) + "\n")
    return path


if __name__ == "__main__":
    written = write_corpus(Path(sys.argv[1]) if len(sys.argv) > 1 else FILES)
    print(f"wrote {len(written)} files")
