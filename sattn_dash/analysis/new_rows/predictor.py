"""What does a trained run say about new rows? Score a table with the run's own
preprocessing and model.

One owner for scoring: ``sattn-dash predict``, the Predictions page's "Score a new
file" and the exported MLflow model all call ``Predictor.score`` (a frame in memory) or
``score_table`` (a file, folder or glob, streamed in record batches when large).

Output, one row per input row: the id (the ``keep`` column, else ``row``, the row's
position in the table from 0), then per target ``<t>_pred`` and, for classes, one
``<t>_proba_<class>`` per class (``training.evaluation.predictions_frame``, as stored
for the test split); for numbers ``<t>_lower`` and ``<t>_upper``, the split-conformal
interval (``analysis.calibration.conformal_half_width`` on the run's validation rows,
``coverage`` 0.9 by default). Columns the model does not read are ignored; a missing
one is a ``DataError`` naming it; unseen categories and missing values go through the
fitted preprocessing as in training. When a target column is present, its metrics on
the rows that have a value come back too (``training.evaluation``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np
import pandas as pd

from sattn_dash.analysis.calibration.calibration import DEFAULT_COVERAGE, conformal_half_width
from sattn_dash.errors import DataError, RunError
from sattn_dash.files import read_json, write_json, write_with
from sattn_dash.training.evaluation import evaluate_outputs, predict_outputs, predictions_frame

if TYPE_CHECKING:
    from sattn_dash.tabular import PreparedData
    from sattn_dash.training.run import Run

__all__ = [
    "HEAD_ROWS",
    "OUTPUT_FORMATS",
    "Predictor",
    "Scored",
    "score_table",
]

PREDICTOR_FILE, MODEL_FILE, PREPARED_DIR = "predictor.json", "model.keras", "prepared"
ROW_COLUMN = "row"  # the id column when no `keep` column is named
HEAD_ROWS = 20  # predictions kept in memory to show when the rest goes to a file
OUTPUT_FORMATS = (".csv", ".parquet")
Progress = Callable[[int, int], None]  # (rows scored so far, rows in the table)


@dataclass(frozen=True)
class Predictor:
    """A run's fitted preprocessing, its Keras model and the half-width of each
    regression target's conformal interval: all that scoring new rows needs."""

    prepared: PreparedData
    model: Any
    half_widths: dict[str, float] = field(default_factory=dict)
    coverage: float = DEFAULT_COVERAGE

    @classmethod
    def from_run(cls, run: Run, coverage: float = DEFAULT_COVERAGE) -> Predictor:
        """The run's preprocessing and model; intervals calibrated on its validation
        rows (which its weights were never fitted on)."""
        if run.status != "finished" and not (run.path / "model.keras").is_file():
            raise RunError(f"Run {run.run_id} has no trained model yet (it is {run.status}).")
        prepared, model = run.prepared, run.model
        return cls(prepared, model, validation_half_widths(model, prepared, coverage), coverage)

    def save(self, directory) -> None:
        """Write the model (``model.keras``), the preprocessing without any rows and in
        skops' form (``prepared/``: loading runs no code) and the interval half-widths
        (``predictor.json``) into the existing folder `directory`."""
        directory = Path(directory)
        self.prepared.without_rows().save(directory / PREPARED_DIR)
        write_with(directory / MODEL_FILE, self.model.save, suffix=".keras")
        widths = {t: (w if math.isfinite(w) else None) for t, w in self.half_widths.items()}
        write_json(directory / PREDICTOR_FILE, {"half_widths": widths, "coverage": self.coverage})

    @classmethod
    def load(cls, directory) -> Predictor:
        """What `save` wrote (Keras in safe mode, the preprocessing through skops)."""
        from sattn_dash.modeling import load_model
        from sattn_dash.tabular import PreparedData

        directory = Path(directory)
        meta = read_json(directory / PREDICTOR_FILE)
        widths = {t: (math.inf if w is None else float(w)) for t, w in meta["half_widths"].items()}
        prepared = PreparedData.load(directory / PREPARED_DIR)
        return cls(prepared, load_model(directory / MODEL_FILE), widths, meta["coverage"])

    @property
    def columns(self) -> list[str]:
        """The input columns the model reads."""
        return list(self.prepared.schema.feature_columns)

    @property
    def tasks(self) -> dict[str, str]:
        return dict(self.prepared.tasks)

    def check_columns(self, columns, keep: str | None = None) -> None:
        """`DataError` naming every column the model needs (and `keep`) that is absent."""
        present = set(columns)
        missing = [c for c in self.columns if c not in present]
        if missing:
            shown = ", ".join(missing[:12]) + (", ..." if len(missing) > 12 else "")
            raise DataError(
                f"The table lacks {len(missing)} column(s) the model reads: {shown}. Add "
                "them (empty values are fine: they are filled in as in training)."
            )
        if keep is not None and keep not in present:
            raise DataError(
                f"There is no column '{keep}' to keep as the id. Choose one of the table's "
                "columns, or leave it out to number the rows."
            )

    def score(self, df: pd.DataFrame, keep: str | None = None) -> pd.DataFrame:
        """Predictions for the rows of `df` (see the module docstring for the columns);
        ids are `keep`'s values, else the rows' positions from 0."""
        self.check_columns(df.columns, keep)
        return self._frame(
            df, predict_outputs(self.model, self._inputs(df), list(self.tasks)), keep, 0
        )

    def _inputs(self, df: pd.DataFrame) -> np.ndarray:
        return self.prepared.transform(df).to_numpy(dtype=np.float32)

    def _frame(self, df: pd.DataFrame, outputs: dict, keep: str | None, start: int) -> pd.DataFrame:
        ids = df[keep].to_numpy() if keep else np.arange(start, start + len(df))
        frame = predictions_frame(outputs, self.prepared, index=ids)
        frame = frame.rename(columns={ROW_COLUMN: keep}) if keep else frame
        for target, width in self.half_widths.items():
            at = frame.columns.get_loc(f"{target}_pred") + 1
            predicted = frame[f"{target}_pred"].to_numpy(dtype=float)
            frame.insert(at, f"{target}_lower", predicted - width)
            frame.insert(at + 1, f"{target}_upper", predicted + width)
        return frame


def validation_half_widths(
    model: Any, prepared: PreparedData, coverage: float = DEFAULT_COVERAGE
) -> dict[str, float]:
    """{regression target: conformal half-width} from the validation split (inf when it
    is too small for `coverage`, as ``conformal_half_width`` says)."""
    numbers = [t for t, task in prepared.tasks.items() if task == "regression"]
    X_val, y_val = prepared.split("val")
    if not numbers:
        return {}
    if not len(X_val):
        return dict.fromkeys(numbers, math.inf)
    outputs = predict_outputs(model, X_val, list(prepared.tasks), once=True)
    return {t: conformal_half_width(y_val[t], outputs[t], coverage) for t in numbers}


@dataclass(frozen=True)
class Scored:
    """What ``score_table`` did: rows scored, the first predictions, the metrics on the
    targets the table has, where the predictions went (or all of them, in memory)."""

    rows: int
    head: pd.DataFrame
    metrics: dict[str, dict[str, Any]]
    out: Path | None = None
    predictions: pd.DataFrame | None = None
    streamed: bool = False
    notes: tuple[str, ...] = ()


def score_table(
    predictor: Predictor,
    source,
    *,
    out: str | os.PathLike | TextIO | None = None,
    keep: str | None = None,
    root: Path | None = None,
    guarded: bool = False,
    progress: Progress | None = None,
    batch_rows: int | None = None,
) -> Scored:
    """Score `source`: a path text (a file, a folder or a glob, as ``train`` reads them;
    below `root` when `guarded`) or an uploaded file object. Parquet and large CSV
    tables are read in record batches, one in memory at a time (``tabular.stream``).

    `out`: a ``.csv`` or ``.parquet`` path (written aside and renamed into place), a text
    stream (CSV), or None to keep every prediction in ``Scored.predictions``.
    `batch_rows`: rows per record batch (``tabular.stream.BATCH_ROWS`` by default)."""
    target = _output_path(out)
    total, chunks, streamed = _open(predictor, source, keep, root, guarded, batch_rows)
    if total == 0:
        raise DataError("The table has no rows to score. Choose a file with rows.")
    truths = [t for t in predictor.prepared.schema.targets if t.name in chunks.columns]
    tally = _Tally(predictor, truths)
    head: list[pd.DataFrame] = []
    kept: list[pd.DataFrame] = []

    def run(write: Callable[[pd.DataFrame], None]) -> None:
        def sink(frame: pd.DataFrame) -> None:
            if sum(map(len, head)) < HEAD_ROWS:
                head.append(frame.head(HEAD_ROWS))
            if out is None:
                kept.append(frame)
            write(frame)

        _score_batches(predictor, chunks.frames, keep, tally, total, progress, sink)

    if target is not None:
        write_with(target, lambda temp: _write_file(run, temp, target.suffix.lower()))
    elif out is not None:
        written = [0]

        def to_stream(frame: pd.DataFrame) -> None:
            frame.to_csv(out, index=False, header=written[0] == 0)
            written[0] += 1

        run(to_stream)
    else:
        run(lambda frame: None)
    first = pd.concat(head).head(HEAD_ROWS) if head else pd.DataFrame()
    notes = [f"Read in record batches: {total:,} rows."] if streamed else []
    notes += [
        f"'{t.name}' is in the table: its metrics are on the {tally.rows[t.name]:,} rows "
        "that have a value."
        for t in truths
    ]
    return Scored(
        rows=total,
        head=first.reset_index(drop=True),
        metrics=tally.metrics(),
        out=target,
        predictions=pd.concat(kept, ignore_index=True) if out is None else None,
        streamed=streamed,
        notes=tuple(notes),
    )


# --- reading -------------------------------------------------------------------------


@dataclass
class _Chunks:
    columns: list[str]
    frames: Iterator[pd.DataFrame]


def _open(
    predictor: Predictor, source, keep, root, guarded, batch_rows
) -> tuple[int, _Chunks, bool]:
    """(rows, record batches of the columns scoring needs, whether it streams)."""
    from sattn_dash.tabular.read import read_table
    from sattn_dash.tabular.stream import BATCH_ROWS

    batch_rows = batch_rows or BATCH_ROWS

    targets = predictor.prepared.target_names
    if isinstance(source, str | os.PathLike):
        from sattn_dash.tabular.paths import find_table_files, read_table_files
        from sattn_dash.tabular.stream import table_stream

        text = str(source)
        files = find_table_files(text, root, guarded=guarded)
        parquet = all(f.suffix.lower() in (".parquet", ".pq") for f in files)
        stream, _ = _readable(lambda: table_stream(files, "always" if parquet else "auto"), text)
        if stream is not None:
            predictor.check_columns(stream.columns, keep)
            wanted = _wanted(predictor, keep, targets, stream.columns)
            batches = (chunk for _, chunk in stream.batches(wanted, batch_rows))
            return stream.n_rows, _Chunks(wanted, _guarded_batches(batches, text)), True
        df = read_table_files(files, text)
    else:
        df = read_table(source, getattr(source, "name", None))
    predictor.check_columns(df.columns, keep)
    df = df[_wanted(predictor, keep, targets, df.columns)]
    frames = (df.iloc[i : i + batch_rows] for i in range(0, len(df), batch_rows))
    return len(df), _Chunks(list(df.columns), frames), False


def _wanted(predictor: Predictor, keep, targets, present) -> list[str]:
    present = set(present)
    extra = [c for c in [keep, *targets] if c is not None and c in present]
    return list(dict.fromkeys([*predictor.columns, *extra]))


def _readable(open_it, text: str):
    """Run `open_it`, turning what pyarrow or pandas reject into a `DataError`."""
    import pyarrow as pa

    try:
        return open_it()
    except (pa.ArrowException, OSError, ValueError, UnicodeDecodeError) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(
            f"'{text}' cannot be read as a table ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0][:200] if str(exc) else 'no detail'}). Check that the "
            "file is complete and in the format its name says."
        ) from None


def _guarded_batches(batches: Iterator[pd.DataFrame], text: str) -> Iterator[pd.DataFrame]:
    while True:
        chunk = _readable(lambda: next(batches, None), text)
        if chunk is None:
            return
        yield chunk


# --- scoring -------------------------------------------------------------------------


class _Tally:
    """True values and model outputs of the rows that have a target value."""

    def __init__(self, predictor: Predictor, truths):
        self.predictor, self.truths = predictor, truths
        self.outputs: dict[str, list] = {t.name: [] for t in truths}
        self.values: dict[str, list] = {t.name: [] for t in truths}
        self.rows = dict.fromkeys(self.outputs, 0)

    def add(self, df: pd.DataFrame, outputs: dict[str, np.ndarray]) -> None:
        from sattn_dash.tabular import encode_target

        for target in self.truths:
            codes = encode_target(df[target.name], target)
            known = ~np.isnan(codes)
            self.values[target.name].append(codes[known])
            self.outputs[target.name].append(np.asarray(outputs[target.name])[known])
            self.rows[target.name] += int(known.sum())

    def metrics(self) -> dict[str, dict[str, Any]]:
        if not self.truths:
            return {}
        outputs = {t: np.concatenate(v) for t, v in self.outputs.items()}
        values = {t: np.concatenate(v) for t, v in self.values.items()}
        return evaluate_outputs(outputs, values, self.predictor.tasks)


def _score_batches(
    predictor: Predictor,
    frames,
    keep,
    tally: _Tally,
    total: int,
    progress: Progress | None,
    sink: Callable[[pd.DataFrame], None],
) -> None:
    """Score record batch after record batch, in three stages that overlap: a helper
    thread reads and transforms the next batch, this thread runs the model, another
    helper builds and writes the previous batch's predictions."""
    start = 0
    targets = list(predictor.tasks)

    def finish(df: pd.DataFrame, outputs: dict, first: int) -> None:
        sink(predictor._frame(df, outputs, keep, first))

    with ThreadPoolExecutor(1, thread_name_prefix="sattn-predict-write") as writer:
        pending = None
        for df, X in _prefetched(frames, predictor._inputs):
            outputs = predict_outputs(predictor.model, X, targets)
            tally.add(df, outputs)
            if pending is not None:
                pending.result()  # one batch written at a time, in order
            pending = writer.submit(finish, df, outputs, start)
            start += len(df)
            if progress is not None:
                progress(start, total)
        if pending is not None:
            pending.result()


def _prefetched(items: Iterator[Any], prepare: Callable[[Any], Any]) -> Iterator[tuple[Any, Any]]:
    """(item, prepare(item)) for each item, the next one made while this one is used."""
    items = iter(items)

    def make():
        item = next(items, None)
        return None if item is None else (item, prepare(item))

    with ThreadPoolExecutor(1, thread_name_prefix="sattn-predict") as pool:
        pending = pool.submit(make)
        while (ready := pending.result()) is not None:
            pending = pool.submit(make)
            yield ready


# --- writing -------------------------------------------------------------------------


def _output_path(out) -> Path | None:
    if out is None or hasattr(out, "write"):
        return None
    path = Path(out)
    if path.suffix.lower() not in OUTPUT_FORMATS:
        raise DataError(f"Write predictions to a .csv or .parquet file, not '{path.name}'.")
    if not path.parent.is_dir():
        raise DataError(f"The folder '{path.parent}' does not exist. Create it first.")
    return path


def _write_file(run, temp: Path, suffix: str) -> None:
    """`run(write)` with `write` appending each frame to the file `temp`."""
    if suffix == ".csv":
        with temp.open("w", encoding="utf-8", newline="") as handle:
            first = [True]

            def write_csv(frame: pd.DataFrame) -> None:
                frame.to_csv(handle, index=False, header=first[0])
                first[0] = False

            run(write_csv)
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    writers: list = []

    def write_parquet(frame: pd.DataFrame) -> None:
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if not writers:
            writers.append(pq.ParquetWriter(temp, table.schema))
        writers[0].write_table(table.cast(writers[0].schema))

    try:
        run(write_parquet)
    finally:
        for writer in writers:
            writer.close()
