"""Where each page lives, so components can link to pages without spelling paths.

The page files sit in ``sattn_dash/dashboard/app_pages/`` (inside the package, so an
installed copy has them) and are named by absolute path: ``st.Page`` and
``st.page_link`` resolve a relative path against the entry script's folder, which is the
checkout's root for ``streamlit run app.py`` and the package for ``sattn-dash app``.

The folder is ``app_pages/``, not ``pages/``: Streamlit still treats a
``pages/`` folder next to the entry script as a legacy multipage app until some session has run
``st.navigation``, so the first request after a server start that deep-links to a page
(``/data``, ``/train?run=...``) would run that page file on its own, without the entry
script's frame and navigation, for every session of that server. Streamlit's guidance is to give
the folder another name.
"""

from pathlib import Path

PAGES_DIR = Path(__file__).resolve().parents[2] / "dashboard" / "app_pages"


def _page(file_name: str) -> str:
    return str(PAGES_DIR / file_name)


HOME = _page("home.py")
DATA = _page("data.py")
ARCHITECTURE = _page("architecture.py")
TRAIN = _page("train.py")
IMPORTANCE = _page("importance.py")
ATTENTION = _page("attention.py")
PREDICTIONS = _page("predictions.py")
RUNS = _page("runs.py")
SEARCH = _page("search.py")

# (path, title, icon, url path) in the order the sidebar shows them.
ALL = (
    (HOME, "Home", ":material/home:", "home"),
    (DATA, "Data", ":material/table_chart:", "data"),
    (ARCHITECTURE, "Architecture", ":material/account_tree:", "architecture"),
    (TRAIN, "Train", ":material/model_training:", "train"),
    (IMPORTANCE, "Module importance", ":material/bar_chart:", "importance"),
    (ATTENTION, "Token attention", ":material/grid_on:", "attention"),
    (PREDICTIONS, "Predictions", ":material/fact_check:", "predictions"),
    (RUNS, "Runs", ":material/history:", "runs"),
    (SEARCH, "Search", ":material/travel_explore:", "search"),
)
