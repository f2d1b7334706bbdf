"""`pip install .` into a fresh virtual environment, then the installed `sattn-dash`
trains on a bundled sample and serves the dashboard, both from a folder far from the
checkout.

Offline and quick by design: the new environment sees the already-installed pinned
packages through a ``.pth`` file pointing at this interpreter's site-packages, and pip
runs with ``--no-index`` (and ``--isolated``, so no configured wheel folder or index
either). pip therefore installs only the project and its entry point, and any pinned
requirement it could not find satisfied would fail the install outright. The package
is installed from a copy of the checkout's files, so the build leaves nothing in the
repository and an import can only find the installed copy.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.server import free_port, wait_healthy

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 300


def _requirements() -> list[str]:
    lines = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def _copy_checkout(target: Path) -> None:
    """The files git would ship (tracked and new, not ignored) as they are on disk."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_"))}
    env.update(TF_CPP_MIN_LOG_LEVEL="2", **extra)
    return env


def _install(base: Path, *how: str) -> tuple[Path, str, Path]:
    """(bin folder, pip's output, site-packages) of a fresh environment in ``base`` with
    the package installed from a copy of the checkout (``how``: extra pip arguments
    before the source, e.g. ``-e``)."""
    source, venv = base / "source", base / "venv"
    _copy_checkout(source)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = Path(
        subprocess.run(
            [
                str(venv / "bin" / "python"),
                "-c",
                "import sysconfig; print(sysconfig.get_paths()['purelib'])",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    (site / "_pinned_packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    pip = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "--isolated",
            "install",
            "--no-index",
            "--no-build-isolation",
            *how,
            str(source),
        ],
        cwd=base,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert pip.returncode == 0, pip.stdout[-3000:] + pip.stderr[-3000:]
    return venv / "bin", pip.stdout, site


def _run(command: list, cwd: Path) -> subprocess.CompletedProcess:
    """An installed command, in ``cwd``, with no PYTHONPATH leading back to the checkout."""
    return subprocess.run(
        [str(c) for c in command],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    return _install(tmp_path_factory.mktemp("install"))


def test_an_editable_install_runs_from_its_source(tmp_path):
    bin_dir, _, _ = _install(tmp_path, "-e")
    found = _run(
        [
            bin_dir / "python",
            "-c",
            "import os, sattn_dash, sattn_dash.ui.shared.pages as p; from sattn_dash.tabular import"
            " load_sample; print(sattn_dash.__file__, all(os.path.isfile(x[0]) for x in"
            " p.ALL), len(load_sample('penguins')))",
        ],
        tmp_path,
    ).stdout.split()
    assert Path(found[0]).is_relative_to(tmp_path / "source")  # the source, not a copy
    assert found[1:] == ["True", "344"]
    usage = _run([bin_dir / "sattn-dash", "--help"], tmp_path)
    assert usage.returncode == 0 and usage.stdout.startswith("usage: sattn-dash")


def test_pip_installs_the_package_with_every_pinned_requirement_satisfied(installed):
    bin_dir, pip_output, site = installed
    assert (bin_dir / "sattn-dash").is_file()
    assert "Successfully installed sattn-dash" in pip_output
    for requirement in _requirements():
        name = requirement.split("==")[0]
        assert f"Requirement already satisfied: {requirement}" in pip_output, name
    # The wheel's dependencies are requirements.txt, pin for pin.
    metadata = next(site.glob("sattn_dash-*.dist-info")) / "METADATA"
    requires = [
        line.split(":", 1)[1].strip()
        for line in metadata.read_text().splitlines()
        if line.startswith("Requires-Dist:") and "extra ==" not in line  # [serve] is optional
    ]
    assert requires == _requirements()
    # The dashboard, its settings and the samples are in the installed package.
    package = site / "sattn_dash"
    for page in (ROOT / "sattn_dash" / "dashboard" / "app_pages").glob("*.py"):
        assert (package / "dashboard" / "app_pages" / page.name).is_file(), page.name
    assert (package / "dashboard" / ".streamlit" / "config.toml").is_file()
    from sattn_dash.tabular.samples import SAMPLES

    for sample in SAMPLES.values():
        assert (package / "data" / sample.path.name).is_file(), sample.name


def test_installed_command_trains_on_a_bundled_sample_from_any_folder(installed, tmp_path):
    bin_dir, _, site = installed
    where = _run(
        [bin_dir / "python", "-c", "import sattn_dash; print(sattn_dash.__file__)"], tmp_path
    ).stdout.strip()
    assert Path(where).is_relative_to(site), where
    done = _run(
        [bin_dir / "sattn-dash", "train", "--sample", "penguins", "--epochs", "1", "--json"],
        tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert result["status"] == "finished"
    assert result["tasks"] == {"species": "multiclass"}
    assert 0.0 <= result["metrics"]["species"]["accuracy"] <= 1.0
    assert (tmp_path / "workspace" / "runs" / result["run_id"] / "model.keras").is_file()
    listed = _run([bin_dir / "sattn-dash", "runs", "--json"], tmp_path)
    assert [r["run_id"] for r in json.loads(listed.stdout)["runs"]] == [result["run_id"]]


def test_installed_command_serves_the_dashboard(installed, tmp_path):
    bin_dir, _, _ = installed
    port = free_port()
    log = (tmp_path / "app.log").open("w")
    server = subprocess.Popen(
        [
            str(bin_dir / "sattn-dash"),
            "app",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
        ],
        cwd=tmp_path,
        env=_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, server)
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=5) as health:
            assert health.read().decode() == "ok"
        with urllib.request.urlopen(url, timeout=5) as index:
            assert '<div id="root">' in index.read().decode()
    finally:
        server.send_signal(signal.SIGINT)  # as Ctrl-C: Streamlit stops and exits 0
        code = server.wait(timeout=30)
        log.close()
    assert code == 0, (tmp_path / "app.log").read_text()[-3000:]
