"""The CLI's argument mistakes are one line and exit 2 before anything slow runs;
``app`` hands Streamlit's options through untouched."""

import subprocess
import sys

import pytest

from sattn_dash.cli import main
from sattn_dash.dashboard import MAIN_SCRIPT
from sattn_dash.dashboard.launch import streamlit_argv


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--sample", "nope"], "No sample named 'nope'; choose --sample from: "),
        (["train", "--data", "table.csv"], "--target is required with --data"),
        (["train", "--sample", "penguins", "--data", "x.csv"], "not allowed with argument"),
        (["train", "--sample", "penguins", "--server.port", "1"], "unrecognized arguments"),
        (["baselines", "--target", "y"], "one of the arguments --data --sample is required"),
        (["app", "--json"], "app serves the dashboard and prints no JSON"),
    ],
)
def test_mistakes_are_one_line_and_exit_2(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err


def test_a_bad_sample_is_refused_without_importing_tensorflow():
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from sattn_dash.cli import main; code = main(['train', '--sample', "
            "'nope']); print(code, 'tensorflow' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout.split() == ["2", "False"], done.stderr[-2000:]


def test_app_passes_streamlit_options_through():
    assert streamlit_argv(["--server.port", "8600", "--theme.base=dark"]) == [
        "run",
        str(MAIN_SCRIPT),
        "--server.port",
        "8600",
        "--theme.base=dark",
    ]
    assert MAIN_SCRIPT.is_file() and (MAIN_SCRIPT.parent / "app_pages").is_dir()


def test_a_binary_space_or_spec_file_is_refused_with_one_line(capsys, tmp_path, training_csv):
    """Found by bench/bench_reliability.py: a binary --space was an internal error."""
    from sattn_dash.cli import main

    junk = tmp_path / "junk.json"
    junk.write_bytes(bytes(range(256)) * 4)
    for option, command in (("--space", "search"), ("--spec", "train")):
        code = main([command, "--data", str(training_csv), "--target", "label", option, str(junk)])
        out, err = capsys.readouterr()
        assert code == 2 and "Traceback" not in err
        (line,) = [x for x in err.splitlines() if x.startswith("error:")]
        assert f"(given to {option}) is not UTF-8 text" in line
