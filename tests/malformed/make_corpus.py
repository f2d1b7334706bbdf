"""The corpus of malformed and awkward table files, and what each must do.

Every case either loads (and then goes through infer_schema and prepare when it has a
target) or raises DataError at a named stage with a message that names the problem.
`write_corpus(folder)` writes every file; the committed copies in tests/malformed/files/
were made with

    .venv/bin/python -m tests.malformed.make_corpus

Wide files (5,000 to 25,000 columns) are written at test time: megabytes of header,
no use in git.
"""

from __future__ import annotations

import bz2
import codecs
import gzip
import io
import json
import lzma
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


def because(column, words):
    def check(df, schema):
        assert words in schema.column(column).reason, schema.column(column)

    return check


def unpacked(kind):
    def check(df, schema):
        from sattn_dash.tabular import read_info

        assert f"Unpacked from {kind}." in read_info(df).notes
        assert list(df.columns) == ["x", "colour", "target"] and len(df) == 40

    return check


def zstd(data: bytes) -> bytes:
    import zstandard

    return zstandard.ZstdCompressor().compress(data)


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
        "truncated.csv.gz",
        lambda: gzip.compress(csv_of(table(2000))())[:-40],
        "read",
        says=("gzip", "damaged", "uncompressed"),
    ),
    Case(
        "double_compressed.csv.gz.gz",
        lambda: gzip.compress(gzip.compress(csv_of(CLEAN)())),
        "read",
        says=("gzip", "unzip"),
    ),
    Case(
        "bomb.csv.gz",
        lambda: gzip.compress(b"x,target\n" + b"1,yes\n2,no\n" * 400_000),
        "read",
        says=("unpacks to more than", "max_unpacked_bytes"),
        limits={"max_unpacked_bytes": 1_000_000},
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
    Case("compressed.csv.gz", lambda: gzip.compress(csv_of(CLEAN)()), check=unpacked("gzip")),
    Case("compressed.csv.bz2", lambda: bz2.compress(csv_of(CLEAN)()), check=unpacked("bzip2")),
    Case(
        "compressed.tsv.xz", lambda: lzma.compress(csv_of(CLEAN, sep="\t")()), check=unpacked("xz")
    ),
    Case("compressed.csv.zst", lambda: zstd(csv_of(CLEAN)()), check=unpacked("zstd")),
    Case("compressed_no_suffix.gz", lambda: gzip.compress(csv_of(CLEAN)()), check=unpacked("gzip")),
    Case(
        "compressed.parquet.gz", lambda: gzip.compress(parquet_of(CLEAN)()), check=unpacked("gzip")
    ),
    Case(
        "rownames.csv",
        csv_of(
            CLEAN.rename_axis("rownames").reset_index().assign(rownames=lambda d: d.rownames + 1)
        ),
        check=all_checks(roles(rownames="identifier"), because("rownames", "1 to 40")),
    ),
    Case(
        "r_unnamed_index.csv",
        lambda: CLEAN.set_axis(range(1, 41)).to_csv().encode(),  # R's write.csv: a "" column
        check=all_checks(
            roles(**{"Unnamed: 0": "identifier"}), because("Unnamed: 0", "row number")
        ),
    ),
    Case(
        "gapped_row_numbers.csv",
        csv_of(CLEAN.assign(n=np.arange(40) * 3 + 7)[["n", "x", "colour", "target"]]),
        check=all_checks(roles(n="identifier"), because("n", "increasing order")),
    ),
    Case(
        "shuffled_ids.csv",
        csv_of(CLEAN.assign(PassengerId=np.random.default_rng(1).permutation(40) * 11 + 500)),
        check=all_checks(
            roles(PassengerId="identifier"), because("PassengerId", "named like an ID")
        ),
    ),
    Case(
        "unique_amounts.csv",
        csv_of(CLEAN.assign(amount=np.random.default_rng(2).permutation(40) * 37 + 1000)),
        check=all_checks(roles(amount="numeric"), flagged("amount", "maybe_identifier")),
    ),
    Case(
        "uuids.csv",
        csv_of(CLEAN.assign(ref=[str(__import__("uuid").UUID(int=i * 7919)) for i in range(40)])),
        check=all_checks(roles(ref="identifier"), because("ref", "different value in every row")),
    ),
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


def write_wide(folder: Path, columns: int = 5000, rows: int = 3, prefix: str = "c") -> Path:
    """A CSV with `columns` columns of seeded noise (the last is the target), written at
    test time."""
    values = np.random.default_rng(columns).normal(size=(rows, columns - 1)).round(3)
    df = pd.DataFrame(values, columns=[f"{prefix}{i}" for i in range(columns - 1)])
    df["target"] = np.arange(rows) % 2
    path = folder / f"wide_{columns}.csv"
    df.to_csv(path, index=False)
    return path


if __name__ == "__main__":
    written = write_corpus(Path(sys.argv[1]) if len(sys.argv) > 1 else FILES)
    print(f"wrote {len(written)} files")
