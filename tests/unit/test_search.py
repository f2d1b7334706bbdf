"""Search: the space as data, a small study through the CLI, resume, pruning, SIGKILL,
and two worker processes sharing one study (embedded journal and real PostgreSQL)."""

import json
import os
import pickle
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import optuna
import pytest

from sattn_dash.errors import SpecError
from sattn_dash.search.processes import available_cores, core_shares
from sattn_dash.search.space import check_space, default_space, load_space, sample
from sattn_dash.search.study import (
    StudySettings,
    create_or_resume,
    load_study,
    open_storage,
    param_importance,
    trials_frame,
)
from sattn_dash.tabular import infer_schema, prepare, read_table
from sattn_dash.training import RunStore
from tests.unit.conftest import cli_json

REPO = Path(__file__).resolve().parents[2]
# Tiny trials: one or two small MLP branches, two epochs, no tabular-recipe options.
TINY = {
    "branches": {"low": 1, "high": 2},
    "branch_kinds": {"mlp": {"depth": 1, "width": {"choices": [8, 16]}}},
    "numeric_embeddings": {"none": {}},
    "schedule": "constant",
    "label_smoothing": 0.0,
    "scaling": "standard",
    "layout": "all_columns",
    "combiner": {"choices": ["sparse_attention", "mean"]},
    "batch_size": 64,
    "epochs": 2,
}


def _space_file(tmp_path, space=None, name="space.json"):
    path = tmp_path / name
    path.write_text(json.dumps(space or TINY))
    return path


@pytest.fixture
def prepared(training_table):
    return prepare(training_table, infer_schema(training_table, targets=["label"]), seed=0)


# --- the space ---------------------------------------------------------------------------
def test_default_space_checks_and_every_sample_builds_a_valid_spec(prepared):
    space = check_space(default_space(prepared))
    assert space["layout"] == {"choices": ["all_columns", "per_group"]}
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    kinds, combiners = set(), set()
    for _ in range(40):
        trial = study.ask()
        spec, config = sample(space, trial, prepared)  # validated against the data
        kinds.update(trial.params.get(f"branch{i}_kind") for i in range(1, 5))
        combiners.add(spec.combiner.kind)
        assert config["batch_size"] >= 1 and config["epochs"] == 40
        if trial.params["layout"] == "per_group":
            assert [b.inputs for b in spec.branches] == [
                (g,) for g in prepared.groups_with_features()
            ]
        assert spec.optimizer == ("adamw" if spec.weight_decay > 0 else "adam")
        study.tell(trial, 0.0)
    assert {"mlp", "residual", "feature_attention"} <= kinds
    assert combiners == {"sparse_attention", "sparse_dense", "mean", "concat"}


def test_the_default_space_samples_the_tabular_recipe(prepared):
    """Numeric embeddings, batch-ensemble branches, cosine schedules, label smoothing and
    every scaling come out of the default space as specs valid for the data."""
    space = check_space(default_space(prepared))
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=5))
    embeddings, scalings, schedules, ensembles, smoothed = set(), set(), set(), 0, 0
    for _ in range(60):
        trial = study.ask()
        spec, config = sample(space, trial, prepared)
        scalings.add(config["scaling"])
        schedules.add(spec.schedule)
        assert spec.warmup_fraction == trial.params.get("warmup_fraction", 0.0)
        assert (spec.schedule == "cosine") == ("warmup_fraction" in trial.params)
        smoothed += 0 < spec.label_smoothing < 0.2  # a binary target: smoothing is searched
        for branch in spec.branches:
            first, last = branch.blocks[0], branch.blocks[-1]
            if first.kind in ("piecewise_linear", "periodic"):
                embeddings.add(first.kind)
                assert first.units in (4, 8, 16)
                assert first.bins in (8, 16, 32) or first.frequencies in (8, 16)
                # as the default model's embedding: linear at first
                assert first.start_linear is (True if first.kind == "piecewise_linear" else None)
            if last.kind == "batch_ensemble":
                ensembles += 1
                assert last.members in (4, 8) and last.layers in (1, 2)
                assert last.units in (32, 64, 128)
                assert last.rate == trial.params["dropout"]
                assert branch.module_names[0] == f"{branch.name}_m1"
        study.tell(trial, 0.0)
    assert embeddings == {"piecewise_linear", "periodic"}
    assert scalings == {"standard", "robust", "quantile"}
    assert schedules == {"constant", "cosine"}
    assert ensembles > 0 and smoothed > 0


def test_a_space_saved_before_the_recipe_samples_as_it_did(prepared):
    old = check_space(TINY)
    for name in ("numeric_embeddings", "schedule", "warmup_fraction", "label_smoothing"):
        del old[name]
    del old["scaling"]
    trial = optuna.create_study().ask()
    spec, config = sample(old, trial, prepared)
    assert (spec.schedule, spec.label_smoothing, config["scaling"]) == ("constant", 0.0, "standard")
    assert all(b.blocks[0].kind == "dense" for b in spec.branches)
    assert not any(name.endswith("embedding") for name in trial.params)


def test_a_study_saved_before_start_linear_embeds_as_it_did(prepared):
    """A study stores its checked space; one stored before the setting existed has no
    start_linear, and its trials keep building the embedding they built then."""
    stored = check_space({**TINY, "numeric_embeddings": {"piecewise_linear": {"bins": 8}}})
    assert stored["numeric_embeddings"]["piecewise_linear"]["start_linear"] is True  # new
    del stored["numeric_embeddings"]["piecewise_linear"]["start_linear"]
    spec, _ = sample(stored, optuna.create_study().ask(), prepared)
    assert [b.blocks[0].start_linear for b in spec.branches] == [False] * len(spec.branches)


def test_the_default_space_survives_a_json_round_trip(prepared):
    space = check_space(default_space(prepared))
    assert load_space(json.dumps(space)) == space
    assert set(space["numeric_embeddings"]) == {"none", "piecewise_linear", "periodic"}
    assert "batch_ensemble" in space["branch_kinds"]


def test_a_narrowed_space_fixes_what_it_names_and_keeps_the_defaults(prepared):
    space = load_space(json.dumps(TINY))
    assert space["learning_rate"] == default_space()["learning_rate"]
    trial = optuna.create_study().ask()
    spec, config = sample(space, trial, prepared)
    assert config["epochs"] == 2 and config["batch_size"] == 64
    assert all(b.name.startswith("mlp") for b in spec.branches)
    assert [b.blocks[0].kind for b in spec.branches] == ["dense"] * len(spec.branches)


@pytest.mark.parametrize(
    "space, message",
    [
        ({"learning_rat": 0.1}, "space.learning_rat: unknown setting"),
        ({"learning_rate": {"low": 0, "high": 1, "log": True}}, "log range needs low > 0"),
        ({"dropout": {"low": 0.2, "high": 1.5}}, "space.dropout.high: expected a rate"),
        ({"combiner": {"choices": []}}, "'choices' must be a non-empty list"),
        ({"combiner": "attention"}, "unknown combiner 'attention'"),
        ({"branch_kinds": {"lstm": {}}}, "space.branch_kinds.lstm: unknown kind"),
        ({"branch_kinds": {"mlp": {"width": {"choices": [0, 8]}}}}, "width.choices[0]"),
        ({"batch_size": {"low": 64, "high": 16}}, "low <= high"),
        ({"space_version": 9}, "reads version 1"),
        ({"scaling": "minmax"}, "space.scaling: unknown scaling 'minmax'"),
        ({"schedule": {"choices": ["cosine", "step"]}}, "space.schedule.choices[1]: unknown"),
        ({"label_smoothing": {"low": 0, "high": 0.6}}, "space.label_smoothing.high: expected"),
        ({"warmup_fraction": 1.0}, "space.warmup_fraction: expected a rate"),
        ({"numeric_embeddings": {}}, "space.numeric_embeddings: name at least one"),
        ({"numeric_embeddings": {"splines": {}}}, "numeric_embeddings.splines: unknown"),
        (
            {"numeric_embeddings": {"piecewise_linear": {"bins": 1}}},
            "space.numeric_embeddings.piecewise_linear.bins: expected a whole number >= 2",
        ),
        (
            {"numeric_embeddings": {"piecewise_linear": {"start_linear": {"choices": [1]}}}},
            "piecewise_linear.start_linear.choices[0]: expected true or false, got 1",
        ),
        (
            {"branch_kinds": {"batch_ensemble": {"members": {"choices": [1, 4]}}}},
            "space.branch_kinds.batch_ensemble.members.choices[0]: expected a whole number >= 2",
        ),
        ({"branch_kinds": {"batch_ensemble": {"rate": 0.1}}}, "batch_ensemble.rate: unknown"),
    ],
)
def test_bad_spaces_say_what_to_fix(space, message):
    with pytest.raises(SpecError, match=message.replace("[", r"\[").replace("(", r"\(")):
        check_space(space)


def test_a_space_that_is_not_json_is_a_clear_error():
    with pytest.raises(SpecError, match="not valid JSON .* line 1"):
        load_space("{'epochs': 2}")


# --- a small study through the CLI -------------------------------------------------------
def test_cli_search_runs_a_study_of_runs_and_a_rerun_resumes_it(capsys, tmp_path, training_csv):
    ws = tmp_path / "ws"
    space = _space_file(tmp_path)
    args = ["search", "--data", training_csv, "--target", "label", "--space", space]
    args += ["--workspace", ws, "--json", "--study", "small"]
    code, first, err = cli_json(capsys, *args, "--trials", 2)
    assert code == 0, err
    assert first["counts"]["COMPLETE"] == 2 and first["storage"] == "embedded journal"
    assert (ws / "studies" / "small.journal").is_file()
    best = first["best"]
    assert best["value"] == min(t["value"] for t in first["trials"])
    assert 0.5 < best["test_score"] <= 1.0  # label = x0 + x1 > 0 is learnable

    store = RunStore(ws)
    run = store.load(best["run_id"])
    assert run.status == "finished" and (run.path / "model.keras").is_file()
    tag = json.loads((run.path / "search.json").read_text())
    assert tag["study"] == "small" and tag["trial"] == best["trial"]
    assert tag["outcome"] == "complete" and tag["params"] == best["params"]
    assert run.title == f"small · trial {best['trial']}"

    code, second, err = cli_json(capsys, *args, "--trials", 3)
    assert code == 0, err
    assert second["counts"]["COMPLETE"] == 3  # one more trial, not three
    assert len(store.list()) == 3 and not store.skipped

    code, again, err = cli_json(
        capsys, *args[:-2], "--study", "small", "--trials", 3, "--metric", "val_accuracy"
    )
    assert code == 2 and "optimises auto" in again["error"]


def test_a_real_trial_trains_a_sampled_batch_ensemble_branch(capsys, tmp_path, training_table):
    """One epoch on a few rows: a TabM-style branch behind piecewise-linear embeddings,
    with a cosine schedule and quantile scaling, sampled from a space and trained as a run."""
    csv = tmp_path / "few.csv"
    training_table.head(120).to_csv(csv, index=False)
    space = {
        "layout": "all_columns",
        "branches": 1,
        "branch_kinds": {"batch_ensemble": {"members": 2, "width": 16, "depth": 1}},
        "numeric_embeddings": {"piecewise_linear": {"bins": 4, "units": 4}},
        "combiner": "sparse_attention",
        "schedule": "cosine",
        "scaling": "quantile",
        "batch_size": 32,
        "epochs": 1,
    }
    ws = tmp_path / "ws"
    args = ["search", "--data", csv, "--target", "label", "--trials", 1, "--study", "tabm"]
    code, out, err = cli_json(
        capsys, *args, "--space", _space_file(tmp_path, space), "--workspace", ws, "--json"
    )
    assert code == 0, err
    assert out["counts"]["COMPLETE"] == 1
    run = RunStore(ws).load(out["best"]["run_id"])
    (branch,) = run.spec.branches
    assert [b.kind for b in branch.blocks] == ["piecewise_linear", "batch_ensemble"]
    assert branch.module_names == ["batch_ensemble1_m1", "batch_ensemble1_m2"]
    assert run.spec.schedule == "cosine" and run.spec.label_smoothing > 0
    assert run.config.scaling == "quantile" and run.prepared.options.scaling == "quantile"
    assert len(run.history) == 1 and run.metrics["label"]["n"] > 0


def test_cli_search_refuses_bad_input_with_one_line(capsys, tmp_path, training_csv):
    ws = tmp_path / "ws"
    base = ["search", "--data", training_csv, "--target", "label", "--workspace", ws, "--json"]
    bad_space = _space_file(tmp_path, {"epochs": 0}, "bad.json")
    code, out, _ = cli_json(capsys, *base, "--space", bad_space)
    assert code == 2 and out["error"].startswith("space.epochs: expected a whole number >= 1")
    code, out, _ = cli_json(capsys, *base, "--study", "../escape")
    assert code == 2 and "not a usable study name" in out["error"]
    code, out, _ = cli_json(capsys, *base, "--metric", "loss")
    assert code == 2 and "validation metric" in out["error"]
    code, out, _ = cli_json(capsys, *base, "--storage", "postgresql://nobody@127.0.0.1:1/none")
    assert code == 2 and "Cannot open the study storage" in out["error"]
    code, out, _ = cli_json(capsys, "search-worker", "--study", "nope", "--workspace", ws, "--json")
    assert code == 2 and "No study named 'nope'" in out["error"]
    assert not (ws / "runs").exists()


def _settings(csv, table, space, trials, **kw):
    schema = infer_schema(table, targets=["label"])
    prepared = prepare(table, schema, seed=0)
    return StudySettings(
        data_path=str(csv),
        data_name=csv.name,
        targets=["label"],
        schema=schema.to_dict(),
        space=check_space(space),
        trials=trials,
        data_hash=prepared.data_hash,
        **kw,
    )


def test_a_trial_worse_than_the_median_is_pruned_and_kept_as_a_run(
    capsys, tmp_path, training_csv, training_table
):
    ws = tmp_path / "ws"
    space = {**TINY, "branches": 1, "combiner": "mean", "epochs": 4, "patience": 10}
    settings = _settings(
        training_csv, training_table, space, 2, pruner={"startup_trials": 1, "warmup_epochs": 0}
    )
    study, _ = create_or_resume(
        "prune", open_storage("prune", None, ws), settings, space_given=True
    )
    same = {"branch1_mlp_width": 16, "dropout": 0.0, "weight_decay": 1e-6}
    study.enqueue_trial({**same, "learning_rate": 1e-2})
    study.enqueue_trial({**same, "learning_rate": 1e-4})  # same init, far slower to learn
    path = _space_file(tmp_path, space)
    code, out, err = cli_json(
        capsys,
        "search",
        "--data",
        training_csv,
        "--target",
        "label",
        "--study",
        "prune",
        "--trials",
        2,
        "--space",
        path,
        "--workspace",
        ws,
        "--json",
    )
    assert code == 0, err
    states = {t["trial"]: t["state"] for t in out["trials"]}
    assert states == {0: "COMPLETE", 1: "PRUNED"}
    pruned = out["trials"][1]
    assert pruned["outcome"] == "pruned at epoch 1" and pruned["epochs"] == 1
    run = RunStore(ws).load(pruned["run_id"])
    assert run.status == "finished" and run.metrics["label"]["n"] > 0
    assert json.loads((run.path / "search.json").read_text())["pruned_at"] == 1


def _search_command(csv, ws, space, study, trials, *extra):
    return [
        sys.executable,
        "-m",
        "sattn_dash",
        "search",
        "--data",
        str(csv),
        "--target",
        "label",
        "--study",
        study,
        "--trials",
        str(trials),
        "--space",
        str(space),
        "--workspace",
        str(ws),
        "--json",
        *map(str, extra),
    ]


def _wait_for(predicate, timeout=240.0, what="the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def test_sigkill_mid_trial_then_rerun_marks_it_interrupted_and_continues(
    capsys, tmp_path, training_csv, training_table
):
    ws = tmp_path / "ws"
    space = {**TINY, "epochs": {"choices": [2, 400]}, "patience": {"choices": [1, 400]}}
    path = _space_file(tmp_path, space)
    settings = _settings(training_csv, training_table, space, 1)
    study, _ = create_or_resume(
        "killed", open_storage("killed", None, ws), settings, space_given=True
    )
    study.enqueue_trial({"epochs": 400, "patience": 400, "learning_rate": 1e-4})  # long
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.Popen(
        _search_command(training_csv, ws, path, "killed", 1),
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    store = RunStore(ws)

    def training_started():
        runs = store.list()
        return runs and runs[0].epochs_run >= 1 and runs[0]

    try:
        info = _wait_for(training_started, what="the first epoch of the trial")
    finally:
        proc.kill()
        proc.wait()
    assert store.info(info.run_id).status == "interrupted"  # owner gone, folder readable
    run = store.load(info.run_id)
    assert len(run.history) >= 1 and run.spec is not None

    study.enqueue_trial({"epochs": 2, "patience": 1})
    code, out, err = cli_json(capsys, *_search_command(training_csv, ws, path, "killed", 1)[3:])
    assert code == 0, err
    first, second = out["trials"]
    assert (first["state"], first["outcome"], first["run_id"]) == (
        "FAIL",
        "interrupted",
        info.run_id,
    )
    assert second["state"] == "COMPLETE"
    assert [r.status for r in store.list()] == ["finished", "interrupted"]
    assert not store.skipped


def _owner_pids(study):
    return {t.user_attrs["owner"]["pid"] for t in study.trials if "owner" in t.user_attrs}


def test_two_worker_processes_share_one_embedded_study(capsys, tmp_path, training_csv):
    ws = tmp_path / "ws"
    space = _space_file(tmp_path)
    code, out, err = cli_json(
        capsys, *_search_command(training_csv, ws, space, "pair", 4, "--workers", 2)[3:]
    )
    assert code == 0, err
    assert out["counts"]["COMPLETE"] >= 4 and out["counts"]["FAIL"] == 0
    study, _ = load_study("pair", open_storage("pair", None, ws))
    assert len(_owner_pids(study)) == 2  # trials came from two processes
    cores = {tuple(t.user_attrs["owner"]["cores"]) for t in study.trials}
    if len(available_cores()) >= 2:  # each on its own share of the cores
        first, second = cores
        assert first and second and not set(first) & set(second)
    frame = trials_frame(study)
    assert frame["run_id"].is_unique
    assert not param_importance(study).empty


def test_cores_are_shared_out_evenly_and_round_robin_when_too_few():
    assert core_shares(2, [0, 1, 2, 3]) == [[0, 1], [2, 3]]
    assert core_shares(3, [0, 1, 2, 3, 4, 5, 6]) == [[0, 1], [2, 3], [4, 5]]
    assert core_shares(3, [4, 5]) == [[4], [5], [4]]


# --- a real PostgreSQL -------------------------------------------------------------------
def _postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


@pytest.fixture
def postgres_url():
    """A throwaway PostgreSQL cluster on a free port, removed afterwards. As root it runs
    as the ``postgres`` user (postgres refuses root), in a folder that user owns."""
    import shutil
    import socket
    import tempfile

    bindir = _postgres_bin()
    if bindir is None:
        pytest.skip("Debian's postgresql is not installed (scripts/setup.sh --dev installs it)")
    root = Path(tempfile.mkdtemp(prefix="sattn-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:
        prefix = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    def run(*cmd):
        subprocess.run([*prefix, *map(str, cmd)], check=True, capture_output=True, cwd=root)

    data = root / "data"
    run(bindir / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8")
    run(
        bindir / "pg_ctl",
        "-D",
        data,
        "-l",
        root / "log",
        "-w",
        "start",
        "-o",
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1",
    )
    try:
        run(bindir / "createdb", "-h", "127.0.0.1", "-p", port, "-U", "postgres", "search")
        yield f"postgresql://postgres@127.0.0.1:{port}/search"
    finally:
        run(bindir / "pg_ctl", "-D", data, "-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)


def test_two_worker_processes_share_one_study_on_postgresql(
    capsys, tmp_path, training_csv, postgres_url
):
    ws = tmp_path / "ws"
    space = _space_file(tmp_path)
    code, out, err = cli_json(
        capsys,
        *_search_command(training_csv, ws, space, "shared", 3, "--workers", 2)[3:],
        "--storage",
        postgres_url,
    )
    assert code == 0, err
    assert out["counts"]["COMPLETE"] >= 3
    assert out["storage"].startswith("postgresql://postgres@127.0.0.1")
    study, settings = load_study("shared", open_storage("shared", postgres_url))
    assert settings.targets == ["label"] and len(_owner_pids(study)) == 2
    assert not (ws / "studies").exists()  # nothing went to the embedded journal
    # A third worker joins by name alone and finds nothing left to do.
    code, joined, err = cli_json(
        capsys,
        "search-worker",
        "--study",
        "shared",
        "--storage",
        postgres_url,
        "--workspace",
        ws,
        "--json",
    )
    assert code == 0, err
    assert joined["counts"] == out["counts"]


def test_weight_decay_is_part_of_the_spec_and_reaches_the_optimizer(prepared):
    from sattn_dash.modeling import ModelSpec
    from sattn_dash.modeling.build import make_optimizer

    trial = optuna.create_study().ask()
    spec, _ = sample({**check_space(TINY), "weight_decay": 0.01}, trial, prepared)
    assert (spec.optimizer, spec.weight_decay) == ("adamw", 0.01)
    again = ModelSpec.from_dict(spec.to_dict())
    assert again == spec
    old = spec.to_dict()
    del old["weight_decay"]  # a spec saved before the field existed still loads
    assert ModelSpec.from_dict(old).weight_decay is None  # the optimizer's own default
    assert make_optimizer(replace(spec, weight_decay=0.0)).weight_decay == 0.0  # not 0.004
    assert make_optimizer(replace(spec, optimizer="adam")).weight_decay == 0.01
    with pytest.raises(SpecError, match="weight_decay: expected a number >= 0"):
        ModelSpec.from_dict({**old, "weight_decay": -1})


def _mixed_json_table(tmp_path, training_table):
    """A real file whose ``code`` column holds numbers, words and gaps in one column (as
    JSON and Excel give): Parquet cannot hold it as read."""
    rows = training_table.head(200).to_dict(orient="records")
    for i, row in enumerate(rows):
        row["code"] = None if i % 7 == 0 else (i % 5 if i % 3 else "n/a")
        row["code"] = 2.0 if i % 11 == 0 else row["code"]  # a whole float reads as "2"
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps(rows))
    return read_table(path, name=path.name)


def test_the_app_saves_a_mixed_type_table_as_parquet_and_a_trial_trains_on_it(
    capsys, tmp_path, training_table
):
    from sattn_dash.search import background
    from sattn_dash.search.worker import load_data, read_study_table
    from sattn_dash.tabular.coerce import as_text

    mixed = _mixed_json_table(tmp_path, training_table)
    assert {type(v) for v in mixed["code"].dropna()} == {int, float, str}
    schema = infer_schema(mixed, targets=["label"])
    ws = tmp_path / "ws"
    inputs = background.save_inputs("mixed", mixed, schema, TINY, ws)
    assert inputs["data"].name == "mixed.table.parquet"
    assert not [p for p in (ws / "studies").iterdir() if p.suffix in (".pkl", ".pickle")]
    back = read_study_table(inputs["data"])
    assert back.drop(columns="code").equals(mixed.drop(columns="code"))
    assert back["code"].isna().equals(mixed["code"].isna())  # missing stays missing
    assert back["code"].dropna().tolist() == as_text(mixed["code"]).dropna().tolist()
    # what the encoders make of the column is unchanged by the round trip
    before, after = prepare(mixed, schema, seed=0), prepare(back, schema, seed=0)
    assert after.feature_names == before.feature_names
    assert after.X_train.equals(before.X_train) and after.X_test.equals(before.X_test)
    # the study as the Search page launches it: the saved files, one trial
    argv = ["search", "--data", inputs["data"], "--target", "label", "--study", "mixed"]
    argv += ["--schema", inputs["schema"], "--space", inputs["space"], "--trials", 1]
    code, out, err = cli_json(capsys, *argv, "--workspace", ws, "--json")
    assert code == 0, err
    assert out["counts"]["COMPLETE"] == 1
    _, settings = load_study("mixed", open_storage("mixed", None, ws))
    data = load_data(settings)  # a resumed worker finds the same table (same hash)
    assert data.prepared.data_hash == settings.data_hash
    assert not list(ws.rglob("*.pkl"))


def test_an_old_studys_pickled_table_is_refused_unopened(capsys, tmp_path, training_table):
    from sattn_dash.search.study import SearchError
    from sattn_dash.search.worker import read_study_table

    marker = tmp_path / "ran"
    legacy = tmp_path / "ws" / "studies" / "old.table.pkl"
    legacy.parent.mkdir(parents=True)
    legacy.write_bytes(pickle.dumps(_Planted(str(marker))))
    with pytest.raises(SearchError, match="start the study again from its table"):
        read_study_table(legacy)
    argv = ["search", "--data", legacy, "--target", "label", "--workspace", tmp_path / "ws"]
    code, out, _ = cli_json(capsys, *argv, "--json")
    assert code == 2 and "start the study again from its table" in out["error"]
    assert "\n" not in out["error"] and not marker.exists()


class _Planted:
    """Unpickling it would write a file: the proof that nothing was unpickled."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (Path(self.path).write_text, ("unpickled",))
