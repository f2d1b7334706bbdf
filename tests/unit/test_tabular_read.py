"""read_table on every format, encoding and delimiter it promises, from paths, bytes and
Streamlit's own UploadedFile."""

import io
import json
import warnings

import numpy as np
import pandas as pd
import pytest

from sattn_dash.errors import DataError
from sattn_dash.tabular import ReadLimits, list_sheets, read_info, read_table

FRAME = pd.DataFrame(
    {
        "age": [31, 45, 27, 60],
        "income": [1200.5, 3400.25, np.nan, 5100.0],
        "city": ["Oslo", "Zürich", "Kraków", "Oslo"],
        "joined": pd.to_datetime(["2020-01-05", "2021-06-30", "2019-11-11", "2022-02-01"]),
        "target": ["yes", "no", "yes", "no"],
    }
)


def assert_same(df: pd.DataFrame) -> None:
    assert list(df.columns) == list(FRAME.columns)
    assert df["age"].tolist() == [31, 45, 27, 60]
    assert df["income"].iloc[[0, 1, 3]].tolist() == [1200.5, 3400.25, 5100.0]
    assert pd.isna(df["income"].iloc[2])
    assert df["city"].tolist() == ["Oslo", "Zürich", "Kraków", "Oslo"]
    assert pd.to_datetime(df["joined"]).tolist() == FRAME["joined"].tolist()


@pytest.mark.parametrize(
    "name, sep, what",
    [("t.csv", ",", "','"), ("t.csv", ";", "';'"), ("t.tsv", "\t", "tab"), ("t.txt", "|", "'|'")],
)
def test_delimiters_are_detected(tmp_path, name, sep, what):
    path = tmp_path / name
    FRAME.to_csv(path, sep=sep, index=False)
    df = read_table(path)
    assert_same(df)
    info = read_info(df)
    assert info.format == "csv" and what in info.describe()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16"])
def test_encodings_are_detected(tmp_path, encoding):
    frame = FRAME.assign(city=["Oslo", "Zürich", "Besançon", "Orléans"])
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False, encoding=encoding)
    df = read_table(path)
    assert df.columns[0] == "age"  # no byte-order mark left in the first name
    assert df["city"].tolist() == ["Oslo", "Zürich", "Besançon", "Orléans"]


def test_cp1252_only_characters_read_right():
    raw = "item;price\nbook;12€\ncoffee;3€\n".encode("cp1252")
    df = read_table(raw, "prices.csv")
    assert df["price"].tolist() == ["12€", "3€"]
    assert read_info(df).encoding == "cp1252"


def test_non_utf8_far_into_the_file_falls_back_with_a_note():
    raw = ("a,b\n" + "1,x\n" * 30000 + "2,façade\n").encode("cp1252")
    df = read_table(raw, "late.csv")
    assert df["b"].iloc[-1] == "façade"
    assert any("not valid UTF-8" in n for n in read_info(df).notes)


def test_decimal_commas_and_dot_thousands():
    raw = b"name;weight;price\na;1,5;1.234,50\nb;2,25;99,00\nc;-0,75;12.000,00\n"
    df = read_table(raw, "eu.csv")
    assert df["weight"].tolist() == [1.5, 2.25, -0.75]
    assert df["price"].tolist() == [1234.5, 99.0, 12000.0]
    assert read_info(df).decimal == ","
    assert "decimal comma" in read_info(df).describe()


def test_dot_decimals_with_semicolons_stay_dot_decimals():
    df = read_table(b"a;b\n1.5;x\n2.25;y\n", "t.csv")
    assert df["a"].tolist() == [1.5, 2.25]


def test_spaces_after_commas_and_whitespace_tables():
    df = read_table(b"a, b, c\n1, x, 2.5\n3, y, 4.5\n", "t.csv")
    assert list(df.columns) == ["a", "b", "c"] and df["b"].tolist() == ["x", "y"]
    df = read_table(b"a  b   c\n1  2   3\n4  5   6\n", "t.txt")
    assert df.shape == (2, 3) and df["c"].tolist() == [3, 6]


def test_quoted_fields_with_delimiters_and_newlines():
    raw = b'id,comment,score\n1,"fine, thanks",3\n2,"two\nlines",4\n'
    df = read_table(raw, "t.csv")
    assert df["comment"].tolist() == ["fine, thanks", "two\nlines"]


def test_parquet(tmp_path):
    path = tmp_path / "t.parquet"
    FRAME.to_parquet(path, index=False)
    df = read_table(path)
    assert_same(df)
    assert read_info(df).format == "parquet"


def test_parquet_index_becomes_a_column(tmp_path):
    path = tmp_path / "t.parquet"
    FRAME.set_index("city").to_parquet(path)
    df = read_table(path)
    assert "city" in df.columns and isinstance(df.index, pd.RangeIndex)


def test_excel_sheets_first_by_default_and_by_choice(tmp_path):
    path = tmp_path / "t.xlsx"
    with pd.ExcelWriter(path) as writer:
        FRAME.to_excel(writer, sheet_name="Customers", index=False)
        pd.DataFrame({"k": [1, 2]}).to_excel(writer, sheet_name="Other", index=False)
    assert list_sheets(path) == ["Customers", "Other"]
    df = read_table(path)
    assert_same(df)
    assert read_info(df).sheet == "Customers"
    assert read_table(path, sheet="Other")["k"].tolist() == [1, 2]
    assert read_table(path, sheet=1)["k"].tolist() == [1, 2]
    with pytest.raises(DataError, match="no sheet 'Missing'.*Customers, Other"):
        read_table(path, sheet="Missing")


def test_list_sheets_is_empty_for_non_excel(tmp_path):
    assert list_sheets(b"a,b\n1,2\n", "t.csv") == []


@pytest.mark.parametrize("orient", ["records", "columns", "split", "table", "values_with_header"])
def test_json_shapes(orient):
    frame = FRAME.drop(columns="joined")
    if orient == "values_with_header":
        raw = json.dumps(
            [list(frame.columns)] + frame.astype(object).where(frame.notna(), None).values.tolist()
        )
    else:
        raw = frame.to_json(orient=orient)
    df = read_table(raw.encode(), "t.json")
    assert list(df.columns) == list(frame.columns)
    assert df["city"].tolist() == frame["city"].tolist()
    assert df["age"].astype(int).tolist() == frame["age"].tolist()


def test_json_lines_by_name_and_by_content():
    raw = FRAME.drop(columns="joined").to_json(orient="records", lines=True).encode()
    for name in ("t.jsonl", "t.ndjson", "t.json"):
        df = read_table(raw, name)
        assert df["city"].tolist() == FRAME["city"].tolist()
        assert read_info(df).format == "jsonl"


def test_nested_records_are_flattened():
    raw = json.dumps([{"id": 1, "address": {"city": "Oslo", "zip": "0150"}}]).encode()
    assert list(read_table(raw, "t.json").columns) == ["id", "address.city", "address.zip"]


def test_streamlit_uploaded_file_is_read_and_left_rewound():
    from streamlit.proto.Common_pb2 import FileURLs
    from streamlit.runtime.uploaded_file_manager import UploadedFile, UploadedFileRec

    data = FRAME.to_csv(index=False).encode()
    upload = UploadedFile(UploadedFileRec("f1", "folder/sales.csv", "text/csv", data), FileURLs())
    df = read_table(upload)
    assert_same(df)
    assert read_info(df).name == "sales.csv"
    assert upload.tell() == 0 and upload.read() == data


def test_file_objects_without_a_name_use_the_given_name_or_the_content():
    data = FRAME.to_csv(index=False).encode()
    assert_same(read_table(io.BytesIO(data), "upload.csv"))
    assert_same(read_table(io.BytesIO(data)))
    assert_same(read_table(io.StringIO(data.decode())))


def test_content_wins_over_a_wrong_extension(tmp_path):
    path = tmp_path / "actually_parquet.csv"
    FRAME.to_parquet(path, index=False)
    df = read_table(path)
    assert_same(df)
    assert read_info(df).format == "parquet"
    assert "named .csv but holds a Parquet file" in read_info(df).notes[0]


def test_limits_are_checked_with_clear_messages(tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame({"a": range(500), "b": range(500)}).to_csv(path, index=False)
    with pytest.raises(DataError, match="more than 100 rows.*max_rows"):
        read_table(path, limits=ReadLimits(max_rows=100))
    with pytest.raises(DataError, match="2 columns, more than the limit of 1.*max_columns"):
        read_table(path, limits=ReadLimits(max_columns=1))
    with pytest.raises(DataError, match="above the 0.0 MB limit.*max_bytes"):
        read_table(path, limits=ReadLimits(max_bytes=10))
    with pytest.raises(DataError, match="larger than"):
        read_table(io.BytesIO(path.read_bytes()), limits=ReadLimits(max_bytes=10))
    assert ReadLimits() == ReadLimits(200_000_000, 2_000_000, 20_000, 1_000_000_000)


def test_missing_paths_and_folders(tmp_path):
    with pytest.raises(DataError, match="no file at"):
        read_table(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="is a folder"):
        read_table(tmp_path)
    with pytest.raises(DataError, match="Cannot read a table from a int"):
        read_table(42)


def test_repeated_blank_and_numeric_names_become_unique_text(tmp_path):
    path = tmp_path / "t.xlsx"
    pd.DataFrame([[1, 2, 3, 4]], columns=["a", "a ", "", 7]).to_excel(path, index=False)
    df = read_table(path)
    assert list(df.columns) == ["a", "a_2", "Unnamed: 2", "7"]
    assert any("Renamed repeated column names" in n for n in read_info(df).notes)


def test_rows_with_no_values_are_dropped_and_counted():
    df = read_table(b"a,b\n1,2\n,\n3,4\n,\n", "t.csv")
    assert df["a"].tolist() == [1, 3]
    assert "Dropped 2 rows" in read_info(df).notes[0]


def test_mixed_column_chunks_do_not_warn(tmp_path):
    path = tmp_path / "t.csv"
    values = [str(i) for i in range(300_000)] + ["x"]
    pd.DataFrame({"v": values}).to_csv(path, index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        df = read_table(path)
    assert len(df) == 300_001
