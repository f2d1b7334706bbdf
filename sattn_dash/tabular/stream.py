"""Tables larger than memory: read in record batches, split by a hash of each row.

`TableStream` reads a set of Parquet files (pyarrow `iter_batches`) or CSV files
(pandas chunks, compressed too) a batch at a time, so one pass holds one batch. The
split of a row is a function of its position in the table and the seed
(`split_codes`), so every pass, the baselines and a rerun put each row in the same
split without storing anything per row.

`prepare_stream` infers the schema and fits the preprocessing on a bounded, seeded
sample (`SAMPLE_ROWS`), then replaces what is cheap to know exactly with one more pass
over the training rows: the row counts per split, the class counts, and the numeric
columns' means and standard deviations. The result carries a `PreparedData` of the
sample (what model building, spec checks and the analysis pages read) beside the stream
that training and evaluation iterate (`StreamedData.batches`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from sattn_dash.errors import DataError
from sattn_dash.tabular.paths import is_table_file
from sattn_dash.tabular.prepared import SPLITS, PreparedData
from sattn_dash.tabular.schema import Schema
from sattn_dash.tabular.source import megabytes

SAMPLE_ROWS = 200_000  # rows read into memory to infer the schema and fit the preprocessing
BATCH_ROWS = 65_536  # rows per record batch read from disk
SPLIT_CODES = {"train": 0, "val": 1, "test": 2}
MEMORY_SHARE = 0.25  # tables whose working set needs more than this share of RAM stream
MEMORY_BUDGET_ENV = "SATTN_DASH_MEMORY_BUDGET_MB"
BYTES_PER_CELL = 40  # pandas frame + float32 splits + transformed copies, per cell
CSV_GROWTH = 50  # most memory a CSV byte (compressed) can take once read and prepared
SMALL_CSV_BYTES = 8e6  # CSV this small has too few rows to stream: not even counted


# --- the split as a function of the row ---------------------------------------------


def _mix(values: np.ndarray) -> np.ndarray:
    """splitmix64: a fast, well-spread 64-bit hash of each value."""
    z = values.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def row_uniform(positions: np.ndarray, seed: int, salt: int = 0) -> np.ndarray:
    """A number in [0, 1) per row position, the same for the same (position, seed, salt)."""
    with np.errstate(over="ignore"):
        key = _mix(np.asarray([seed * 1_000_003 + salt], dtype=np.uint64))[0]
        hashed = _mix(np.asarray(positions, dtype=np.uint64) ^ key)
    return (hashed >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def split_codes(positions: np.ndarray, seed: int, test_size: float, val_size: float):
    """0 (train), 1 (validation) or 2 (test) per row position: `test_size` and
    `val_size` are the expected shares, as in `prepare`."""
    u = row_uniform(positions, seed)
    return np.where(u < test_size, 2, np.where(u < test_size + val_size, 1, 0)).astype(np.int8)


# --- reading in batches --------------------------------------------------------------


@dataclass(frozen=True)
class TableStream:
    """Parquet or CSV files read as one table, a record batch at a time."""

    files: tuple[Path, ...]
    n_rows: int
    columns: tuple[str, ...]

    @classmethod
    def open(cls, files) -> TableStream:
        files = tuple(Path(f) for f in files)
        if not files:
            raise DataError("No files to read. Choose a Parquet or CSV file or folder.")
        if all(_is_parquet(f) for f in files):
            import pyarrow.parquet as pq

            metas = [pq.ParquetFile(f) for f in files]
            columns = tuple(metas[0].schema_arrow.names)
            for f, meta in zip(files, metas, strict=True):
                if tuple(meta.schema_arrow.names) != columns:
                    raise DataError(
                        f"'{f.name}' does not have the columns of '{files[0].name}'. Every "
                        "file of one table needs the same columns: pick files that match."
                    )
            return cls(files, sum(m.metadata.num_rows for m in metas), columns)
        stream = cls(files, 0, ())
        first = next(stream._csv_chunks(files[0], None, 100))
        n_rows = sum(len(chunk) for f in files for chunk in stream._csv_chunks(f, [0], BATCH_ROWS))
        return cls(files, n_rows, tuple(first.columns))

    def batches(
        self, columns=None, batch_rows: int = BATCH_ROWS
    ) -> Iterator[tuple[int, pd.DataFrame]]:
        """(position of the first row, frame) per record batch, in table order."""
        start = 0
        for f in self.files:
            chunks = (
                self._parquet_chunks(f, columns, batch_rows)
                if _is_parquet(f)
                else self._csv_chunks(f, columns, batch_rows)
            )
            for chunk in chunks:
                chunk.index = pd.RangeIndex(start, start + len(chunk))
                yield start, chunk
                start += len(chunk)

    @staticmethod
    def _parquet_chunks(path: Path, columns, batch_rows: int) -> Iterator[pd.DataFrame]:
        import pyarrow.parquet as pq

        # pre_buffer keeps every column chunk read so far: memory would grow with the file.
        parquet = pq.ParquetFile(path, pre_buffer=False)
        for batch in parquet.iter_batches(batch_size=batch_rows, columns=columns):
            yield batch.to_pandas(date_as_object=False)

    @staticmethod
    def _csv_chunks(path: Path, columns, batch_rows: int) -> Iterator[pd.DataFrame]:
        from sattn_dash.tabular.sniff import SAMPLE_BYTES, sniff_dialect
        from sattn_dash.tabular.source import open_source

        src = open_source(path, None, 1 << 62)
        dialect = sniff_dialect(src.head(SAMPLE_BYTES), complete=False)
        with pd.read_csv(
            src.open(),
            sep=dialect.delimiter,
            decimal=dialect.decimal,
            thousands=dialect.thousands,
            encoding=dialect.encoding,
            usecols=columns,
            chunksize=batch_rows,
        ) as reader:
            yield from reader

    def sample(self, n: int, seed: int) -> pd.DataFrame:
        """About `n` rows chosen by a seeded hash of their position (all rows when the
        table has fewer), indexed by position: one pass, one batch in memory at a time."""
        share = min(1.0, n / max(self.n_rows, 1))
        parts = []
        for start, chunk in self.batches():
            keep = row_uniform(np.arange(start, start + len(chunk)), seed, salt=1) < share
            parts.append(chunk[keep])
        return pd.concat(parts).iloc[: int(n * 1.1) + 1]

    def memory_estimate(self) -> int:
        """Bytes the in-memory path would need for this table (a rough upper figure)."""
        return self.n_rows * max(len(self.columns), 1) * BYTES_PER_CELL


def _is_parquet(path: Path) -> bool:
    return path.suffix.lower() in (".parquet", ".pq")


def memory_budget() -> int:
    """Bytes a table may take in memory before it streams: `SATTN_DASH_MEMORY_BUDGET_MB`
    when whoever runs the server or the CLI sets it, else a share of physical memory."""
    value = os.environ.get(MEMORY_BUDGET_ENV, "").strip()
    if value:
        try:
            return int(float(value) * 1e6)
        except ValueError:
            raise DataError(
                f"{MEMORY_BUDGET_ENV} is {value!r}; set it to a number of megabytes, like 4000."
            ) from None
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        physical = 8 << 30
    return int(physical * MEMORY_SHARE)


def should_stream(
    stream: TableStream, budget: int | None = None, max_rows: int | None = None
) -> tuple[bool, str]:
    """Whether to stream `stream`, and why, in words shown to the user: when holding it
    would take more than `budget` bytes (a share of this machine's memory) or it has more
    rows than a table read into memory may have (`ReadLimits.max_rows`)."""
    from sattn_dash.tabular.read import ReadLimits

    budget = budget if budget is not None else memory_budget()
    max_rows = max_rows if max_rows is not None else ReadLimits().max_rows
    need = stream.memory_estimate()
    size = f"{stream.n_rows:,} rows × {len(stream.columns)} columns"
    reading = "training reads record batches from disk"
    if need > budget:
        return True, (
            f"Streaming: {size} would need about {megabytes(need)} in memory, more than "
            f"the {megabytes(budget)} budget; {reading}."
        )
    if stream.n_rows > max_rows:
        return True, (
            f"Streaming: {size} are more than the {max_rows:,} rows read into memory; {reading}."
        )
    return False, f"In memory: {size} fit in about {megabytes(need)}."


def table_stream(
    files, mode: str = "auto", budget: int | None = None
) -> tuple[TableStream | None, str]:
    """The files as a `TableStream` when they are to be streamed, else None; and why.
    `mode` "auto" decides by size (`should_stream`), "always" streams any Parquet/CSV
    table, "never" reads it into memory. Small CSV files are not even opened (counting
    their rows would take a pass): they are read into memory."""
    files = [Path(f) for f in files]
    if mode == "never":
        return None, "In memory: streaming is switched off."
    if not all(map(is_table_file, files)):  # Parquet or delimited text, compressed or not
        if mode == "always":
            raise DataError(
                "Only Parquet and CSV files (also compressed) can be streamed. Convert the "
                "table to Parquet, or read it into memory."
            )
        return None, "In memory: only Parquet and CSV files are streamed."
    budget = budget if budget is not None else memory_budget()
    on_disk = sum(f.stat().st_size for f in files)
    small = min(budget / CSV_GROWTH, SMALL_CSV_BYTES)
    if mode == "auto" and not all(map(_is_parquet, files)) and on_disk < small:
        return None, f"In memory: {megabytes(on_disk)} of CSV fit in memory."
    stream = TableStream.open(files)
    streams, why = should_stream(stream, budget)
    if mode == "always" and not streams:
        return stream, f"Streaming (asked for): {stream.n_rows:,} rows read in record batches."
    return (stream if streams else None), why


@dataclass(frozen=True)
class LoadedTable:
    """A table as the pages get it: the frame they show (the whole table, or a seeded
    sample of a streamed one), the stream when it streams, and why (or "")."""

    df: pd.DataFrame
    stream: TableStream | None
    why: str


def read_path_table(text: str, root: Path | None, *, guarded: bool = True) -> LoadedTable:
    """The table at `text` (see `paths.find_table_files`), streamed when it would not
    fit in memory: then the frame is a seeded sample of `SAMPLE_ROWS` rows, indexed by
    position in the table, for the profile, the schema and the analysis pages."""
    from sattn_dash.tabular.paths import find_table_files, read_table_files
    from sattn_dash.tabular.read import READ_INFO_KEY, ReadInfo

    files = find_table_files(text, root, guarded=guarded)
    stream, why = table_stream(files)
    if stream is None:
        return LoadedTable(read_table_files(files, text), None, why)
    df = stream.sample(SAMPLE_ROWS, seed=0)
    kind = "parquet" if all(map(_is_parquet, stream.files)) else "csv"
    note = f"A seeded sample of {len(df):,} of its {stream.n_rows:,} rows is shown and profiled."
    df.attrs = {READ_INFO_KEY: ReadInfo(text, kind, notes=(note,))}
    return LoadedTable(df, stream, why)


# --- preparing a stream --------------------------------------------------------------


@dataclass(frozen=True)
class StreamedData:
    """A table to train on in record batches: the sample's `PreparedData` (its
    transformer, names and tasks are the model's), the stream, and exact counts."""

    prepared: PreparedData
    stream: TableStream
    rows: dict[str, int]
    test_size: float
    val_size: float
    chunk_rows: dict[str, tuple[int, ...]] = field(default_factory=dict)  # per record batch

    def steps(self, split: str, batch_size: int) -> int:
        """Batches in one pass over a split (each record batch ends in a short one)."""
        return sum(-(-n // batch_size) for n in self.chunk_rows.get(split, ()))

    @property
    def seed(self) -> int:
        return self.prepared.seed

    def record(self) -> dict:
        """The stream as JSON, kept with a run: what `reopen` needs to read it again."""
        return {
            "files": [str(f) for f in self.stream.files],
            "bytes": [f.stat().st_size for f in self.stream.files],
            "columns": list(self.stream.columns),
            "n_rows": self.stream.n_rows,
            "rows": dict(self.rows),
            "chunk_rows": {split: list(counts) for split, counts in self.chunk_rows.items()},
            "test_size": self.test_size,
            "val_size": self.val_size,
        }

    @classmethod
    def reopen(cls, record: dict, prepared: PreparedData, files=None) -> StreamedData:
        """The stream a run recorded, with the run's stored preprocessing; `files` where
        they have moved (the same files, in the same order). `DataError` when a file is
        gone or changed (the run would no longer read the same rows)."""
        files = tuple(Path(f) for f in (files or record["files"]))
        if len(files) != len(record["bytes"]):
            raise DataError(
                f"The run streamed {len(record['bytes'])} file(s); {len(files)} were given. "
                "Point at the folder or pattern that holds exactly the run's files."
            )
        for path, size in zip(files, record["bytes"], strict=True):
            if not path.is_file():
                raise DataError(
                    f"{path}, one of the files this run streams from, is gone. Put it back "
                    "to resume the run, or train a new run."
                )
            if path.stat().st_size != size:
                raise DataError(
                    f"{path} has changed since the run started, so a resumed run would not "
                    "read the same rows. Put the original file back, or train a new run."
                )
        stream = TableStream(files, record["n_rows"], tuple(record["columns"]))
        chunk_rows = {split: tuple(c) for split, c in record["chunk_rows"].items()}
        return cls(
            prepared,
            stream,
            dict(record["rows"]),
            record["test_size"],
            record["val_size"],
            chunk_rows,
        )

    def chunks(
        self, split: str, *, shuffle_seed: int | None = None
    ) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
        """(X float32, {target: values}) of one split, one record batch at a time. With
        `shuffle_seed`, rows are shuffled within each record batch and the record
        batches are visited in a seeded order (a window of a few at a time)."""
        from sattn_dash.tabular.prepare import encode_target, typed_codes

        schema, prepared = self.prepared.schema, self.prepared
        needed = list(schema.feature_columns) + prepared.target_names
        code = SPLIT_CODES[split]
        chunks = self.stream.batches(needed)
        if shuffle_seed is not None:
            chunks = _seeded_order(chunks, shuffle_seed)
        for start, chunk in chunks:
            positions = np.arange(start, start + len(chunk))
            keep = split_codes(positions, self.seed, self.test_size, self.val_size) == code
            codes = {t.name: encode_target(chunk[t.name], t) for t in schema.targets}
            for c in codes.values():
                keep &= ~np.isnan(c)
            if not keep.any():
                continue
            part = chunk[keep]
            X = prepared.transform(part).to_numpy(dtype=np.float32)
            y = {t.name: typed_codes(codes[t.name][keep], t) for t in schema.targets}
            if shuffle_seed is not None:
                order = np.random.default_rng([shuffle_seed, start]).permutation(len(X))
                X, y = X[order], {t: v[order] for t, v in y.items()}
            yield X, y


def _seeded_order(chunks, seed: int):
    """Record batches in a seeded order, holding a window of a few at a time."""
    rng = np.random.default_rng(seed)
    window: list = []
    for item in chunks:
        window.append(item)
        if len(window) == 8:
            yield window.pop(int(rng.integers(len(window))))
    while window:
        yield window.pop(int(rng.integers(len(window))))


def prepare_stream(
    stream: TableStream,
    targets=None,
    seed: int = 0,
    test_size: float = 0.2,
    val_size: float = 0.2,
    *,
    schema: Schema | None = None,
    sample: pd.DataFrame | None = None,
    options=None,
    sample_rows: int = SAMPLE_ROWS,
    roles=None,
    tasks=None,
    groups=None,
) -> StreamedData:
    """Schema and preprocessing from a seeded sample, exact counts and numeric scaling
    from one streaming pass over the training rows. `schema` (else inferred from the
    sample for `targets`) and `sample` (rows indexed by table position, as
    `TableStream.sample` gives them) are the caller's when it already has them. The
    sample keeps each row's split in the table, so its test rows are held out too.
    Raises `DataError` as `prepare` does."""
    from sattn_dash.tabular import prepare
    from sattn_dash.tabular.infer import infer_schema

    if sample is None:
        sample = stream.sample(sample_rows, seed)
    sample = sample.copy()
    sample.attrs = {}
    if schema is None:
        schema = infer_schema(sample, targets=targets, tasks=tasks, groups=groups, roles=roles)
    split = split_codes(sample.index.to_numpy(), seed, test_size, val_size)
    prepared = prepare(
        sample,
        schema,
        seed=seed,
        test_size=test_size,
        val_size=val_size,
        options=options,
        split=split,
    )
    streamed = StreamedData(prepared, stream, {}, test_size, val_size)
    return _exact_statistics(streamed, schema)


def _exact_statistics(streamed: StreamedData, schema: Schema) -> StreamedData:
    """One pass: rows per split, class counts and numeric mean/std on the training rows,
    written into the sample's fitted scaler and targets."""
    from sattn_dash.tabular import encode_target
    from sattn_dash.tabular.coerce import as_numeric

    scaler, numeric = _numeric_scaler(streamed.prepared.transformer)
    per_chunk: dict[str, list[int]] = {s: [] for s in SPLITS}
    sums = np.zeros(len(numeric)), np.zeros(len(numeric)), np.zeros(len(numeric))
    target_sums = {t.name: np.zeros(3) for t in schema.targets if t.task == "regression"}
    class_counts = {t.name: np.zeros(len(t.classes)) for t in schema.targets if t.classes}
    needed = list(dict.fromkeys([*numeric, *schema.target_names]))
    for start, chunk in streamed.stream.batches(needed):
        codes = split_codes(
            np.arange(start, start + len(chunk)),
            streamed.seed,
            streamed.test_size,
            streamed.val_size,
        )
        targets = {t.name: encode_target(chunk[t.name], t) for t in schema.targets}
        usable = np.logical_and.reduce([~np.isnan(c) for c in targets.values()])
        for split, code in SPLIT_CODES.items():
            per_chunk[split].append(int((usable & (codes == code)).sum()))
        train = usable & (codes == 0)
        if numeric:
            values = np.column_stack([as_numeric(chunk[c]).to_numpy() for c in numeric])[train]
            present = ~np.isnan(values)
            sums[0].__iadd__(present.sum(0))
            sums[1].__iadd__(np.where(present, values, 0).sum(0))
            sums[2].__iadd__(np.where(present, values * values, 0).sum(0))
        for name, acc in target_sums.items():
            y = targets[name][train]
            acc += (len(y), y.sum(), (y * y).sum())
        for name, acc in class_counts.items():
            acc += np.bincount(targets[name][train].astype(np.int64), minlength=len(acc))
    rows = {split: sum(counts) for split, counts in per_chunk.items()}
    if rows["train"] == 0:
        raise DataError(
            "No row of the table lands in the training split (or none has every target). "
            "Check the target columns, or use a larger table."
        )
    if scaler is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = sums[1] / sums[0]
            var = np.maximum(sums[2] / sums[0] - mean * mean, 0.0)
        known = sums[0] > 0
        scaler.mean_ = np.where(known, mean, scaler.mean_)
        scaler.var_ = np.where(known, var, scaler.var_)
        scaler.scale_ = np.where(scaler.var_ > 0, np.sqrt(scaler.var_), 1.0)
        scaler.n_samples_seen_ = sums[0].astype(np.int64)
    stats = dict(streamed.prepared.target_stats)
    for name, (n, total, squares) in target_sums.items():
        mean = total / n
        std = float(np.sqrt(max(squares / n - mean * mean, 0.0)))
        stats[name] = (float(mean), std if std > 0 else 1.0)
    note = (
        f"Streamed {streamed.stream.n_rows:,} rows in record batches; the schema and "
        f"preprocessing come from a seeded sample of {len(streamed.prepared.X_train) + len(streamed.prepared.X_val) + len(streamed.prepared.X_test):,} "
        "rows, the counts and numeric scaling from every training row."
    )
    prepared = replace(
        streamed.prepared, target_stats=stats, notes=(note, *streamed.prepared.notes)
    )
    chunk_rows = {split: tuple(counts) for split, counts in per_chunk.items()}
    return replace(streamed, prepared=prepared, rows=rows, chunk_rows=chunk_rows)


def _numeric_scaler(transformer):
    """The fitted StandardScaler of the numeric pipeline and its source columns."""
    named = getattr(transformer, "named_transformers_", {})
    if "numeric" not in named:
        return None, []
    columns = next(cols for kind, _, cols in transformer.transformers_ if kind == "numeric")
    scaler = next(
        (step for _, step in named["numeric"].steps if type(step).__name__ == "StandardScaler"),
        None,
    )
    return scaler, list(columns) if scaler is not None else []
