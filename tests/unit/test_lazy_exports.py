"""Lazy package exports: a function named like its module stays the function."""

import subprocess
import sys


def test_a_function_named_like_its_module_survives_the_module_import():
    # In a fresh interpreter: this process may have imported the module already.
    code = (
        "from sattn_dash.tabular import data_hash\n"  # imports sattn_dash.tabular.prepare
        "from sattn_dash.tabular import prepare\n"
        "print(callable(prepare) and prepare.__module__)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "sattn_dash.tabular.prepare"
