"""Keep Streamlit from resetting Keras after every script run while a run trains here.

After each script run (the live panel's once-a-second fragment refresh included),
Streamlit calls ``keras.backend.clear_session()`` whenever Keras is imported
(``streamlit.runtime.scriptrunner.script_runner._clean_problem_modules``). On
TensorFlow that clears the runtime's kernel cache and runs a full garbage collection.
Training runs in a worker thread of this same server process, so a run that a page was
following trained about 9x slower than from the CLI (bench/RESULTS.md, "In-app
training"). The pages keep no Keras state that needs clearing between runs: models
live in the training sessions and analysis caches that own them.

So the clean-up Streamlit does after a script run is replaced by the same clean-up
without Keras: matplotlib figures are still closed. Should a Streamlit upgrade move the
hook, importing this module fails, and a test checks that Streamlit still clears Keras
without it (so the guard can go when it no longer does).
"""

from __future__ import annotations

import sys

from streamlit.runtime.scriptrunner import script_runner

_STREAMLIT_CLEAN_UP = script_runner._clean_problem_modules  # AttributeError if it moved


def _close_matplotlib_figures() -> None:
    """Streamlit's own clean-up, less ``keras.backend.clear_session()``."""
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        plt.close("all")


def keep_keras_between_script_runs() -> None:
    """Install the Keras-free clean-up (idempotent; called by the entry script)."""
    script_runner._clean_problem_modules = _close_matplotlib_figures
