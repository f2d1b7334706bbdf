"""Reliability figures (issue 26): kills survived, damaged files handled, bad inputs refused.

Three measurements, each a count out of a total, on the machine it runs on:

- **Kills**: ``N`` real ``sattn-dash train`` processes (5 epochs on a small table), each
  SIGKILLed at a random moment (seeded) from its start to a little past its usual end.
  A kill is survived when afterwards ``runs`` exits 0, the run reads as interrupted (or
  finished, if the kill came late), its folder holds no half-written file once opened,
  and ``resume`` carries an interrupted run that has a checkpoint on to a finished run.
- **Damage**: the fourteen kinds of tests/malformed/damaged.py, each applied to a copy of
  a workspace with two runs and two studies. Handled when the CLI command that reads the
  file exits 2 with one ``error:`` line naming it and saying what to do (or, for a torn
  journal line, goes on), and the other run and study still work.
- **Bad inputs**: CLI invocations a user can get wrong (a pipe or folder as --data, a NUL
  byte, binary junk, a missing column, an unknown run id, ...). Refused clearly when
  the exit status is 2, stderr has exactly one ``error:`` line and no traceback.
- **Full disk**: a train on a 32 MB tmpfs filled as epoch 3 ends (root only; otherwise
  skipped and said so): exit 2 with a message naming the disk, the run interrupted with
  its epoch-2 checkpoint, and ``resume`` finishing it once the space is freed.

    .venv/bin/python bench/bench_reliability.py            # about 4 minutes on 2 cores
    .venv/bin/python bench/bench_reliability.py --kills 3

Prints a markdown table for bench/RESULTS.md (section "## Reliability").
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sattn_dash.cli import main  # noqa: E402
from sattn_dash.search.study import journal_path  # noqa: E402
from sattn_dash.training import RunStore  # noqa: E402
from tests.malformed.damaged import DAMAGES, STUDIES, build_workspace  # noqa: E402
from tests.unit.conftest import make_training_table  # noqa: E402

TRAIN = ["--target", "label", "--preset", "ensemble", "--epochs", "5", "--batch-size", "16"]


def cli(*argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def clear(code: int, err: str) -> bool:
    lines = [x for x in err.splitlines() if x.startswith("error:")]
    return code == 2 and len(lines) == 1 and "Traceback" not in err


# --- kills --------------------------------------------------------------------------------
def kills(n: int, seed: int, folder: Path) -> tuple[int, list[str]]:
    folder.mkdir(parents=True)
    data = folder / "table.csv"
    make_training_table(600).to_csv(data, index=False)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "sattn_dash", "train", "--data", str(data), *TRAIN]
    start = time.monotonic()  # one uninterrupted run: how long a train takes here
    ws = folder / "whole"
    subprocess.run([*command, "--workspace", str(ws)], env=env, capture_output=True, check=True)
    duration = time.monotonic() - start
    rng = random.Random(seed)
    survived, notes = 0, []
    for i in range(n):
        ws = folder / f"kill-{i}"
        at = rng.uniform(0.3, 1.1) * duration
        proc = subprocess.Popen(
            [*command, "--workspace", str(ws)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(at)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        problems = []
        code, _, err = cli("runs", "--workspace", ws, "--json")
        if code != 0 or "Traceback" in err:
            problems.append(f"runs exit {code}")
        store = RunStore(ws)
        runs = store.list()
        if store.skipped:
            problems.append(f"skipped {store.skipped}")
        phase = "before its run existed" if not runs else runs[0].status
        for info in runs:
            run = store.load(info.run_id)  # opening it tidies what the kill left
            left = [p.name for p in run.path.glob(".*.tmp-*")]
            if left:
                problems.append(f"left {left}")
            if info.status == "interrupted" and (run.path / "checkpoints").exists():
                code, _, err = cli("resume", info.run_id, "--workspace", ws, "--json")
                if code != 0 or store.info(info.run_id).status != "finished":
                    problems.append(f"resume exit {code}: {err.strip()[-200:]}")
            elif info.status not in ("interrupted", "finished"):
                problems.append(f"status {info.status}")
        survived += not problems
        notes.append(f"kill {i} at {at:.1f} s ({phase}): {problems or 'ok'}")
    return survived, notes


# --- damage -------------------------------------------------------------------------------
def damage(folder: Path) -> tuple[int, list[str]]:
    folder.mkdir(parents=True)
    source, (damaged, healthy), data = build_workspace(folder)
    handled, notes = 0, []
    for i, kind in enumerate(DAMAGES):
        ws = folder / f"damaged-{i}"
        shutil.copytree(source, ws)
        kind.apply(journal_path(STUDIES[0], ws) if kind.study else ws / "runs" / damaged)
        ok = True
        code, _, err = cli("runs", "--workspace", ws, "--json")
        ok &= code == 0 and "Traceback" not in err
        ok &= cli("show", healthy, "--workspace", ws, "--no-analysis")[0] == 0
        if kind.study:
            search = ["search", "--data", data, "--target", "label", "--trials", "1"]
            code, _, err = cli(*search, "--study", STUDIES[0], "--workspace", ws)
            ok &= code == 0 if kind.repaired else clear(code, err) and "journal" in err
            ok &= cli(*search, "--study", STUDIES[1], "--workspace", ws)[0] == 0
        elif kind.reader != "pages":
            argv = ["show", damaged, "--workspace", ws]
            code, _, err = cli(*argv, *(["--no-analysis"] if kind.reader == "show" else []))
            ok &= clear(code, err) and kind.file in err and "elete" in err
        handled += ok
        notes.append(f"{kind.kind}: {'handled' if ok else 'NOT handled: ' + err[-300:]}")
    return handled, notes


# --- bad inputs ---------------------------------------------------------------------------
def bad_inputs(folder: Path) -> tuple[int, list[str]]:
    folder.mkdir(parents=True)
    good = folder / "good.csv"
    make_training_table(60).to_csv(good, index=False)
    pipe = folder / "pipe.csv"
    os.mkfifo(pipe)
    junk = folder / "junk.csv"
    junk.write_bytes(bytes(range(256)) * 40)
    empty = folder / "empty.csv"
    empty.write_bytes(b"")
    (folder / "no-tables").mkdir()
    (folder / "no-tables" / "notes.txt.md").write_text("not a table")
    ws = ["--workspace", folder / "ws"]
    cases = {
        "a pipe as --data": ["train", "--data", pipe, "--target", "label", *ws],
        "a NUL byte in --data": ["train", "--data", "table\0.csv", "--target", "label", *ws],
        "a folder with no tables": ["train", "--data", folder / "no-tables", "--target", "x"],
        "a missing file": ["train", "--data", folder / "nope.csv", "--target", "label", *ws],
        "binary junk as a CSV": ["train", "--data", junk, "--target", "label", *ws],
        "an empty file": ["train", "--data", empty, "--target", "label", *ws],
        "a target that is no column": ["train", "--data", good, "--target", "nope", *ws],
        "no --target": ["train", "--data", good, *ws],
        "an unknown preset": ["train", "--data", good, "--target", "label", "--preset", "x"],
        "epochs that are no number": [
            "train",
            "--data",
            good,
            "--target",
            "label",
            "--epochs",
            "x",
        ],
        "zero epochs": ["train", "--data", good, "--target", "label", "--epochs", "0", *ws],
        "a missing --spec": ["train", "--data", good, "--target", "label", "--spec", "no.json"],
        "an unknown sample": ["train", "--sample", "nope", *ws],
        "an unknown run id": ["show", "20990101-000000-abcdef", *ws],
        "a path as a run id": ["show", "../../etc", *ws],
        "resume of an unknown run": ["resume", "20990101-000000-abcdef", *ws],
        "delete of a path": ["delete", "../runs", *ws],
        "a bad study name": ["search", "--data", good, "--target", "label", "--study", "a b", *ws],
        "zero trials": ["search", "--data", good, "--target", "label", "--trials", "0", *ws],
        "a binary --space": ["search", "--data", good, "--target", "label", "--space", junk],
        "a binary --spec": ["train", "--data", good, "--target", "label", "--spec", junk],
        "a binary --schema": ["search", "--data", good, "--target", "label", "--schema", junk],
        "an unknown command option": ["runs", "--colour", *ws],
    }
    refused, notes = 0, []
    for what, argv in cases.items():
        code, _, err = cli(*argv)
        ok = clear(code, err)
        refused += ok
        line = next((x for x in err.splitlines() if x.startswith("error:")), err.strip()[-200:])
        notes.append(f"{what}: {'refused' if ok else 'NOT clear'} ({code}) {line[:160]}")
    return refused, notes


# --- full disk ----------------------------------------------------------------------------
def full_disk(folder: Path) -> tuple[int, int, list[str]]:
    import keras

    from sattn_dash.tabular import infer_schema
    from sattn_dash.training import TrainingConfig, TrainingSession
    from tests.full_disk import SmallDisk

    class NoPatch:  # the bench never fakes ENOSPC: a real tmpfs or nothing
        def setattr(self, *args):
            raise RuntimeError("no tmpfs")

    try:
        disk = SmallDisk(folder / "disk", NoPatch())
    except RuntimeError:
        return 0, 0, ["no tmpfs could be mounted here (not root): not measured"]

    class Fill(keras.callbacks.Callback):
        checkpointed = False

        def on_epoch_end(self, epoch, logs=None):
            if epoch + 1 == 3:
                disk.fill()

    try:
        df = make_training_table(240)
        store = RunStore(disk.path / "ws")
        config = TrainingConfig(epochs=4, batch_size=32, seed=0)
        session = TrainingSession(
            df, infer_schema(df, targets=["label"]), "ensemble", config, store, callbacks=[Fill()]
        )
        status = session.run()
        ok = status.state == "interrupted" and str(disk.path) in (status.error or "")
        disk.free()
        code, _, err = cli("resume", session.run_id, "--workspace", store.workspace, "--json")
        ok &= code == 0 and store.info(session.run_id).status == "finished"
        return int(ok), 1, [f"train: {status.state}: {status.error}", f"resume: exit {code}"]
    finally:
        disk.close()


def main_() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-reliability-"))
    started = time.monotonic()
    try:
        k, kill_notes = kills(args.kills, args.seed, folder / "kills")
        d, damage_notes = damage(folder / "damage")
        b, bad_notes = bad_inputs(folder / "bad")
        f, f_total, disk_notes = full_disk(folder / "full")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print("| what | result |")
    print("| --- | ---: |")
    print(
        f"| SIGKILLs during `train` survived (random moments, seed {args.seed}) | {k} of {args.kills} |"
    )
    print(f"| kinds of damaged file handled (CLI) | {d} of {len(DAMAGES)} |")
    print(f"| bad CLI inputs refused with exit 2 and one line | {b} of {len(bad_notes)} |")
    print(f"| full disk: interrupted, named, resumed once freed | {f} of {f_total} |")
    print(f"\n{time.monotonic() - started:.0f} s in all.\n")
    for note in kill_notes + damage_notes + bad_notes + disk_notes:
        print(f"- {note}")


if __name__ == "__main__":
    main_()
