"""Fourteen kinds of damage to a workspace's files, and the file each one names.

Each ``Damage`` breaks one file of a finished run (or one study journal) the way a
crash, a full disk, a bad copy or a careless edit does. Whatever reads the damaged
file must say which file it is and what to do (delete or repair the run or study), and
every other run and study must keep working: see tests/unit/test_damaged_files.py and
bench/bench_reliability.py.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

JUNK = bytes(range(256)) * 8  # binary: NUL bytes, invalid UTF-8


@dataclass(frozen=True)
class Damage:
    kind: str
    file: str  # the name the message must carry
    apply: Callable[[Path], None]  # given the run folder (or the study journal)
    study: bool = False  # damages a study journal, not a run
    # What reads it in the CLI: `show` ("show"), `show` with its analysis ("analysis"),
    # or no command ("pages": only a page shows it).
    reader: str = "show"
    repaired: bool = False  # put right on reading (a torn last line is cut): no error


def _write(name: str, data: bytes | str) -> Callable[[Path], None]:
    def apply(run: Path) -> None:
        path = run / name
        path.write_bytes(data if isinstance(data, bytes) else data.encode())

    return apply


def _cut(name: str, keep: float) -> Callable[[Path], None]:
    def apply(run: Path) -> None:
        path = run / name
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * keep)])

    return apply


def _spec_wrong_types(run: Path) -> None:
    spec = json.loads((run / "spec.json").read_text())
    spec["branches"] = "dense"  # a list of branches
    (run / "spec.json").write_text(json.dumps(spec))


def _journal_cut_mid_line(journal: Path) -> None:
    data = journal.read_bytes()
    journal.write_bytes(data[: len(data) - 7])  # a writer killed mid-line


def _journal_garbled(journal: Path) -> None:
    lines = journal.read_bytes().splitlines(keepends=True)
    lines.insert(1, b'{"op_code": 0, "worker_id": \x00\xff garbage\n')
    journal.write_bytes(b"".join(lines))


STUDIES = ("damaged-study", "healthy-study")
# A trial a study still owes (its journal cut before the trial's end) trains one small
# MLP for two epochs: what is checked is that the study carries on, not the model.
TINY_SPACE = {
    "branches": 1,
    "branch_kinds": {"mlp": {"depth": 1, "width": 8}},
    "numeric_embeddings": {"none": {}},
    "schedule": "constant",
    "label_smoothing": 0.0,
    "scaling": "standard",
    "layout": "all_columns",
    "combiner": "mean",
    "batch_size": 64,
    "epochs": 2,
}


def build_workspace(root: Path) -> tuple[Path, list[str], Path]:
    """Two finished runs and two studies with a finished trial each, under ``root``;
    returns (workspace, [the run to damage, the healthy run], the table file)."""
    import optuna

    from sattn_dash.search.space import check_space
    from sattn_dash.search.study import StudySettings, create_or_resume, open_storage
    from sattn_dash.tabular import infer_schema, prepare
    from sattn_dash.training import RunStore, TrainingConfig, TrainingSession
    from tests.unit.conftest import make_training_table

    df = make_training_table(160)
    data = root / "table.csv"
    df.to_csv(data, index=False)
    workspace = root / "ws"
    store = RunStore(workspace)
    schema = infer_schema(df, targets=["label"])
    ids = []
    for title in ("damaged", "healthy"):
        config = TrainingConfig(epochs=2, batch_size=32, seed=0)
        session = TrainingSession(df, schema, "dropout_ladder", config, store, title=title)
        assert session.run().state == "finished"
        ids.append(session.run_id)
    settings = StudySettings(
        data_path=str(data),
        data_name=data.name,
        targets=["label"],
        schema=schema.to_dict(),
        space=check_space(TINY_SPACE),
        trials=1,
        data_hash=prepare(df, schema, seed=0).data_hash,
    )
    for name in STUDIES:  # one finished trial each: `search --trials 1` trains nothing
        study, _ = create_or_resume(
            name, open_storage(name, None, workspace), settings, space_given=True
        )
        study.add_trial(optuna.trial.create_trial(value=0.5, user_attrs={"outcome": "complete"}))
    return workspace, ids, data


DAMAGES: tuple[Damage, ...] = (
    Damage("history.csv binary", "history.csv", _write("history.csv", JUNK)),
    Damage(
        "history.csv with an unterminated quote",
        "history.csv",
        _write("history.csv", 'epoch,loss,time_s\n1,0.5,1.0\n2,"0.4,2.0\n'),
    ),
    Damage("model.keras truncated", "model.keras", _cut("model.keras", 0.5), reader="analysis"),
    Damage("model.keras garbled", "model.keras", _write("model.keras", JUNK), reader="analysis"),
    Damage(
        "predictions.csv garbled",
        "predictions.csv",
        _write("predictions.csv", JUNK),
        reader="pages",
    ),
    Damage(
        "prepared/ garbled",
        "prepared",
        _write(os.path.join("prepared", "arrays.npz"), JUNK),
        reader="analysis",
    ),
    Damage("spec.json with wrong types", "spec.json", _spec_wrong_types, reader="analysis"),
    Damage("metrics.json broken", "metrics.json", _write("metrics.json", '{"label": {"auc": ')),
    Damage("metrics.json not an object", "metrics.json", _write("metrics.json", "[1, 2]")),
    Damage("config.json with wrong types", "config.json", _write("config.json", '{"epochs": "x"}')),
    Damage("card.json binary", "card.json", _write("card.json", JUNK)),
    Damage("run.json broken", "run.json", _write("run.json", '{"run_id": ')),
    Damage(
        "study journal truncated mid-line",
        "journal",
        _journal_cut_mid_line,
        study=True,
        repaired=True,
    ),
    Damage("study journal garbled", "journal", _journal_garbled, study=True),
)
