"""The Streamlit dashboard shipped inside the package: ``main.py`` (the entry script) and
one thin file per page in ``app_pages/``. ``sattn-dash app`` and the checkout's root
``app.py`` both run :func:`sattn_dash.dashboard.main.main`."""

from pathlib import Path

MAIN_SCRIPT = Path(__file__).resolve().parent / "main.py"
